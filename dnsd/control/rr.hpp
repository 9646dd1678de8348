// One resource record held in its wire form, in one allocation: what a zone's records are kept as
// (ZoneRecords). An ldns_rr is some ten allocations (the record, its owner and every field, each an
// rdf with its own buffer): 30,000 records held ~12 MB that way, ~2 MB this way. ldns still parses
// and prints records (`records:`, UPDATE, `dnsd check`): to_ldns() and from_ldns() convert. The
// records of a generated RRset share one copy of their owner (RrOwner): an SRV set of five held its
// 40-odd byte owner five times (docs/ARCHITECTURE.md, "Start-up").
// Control plane: control thread (and `dnsd check`).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "ldns.hpp"
#include "wire.hpp"

namespace dnsd {

// An owner name held once for the records made with it (the records of one RRset), counted: it lives
// as long as the last record or handle that holds it.
class RrOwner {
 public:
  RrOwner() = default;
  // Empty (false) when `owner` is not an uncompressed wire name.
  static RrOwner of(std::string_view owner);
  RrOwner(const RrOwner& other) noexcept : RrOwner(other.block_) {}
  RrOwner(RrOwner&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  RrOwner& operator=(RrOwner other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~RrOwner();
  explicit operator bool() const noexcept { return block_ != nullptr; }
  std::string_view name() const noexcept { return block_ ? block_->name() : std::string_view(); }

 private:
  friend class Rr;
  // One allocation: the count, the name's length, then the name.
  struct Block {
    std::atomic<uint32_t> refs;
    uint8_t size;
    std::string_view name() const noexcept { return {reinterpret_cast<const char*>(this + 1), size}; }
  };
  explicit RrOwner(Block* held) noexcept;  // takes a reference of its own
  static void release(Block* block) noexcept;
  Block* block_ = nullptr;
};

class Rr {
 public:
  Rr() = default;
  Rr(const Rr& other);
  Rr& operator=(const Rr& other);
  Rr(Rr&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}
  Rr& operator=(Rr&& other) noexcept {
    if (this != &other) {
      clear();
      data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
  }
  ~Rr() { clear(); }

  // A record from its parts: the owner in wire form (as written, case kept), uncompressed rdata.
  // Empty (false) when the owner is not a wire name or the rdata is over 64 KiB.
  static Rr make(std::string_view owner, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata);
  // The same with an owner held once for every record made with it. Empty when `owner` is.
  static Rr make(const RrOwner& owner, uint16_t type, uint16_t rr_class, uint32_t ttl, std::span<const uint8_t> rdata);
  // The same record as ldns holds it; empty when it has no owner.
  static Rr from_ldns(const ldns_rr* rr);
  // Read back from wire() (one uncompressed record, nothing after it); empty when it is not one.
  static Rr from_wire(std::string_view wire);
  // Parsed from one line of presentation text (absolute names); empty when ldns cannot read it.
  static Rr from_text(const std::string& text);
  RrPtr to_ldns() const;

  explicit operator bool() const noexcept { return data_ != nullptr; }
  std::string_view owner() const noexcept {
    return data_[0] ? std::string_view(reinterpret_cast<const char*>(data_ + 1), data_[0]) : shared_owner()->name();
  }
  ldns_rr_type type() const noexcept { return ldns_rr_type(get16(fixed())); }
  ldns_rr_class rr_class() const noexcept { return ldns_rr_class(get16(fixed() + 2)); }
  uint32_t ttl() const noexcept { return get32(fixed() + 4); }
  void set_ttl(uint32_t ttl) noexcept;
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
  // [owner length][owner][type][class][TTL][rdata length][rdata], or with a shared owner (RrOwner):
  // [0][its RrOwner::Block*][type]... (an owner is never empty: the root is one byte).
  static constexpr size_t shared_head = 1 + sizeof(void*);
  const RrOwner::Block* shared_owner() const noexcept {
    RrOwner::Block* block;
    std::memcpy(&block, data_ + 1, sizeof block);
    return block;
  }
  const uint8_t* fixed() const noexcept { return data_ + (data_[0] ? 1 + data_[0] : shared_head); }
  size_t size() const noexcept { return size_t(fixed() - data_) + 10 + get16(fixed() + 8); }
  // Where the SOA serial is in the rdata, or SIZE_MAX.
  size_t soa_serial_at() const noexcept;

  void clear() noexcept;  // frees what it holds; empty after

  uint8_t* data_ = nullptr;  // owned (new[]); a shared owner's reference is held in it
};

// The record in presentation form as ldns prints it (a tab between fields, a newline at the end).
std::string rr_text(const Rr& rr);

}  // namespace dnsd
