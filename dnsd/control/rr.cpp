// Records in wire form (see rr.hpp).
#include "rr.hpp"

#include <cstring>
#include <new>

#include "wire.hpp"

namespace dnsd {

namespace {

// The length of the uncompressed wire name at p (up to end), root label included; 0 when it is not one.
size_t name_length(const uint8_t* p, const uint8_t* end) noexcept {
  size_t n = 0;
  while (p + n < end) {
    const uint8_t len = p[n];
    if (len == 0) return n + 1 <= 255 ? n + 1 : 0;
    if (len > 63) return 0;
    n += size_t(len) + 1;
  }
  return 0;
}

}  // namespace

RrOwner::RrOwner(Block* held) noexcept : block_(held) {
  if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
}

RrOwner::~RrOwner() { release(block_); }

void RrOwner::release(Block* block) noexcept {
  if (block && block->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    block->~Block();
    ::operator delete(block);
  }
}

RrOwner RrOwner::of(std::string_view owner) {
  const auto* o = reinterpret_cast<const uint8_t*>(owner.data());
  if (owner.empty() || name_length(o, o + owner.size()) != owner.size()) return {};
  void* raw = ::operator new(sizeof(Block) + owner.size());
  auto* block = new (raw) Block{{0}, uint8_t(owner.size())};
  std::memcpy(static_cast<uint8_t*>(raw) + sizeof(Block), owner.data(), owner.size());
  return RrOwner(block);
}

Rr::Rr(const Rr& other) {
  if (!other.data_) return;
  const size_t n = other.size();
  data_ = new uint8_t[n];
  std::memcpy(data_, other.data_, n);
  if (data_[0] == 0) const_cast<RrOwner::Block*>(shared_owner())->refs.fetch_add(1, std::memory_order_relaxed);
}

Rr& Rr::operator=(const Rr& other) {
  if (this != &other) *this = Rr(other);
  return *this;
}

void Rr::clear() noexcept {
  if (!data_) return;
  if (data_[0] == 0) RrOwner::release(const_cast<RrOwner::Block*>(shared_owner()));
  delete[] data_;
  data_ = nullptr;
}

namespace {

// Writes the fixed fields and the rdata at p.
void put_fixed(uint8_t* p, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata) noexcept {
  put16(p, type);
  put16(p + 2, rr_class);
  put32(p + 4, ttl);
  put16(p + 8, uint16_t(rdata.size()));
  if (!rdata.empty()) std::memcpy(p + 10, rdata.data(), rdata.size());
}

}  // namespace

Rr Rr::make(std::string_view owner, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata) {
  const auto* o = reinterpret_cast<const uint8_t*>(owner.data());
  if (owner.empty() || name_length(o, o + owner.size()) != owner.size() || rdata.size() > 0xFFFF) return {};
  Rr rr;
  rr.data_ = new uint8_t[1 + owner.size() + 10 + rdata.size()];
  rr.data_[0] = uint8_t(owner.size());
  std::memcpy(rr.data_ + 1, owner.data(), owner.size());
  put_fixed(rr.data_ + 1 + owner.size(), type, rr_class, ttl, rdata);
  return rr;
}

Rr Rr::make(const RrOwner& owner, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata) {
  if (!owner || rdata.size() > 0xFFFF) return {};
  Rr rr;
  rr.data_ = new uint8_t[shared_head + 10 + rdata.size()];
  rr.data_[0] = 0;
  RrOwner held(owner);  // the record's reference, handed to its bytes
  std::memcpy(rr.data_ + 1, &held.block_, sizeof held.block_);
  held.block_ = nullptr;
  put_fixed(rr.data_ + shared_head, type, rr_class, ttl, rdata);
  return rr;
}

Rr Rr::from_ldns(const ldns_rr* rr) {
  const ldns_rdf* owner = rr ? ldns_rr_owner(rr) : nullptr;
  if (!owner) return {};
  // ldns keeps every field in wire form: the rdata is the fields in a row.
  std::string rdata;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* f = ldns_rr_rdf(rr, i);
    rdata.append(reinterpret_cast<const char*>(ldns_rdf_data(f)), ldns_rdf_size(f));
  }
  return make({reinterpret_cast<const char*>(ldns_rdf_data(owner)), ldns_rdf_size(owner)}, uint16_t(ldns_rr_get_type(rr)),
              uint16_t(ldns_rr_get_class(rr)), ldns_rr_ttl(rr),
              {reinterpret_cast<const uint8_t*>(rdata.data()), rdata.size()});
}

Rr Rr::from_wire(std::string_view wire) {
  const auto* p = reinterpret_cast<const uint8_t*>(wire.data());
  const size_t owner = name_length(p, p + wire.size());
  if (owner == 0 || owner + 10 > wire.size()) return {};
  const uint8_t* f = p + owner;
  const size_t rdlength = get16(f + 8);
  if (owner + 10 + rdlength != wire.size()) return {};
  return make(wire.substr(0, owner), get16(f), get16(f + 2), get32(f + 4), {f + 10, rdlength});
}

Rr Rr::from_text(const std::string& text) {
  ldns_rr* parsed = nullptr;
  if (ldns_rr_new_frm_str(&parsed, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) return {};
  const RrPtr owned(parsed);
  return from_ldns(parsed);
}

RrPtr Rr::to_ldns() const {
  if (!data_) return nullptr;
  const std::string w = wire(ttl());
  ldns_rr* rr = nullptr;
  size_t pos = 0;
  if (ldns_wire2rr(&rr, reinterpret_cast<const uint8_t*>(w.data()), w.size(), &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
    return nullptr;
  return RrPtr(rr);
}

void Rr::set_ttl(uint32_t ttl) noexcept { put32(const_cast<uint8_t*>(fixed()) + 4, ttl); }

std::string Rr::wire(uint32_t ttl) const {
  const std::string_view name = owner();
  const size_t rest = size() - size_t(fixed() - data_);
  std::string out;
  out.reserve(name.size() + rest);
  out.append(name);
  out.append(reinterpret_cast<const char*>(fixed()), rest);
  put32(reinterpret_cast<uint8_t*>(out.data()) + name.size() + 4, ttl);
  return out;
}

std::string_view Rr::rdata_name(size_t offset) const noexcept {
  const std::span<const uint8_t> r = rdata();
  if (offset >= r.size()) return {};
  const size_t n = name_length(r.data() + offset, r.data() + r.size());
  return {reinterpret_cast<const char*>(r.data() + offset), n};
}

std::string_view Rr::additional_target() const noexcept {
  switch (type()) {
    case LDNS_RR_TYPE_SRV: return rdata_name(6);
    case LDNS_RR_TYPE_NS: return rdata_name(0);
    case LDNS_RR_TYPE_MX: return rdata_name(2);
    default: return {};
  }
}

size_t Rr::soa_serial_at() const noexcept {
  if (type() != LDNS_RR_TYPE_SOA) return SIZE_MAX;
  const size_t mname = rdata_name(0).size();
  const size_t rname = mname ? rdata_name(mname).size() : 0;
  if (!rname || mname + rname + 20 > rdata().size()) return SIZE_MAX;
  return mname + rname;
}

uint32_t Rr::soa_serial() const noexcept {
  const size_t at = soa_serial_at();
  if (at == SIZE_MAX) return 0;
  return get32(rdata().data() + at);
}

Rr Rr::with_soa_serial(uint32_t serial) const {
  Rr out(*this);
  if (const size_t at = soa_serial_at(); at != SIZE_MAX) put32(const_cast<uint8_t*>(out.rdata().data()) + at, serial);
  return out;
}

std::string rr_text(const Rr& rr) {
  const RrPtr l = rr.to_ldns();
  return l ? take_ldns_string(ldns_rr2str(l.get())) : std::string();
}

}  // namespace dnsd
