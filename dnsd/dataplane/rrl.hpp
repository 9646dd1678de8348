// Response rate limiting (RRL), the Knot/NSD design: UDP responses are counted per source prefix
// (/24, /56 by default) and response class (an answer: per name and type; NXDOMAIN and NODATA: per
// zone, so random-subdomain floods share one bucket; errors: per source alone) in token buckets
// refilled every second. Over the rate a response is dropped, except every `slip`-th, which goes out
// truncated (TC=1, no records) so that a real client behind a spoofed flood retries over TCP.
// Data plane: one table per worker, touched only by its thread; no allocation after construction. The
// table is anonymous memory the kernel zero-fills on first touch: it holds memory for the buckets
// used, none while RRL is off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "hash.hpp"

namespace dnsd {

struct RrlOptions {
  uint32_t rate = 0;  // responses per second per bucket for the whole server; 0 = off
  uint32_t slip = 2;  // every slip-th limited response is truncated; 0 = drop all, 1 = truncate all
  uint8_t ipv4_prefix = 24;
  uint8_t ipv6_prefix = 56;
};

// What a response is, as far as RRL is concerned (filled in by query_process).
struct ResponseClass {
  enum Kind : uint8_t { none = 0, answer, negative, error } kind = none;
  uint64_t name_hash = 0;  // answer: name and type; negative: the zone; error: 0
};

class Rrl {
 public:
  enum class Verdict { send, slip, drop };

  // table_size: buckets (a power of two); share: how many workers split the rate.
  explicit Rrl(size_t table_size = 65536, unsigned share = 1);

  // One UDP response to the client at ip (4 or 16 address bytes) at second `now`.
  Verdict account(const RrlOptions& options, const uint8_t* ip, size_t ip_len, const ResponseClass& response,
                  uint32_t now) noexcept;

 private:
  struct Bucket {
    uint64_t key = 0;
    uint32_t second = 0;
    int32_t tokens = 0;
    uint32_t limited = 0;  // responses limited since the bucket filled up, for slip
  };
  struct Unmap {
    size_t bytes = 0;
    void operator()(Bucket* p) const noexcept;
  };
  std::unique_ptr<Bucket, Unmap> table_;
  size_t size_;
  unsigned share_;
  uint64_t salt_;  // random per process: bucket positions cannot be aimed at from outside
};

// Turns a built reply into its slip form: header and question only, TC=1. Returns the new length.
size_t truncate_reply(uint8_t* reply, size_t len) noexcept;

}  // namespace dnsd
