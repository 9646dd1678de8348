// Writing DNS messages record by record, with name compression: the precompiled answers (compile.cpp)
// and zone transfers (transfer.cpp) are written with it. Owner names and the rdata names of the RFC
// 1035 types are compressed; SRV targets never are (RFC 2782, RFC 3597 §4; go1.19 rejects the message).
// Control plane: control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ldns.hpp"
#include "rr.hpp"
#include "wire.hpp"

namespace dnsd {

// RFC 3597 §4: only the RFC 1035 types may have names in their RDATA compressed.
bool compressible_rdata(ldns_rr_type t);

// A reply to `request` (parsed as `q`) with its question when it has one, no records, `rcode`, and
// our OPT RR when `opt`: refusals and errors from the control thread, and UPDATE replies.
// A random message ID for a request we send (NOTIFY, SOA queries, transfers): RFC 5452 §9.2.
uint16_t random_message_id();

std::vector<uint8_t> empty_reply(const std::vector<uint8_t>& request, const QueryView& q, uint8_t rcode, bool opt);

class Packer {
 public:
  // A message whose question is `qname` (wire form), with qtype and qclass; the header is zero.
  explicit Packer(std::string_view qname, uint16_t qtype = 0, uint16_t qclass = 0);
  // A message without a question (the later messages of a zone transfer).
  Packer();
  // A message with a question again, keeping the buffers (a loop that renders many answers).
  void reset(std::string_view qname, uint16_t qtype = 0, uint16_t qclass = 0);

  // Appends one RR with the given TTL. Throws std::runtime_error when its data is over 64 KiB (or a
  // name in it is not a whole wire name).
  void rr(const Rr& rr, uint32_t ttl);
  // RFC 8482 §4.2: the synthesized answer to ANY, owned by the question's name.
  void hinfo(uint32_t ttl);

  size_t size() const noexcept { return buf_.size(); }
  size_t body_start() const noexcept { return body_start_; }
  // Takes back everything written after `size` (an RR that did not fit), compression targets too.
  void truncate(size_t size);
  std::vector<uint8_t>& bytes() noexcept { return buf_; }
  const std::vector<uint8_t>& bytes() const noexcept { return buf_; }

 private:
  void u16(uint16_t v);
  void u32(uint32_t v);
  void raw(const uint8_t* p, size_t n) { buf_.insert(buf_.end(), p, p + n); }
  // Writes a name, pointing at the longest suffix already in the message when `compress`; every
  // suffix written in full becomes a pointer target for later names.
  void name(const uint8_t* wire, size_t len, bool compress);
  // Where each label of the wire name within `len` starts (`end`: its root label); the label count.
  // Throws std::runtime_error when it is not a whole wire name.
  static constexpr size_t max_labels = 128;
  static size_t label_starts(const uint8_t* wire, size_t len, size_t (&starts)[max_labels], size_t& end);
  // The name in lower case, and the hash of each suffix, built from the root up so that equal
  // suffixes hash alike.
  static void suffix_hashes(const uint8_t* wire, const size_t* starts, size_t count, size_t end, uint8_t* lower,
                            uint64_t* hashes) noexcept;
  // Makes the question's suffixes targets (reset defers it to the first name written in full).
  void add_question_targets();

  // Compression targets: where each name suffix written in full starts, in an open-addressing table
  // keyed by a hash of the suffix in lower case; a hit is checked against the message itself. No
  // allocation per name (a map of suffix strings cost a third of compiling a zone).
  struct Target {
    uint64_t hash = 0;
    uint16_t offset = 0;  // 0: an empty slot (the header is there, never a name)
  };
  // The offset of the first target under `hash` that `is(offset)` accepts, or 0: a suffix equal to
  // a name (`is` compares it, name_at), or any suffix with that hash.
  template <class Is>
  uint16_t find_target(uint64_t hash, Is&& is) const noexcept {
    if (targets_.empty()) return 0;
    const size_t mask = targets_.size() - 1;
    for (size_t at = size_t(hash) & mask;; at = (at + 1) & mask) {
      const Target& t = targets_[at];
      if (t.offset == 0) return 0;
      if (t.hash == hash && is(t.offset)) return t.offset;
    }
  }
  void add_target(uint64_t hash, uint16_t offset);
  // Whether the name written at `offset` (pointers followed) is `lower`, case aside.
  bool name_at(size_t offset, const uint8_t* lower) const noexcept;

  std::vector<uint8_t> buf_;
  size_t body_start_ = 0;
  size_t qname_len_ = 0;  // the question's name, at header_size; 0 without a question
  bool question_targets_ = true;  // its suffixes are in targets_ (or there is none)
  std::vector<Target> targets_;  // a power of two in size, at most half full; empty until a name is written
  size_t target_count_ = 0;
};

}  // namespace dnsd
