// One resource record held in its wire form: what a zone's records are kept as (ZoneRecords). An
// ldns_rr is some ten allocations (the record, its owner and every field, each an rdf with its own
// buffer): 30,000 records held ~12 MB that way, ~2 MB as one allocation each, ~1.6 MB in batches.
// ldns still parses and prints records (`records:`, UPDATE, `dnsd check`): to_ldns() and from_ldns()
// convert.
//
// Records live in counted blocks: a record made alone has a block of its own; the records made
// together through an RrBatch (a cluster's, a transferred zone's) share one, and a record whose owner
// is the one before it in the block holds that owner once (an SRV set of five held its 40-odd byte
// owner five times). A record is immutable: a copy shares its bytes (one more count on the block);
// the block goes with the last record in it (docs/ARCHITECTURE.md, "Start-up").
// Control plane: control thread (and `dnsd check`).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ldns.hpp"
#include "wire.hpp"

namespace dnsd {

class Rr {
 public:
  Rr() = default;
  Rr(const Rr& other) noexcept : data_(other.data_) { hold(); }
  Rr& operator=(const Rr& other) noexcept {
    Rr copy(other);
    std::swap(data_, copy.data_);
    return *this;
  }
  Rr(Rr&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}
  Rr& operator=(Rr&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
  }
  ~Rr() { release(); }

  // A record from its parts: the owner in wire form (as written, case kept), uncompressed rdata.
  // Empty (false) when the owner is not a wire name or the rdata is over 64 KiB.
  static Rr make(std::string_view owner, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata);
  // The same record as ldns holds it; empty when it has no owner.
  static Rr from_ldns(const ldns_rr* rr);
  // Read back from wire() (one uncompressed record, nothing after it); empty when it is not one.
  static Rr from_wire(std::string_view wire);
  // Parsed from one line of presentation text (absolute names); empty when ldns cannot read it.
  static Rr from_text(const std::string& text);
  RrPtr to_ldns() const;

  explicit operator bool() const noexcept { return data_ != nullptr; }
  std::string_view owner() const noexcept {
    const uint8_t* name = data_[2] ? data_ + 2 : block() + get16(data_ + 3);  // [length][name]
    return {reinterpret_cast<const char*>(name + 1), name[0]};
  }
  ldns_rr_type type() const noexcept { return ldns_rr_type(get16(fixed())); }
  ldns_rr_class rr_class() const noexcept { return ldns_rr_class(get16(fixed() + 2)); }
  uint32_t ttl() const noexcept { return get32(fixed() + 4); }
  // The record becomes one of its own with another TTL (its copies keep theirs).
  void set_ttl(uint32_t ttl);
  std::span<const uint8_t> rdata() const noexcept { return {fixed() + 10, get16(fixed() + 8)}; }

  // The record in uncompressed wire form with the given TTL (what ldns_rr2wire writes).
  std::string wire(uint32_t ttl) const;
  // The domain name in the rdata at `offset` (wire form, uncompressed), or "" when there is none.
  std::string_view rdata_name(size_t offset) const noexcept;
  // The name other answers' additional sections look up (SRV and MX targets, NS hosts), or "".
  std::string_view additional_target() const noexcept;
  // An SOA's serial (0 for another type or short rdata), and the same SOA with another serial.
  uint32_t soa_serial() const noexcept;
  Rr with_soa_serial(uint32_t serial) const;

 private:
  friend class RrBatch;
  // A block: [count, 4 bytes][record]... Each record: [its offset in the block, 2 bytes], then
  // [owner length][owner], or [0][the offset of an earlier [length][owner] in the block, 2 bytes]
  // (an owner is never empty: the root is one byte); then [type][class][TTL][rdata length][rdata].
  static constexpr size_t block_head = 4;
  explicit Rr(uint8_t* data) noexcept : data_(data) {}  // takes a count already made for it
  const uint8_t* block() const noexcept { return data_ - get16(data_); }
  const uint8_t* fixed() const noexcept { return data_ + (data_[2] ? 3 + data_[2] : 5); }
  // Where the SOA serial is in the rdata, or SIZE_MAX.
  size_t soa_serial_at() const noexcept;
  void hold() noexcept;
  void release() noexcept;  // empty after

  uint8_t* data_ = nullptr;  // the record in its block
};

// Records made together, in as few blocks as hold them (up to 64 KiB each): add() them in order,
// then take() them, in the same order. A record whose owner is byte for byte the last one added to
// the block holds it once.
class RrBatch {
 public:
  // False (nothing added) when the owner is not a wire name or the rdata is over 64 KiB.
  bool add(std::string_view owner, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata);
  // The same record as ldns holds it (false when it has no owner, or as above).
  bool add(const ldns_rr* rr);
  // The records added since the last take().
  std::vector<Rr> take();

 private:
  void seal();  // the records of the block being filled become Rrs
  std::string image_;            // the block being filled, its count left out
  std::vector<uint16_t> starts_;  // its records' offsets in the block
  size_t last_owner_ = 0;        // the offset of the last owner's [length][owner] in it (0: none yet)
  std::vector<Rr> made_;
  std::string rdata_;  // add(ldns_rr)'s
};

// The record in presentation form as ldns prints it (a tab between fields, a newline at the end).
std::string rr_text(const Rr& rr);

}  // namespace dnsd
