// Records in wire form (see rr.hpp).
#include "rr.hpp"

#include <atomic>
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

namespace {

std::atomic<uint32_t>& count_of(uint8_t* block) noexcept { return *std::launder(reinterpret_cast<std::atomic<uint32_t>*>(block)); }

// Writes the fixed fields and the rdata at p.
void put_fixed(uint8_t* p, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata) noexcept {
  put16(p, type);
  put16(p + 2, rr_class);
  put32(p + 4, ttl);
  put16(p + 8, uint16_t(rdata.size()));
  if (!rdata.empty()) std::memcpy(p + 10, rdata.data(), rdata.size());
}

bool is_wire_name(std::string_view owner) noexcept {
  const auto* o = reinterpret_cast<const uint8_t*>(owner.data());
  return !owner.empty() && name_length(o, o + owner.size()) == owner.size();
}

// A block of `size` bytes counted `records` times (alignment: new[] gives at least 16 bytes).
uint8_t* new_block(size_t size, uint32_t records) {
  auto* block = new uint8_t[size];
  new (block) std::atomic<uint32_t>(records);
  return block;
}

}  // namespace

void Rr::hold() noexcept {
  if (data_) count_of(const_cast<uint8_t*>(block())).fetch_add(1, std::memory_order_relaxed);
}

void Rr::release() noexcept {
  if (!data_) return;
  auto* b = const_cast<uint8_t*>(block());
  if (count_of(b).fetch_sub(1, std::memory_order_acq_rel) == 1) delete[] b;
  data_ = nullptr;
}

Rr Rr::make(std::string_view owner, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata) {
  if (!is_wire_name(owner) || rdata.size() > 0xFFFF) return {};
  uint8_t* record = new_block(block_head + 3 + owner.size() + 10 + rdata.size(), 1) + block_head;
  put16(record, uint16_t(block_head));
  record[2] = uint8_t(owner.size());
  std::memcpy(record + 3, owner.data(), owner.size());
  put_fixed(record + 3 + owner.size(), type, rr_class, ttl, rdata);
  return Rr(record);
}

bool RrBatch::add(std::string_view owner, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata) {
  if (!is_wire_name(owner) || rdata.size() > 0xFFFF) return false;
  const size_t at = last_owner_ - Rr::block_head;
  bool shared = last_owner_ && uint8_t(image_[at]) == owner.size() && image_.compare(at + 1, owner.size(), owner) == 0;
  const auto size = [&] { return 2 + (shared ? 3 : 1 + owner.size()) + 10 + rdata.size(); };
  // A record starts, and names an earlier owner, at an offset of 16 bits: a full block is sealed (and
  // its owners go with it).
  if (!image_.empty() && Rr::block_head + image_.size() + size() > 0xFFFF) {
    seal();
    shared = false;
  }
  const size_t start = Rr::block_head + image_.size();
  image_.resize(image_.size() + size());
  auto* p = reinterpret_cast<uint8_t*>(image_.data()) + (start - Rr::block_head);
  put16(p, uint16_t(start));
  if (shared) {
    p[2] = 0;
    put16(p + 3, uint16_t(last_owner_));
    p += 5;
  } else {
    last_owner_ = start + 2;
    p[2] = uint8_t(owner.size());
    std::memcpy(p + 3, owner.data(), owner.size());
    p += 3 + owner.size();
  }
  put_fixed(p, type, rr_class, ttl, rdata);
  starts_.push_back(uint16_t(start));
  return true;
}

void RrBatch::seal() {
  if (starts_.empty()) return;
  uint8_t* block = new_block(Rr::block_head + image_.size(), uint32_t(starts_.size()));
  std::memcpy(block + Rr::block_head, image_.data(), image_.size());
  for (uint16_t start : starts_) made_.push_back(Rr(block + start));
  image_.clear();
  starts_.clear();
  last_owner_ = 0;
}

std::vector<Rr> RrBatch::take() {
  seal();
  std::vector<Rr> out;
  out.swap(made_);
  return out;
}

namespace {

// An ldns record's owner in wire form ("" when it has none), its rdata put in `rdata`: ldns keeps
// every field in wire form, and the rdata is the fields in a row.
std::string_view ldns_parts(const ldns_rr* rr, std::string& rdata) {
  const ldns_rdf* owner = rr ? ldns_rr_owner(rr) : nullptr;
  if (!owner) return {};
  rdata.clear();
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* f = ldns_rr_rdf(rr, i);
    rdata.append(reinterpret_cast<const char*>(ldns_rdf_data(f)), ldns_rdf_size(f));
  }
  return {reinterpret_cast<const char*>(ldns_rdf_data(owner)), ldns_rdf_size(owner)};
}

std::span<const uint8_t> bytes(const std::string& s) noexcept { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

Rr Rr::from_ldns(const ldns_rr* rr) {
  std::string rdata;
  const std::string_view owner = ldns_parts(rr, rdata);
  if (owner.empty()) return {};
  return make(owner, uint16_t(ldns_rr_get_type(rr)), uint16_t(ldns_rr_get_class(rr)), ldns_rr_ttl(rr), bytes(rdata));
}

bool RrBatch::add(const ldns_rr* rr) {
  const std::string_view owner = ldns_parts(rr, rdata_);
  return !owner.empty() &&
         add(owner, uint16_t(ldns_rr_get_type(rr)), uint16_t(ldns_rr_get_class(rr)), ldns_rr_ttl(rr), bytes(rdata_));
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

void Rr::set_ttl(uint32_t ttl) { *this = make(owner(), type(), rr_class(), ttl, rdata()); }

std::string Rr::wire(uint32_t ttl) const {
  const std::string_view name = owner();
  const size_t rest = 10 + rdata().size();
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
  const size_t at = soa_serial_at();
  if (at == SIZE_MAX) return *this;
  std::vector<uint8_t> r(rdata().begin(), rdata().end());
  put32(r.data() + at, serial);
  return make(owner(), type(), rr_class(), ttl(), r);
}

std::string rr_text(const Rr& rr) {
  const RrPtr l = rr.to_ldns();
  return l ? take_ldns_string(ldns_rr2str(l.get())) : std::string();
}

}  // namespace dnsd
