// Response rate limiting (see rrl.hpp).
#include "rrl.hpp"

#include <algorithm>
#include <sys/mman.h>

#include <cstring>
#include <new>
#include <random>
#include <type_traits>

#include "dname.hpp"
#include "endpoint.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

// Zero-filled anonymous pages, faulted in as they are first touched.
void* map_zeroed(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

}  // namespace

void Rrl::Unmap::operator()(Bucket* p) const noexcept { ::munmap(p, bytes); }

Rrl::Rrl(size_t table_size, unsigned share)
    : table_(static_cast<Bucket*>(map_zeroed(std::max<size_t>(table_size, 1) * sizeof(Bucket))),
             Unmap{std::max<size_t>(table_size, 1) * sizeof(Bucket)}),
      size_(std::max<size_t>(table_size, 1)),
      share_(std::max(share, 1u)),
      salt_(std::random_device{}() * 0x9E3779B97F4A7C15ULL) {
  // All-zero bytes are an empty bucket (key 0 is never a key: keys have their low bit set).
  static_assert(std::is_trivially_copyable_v<Bucket>);
}

Rrl::Verdict Rrl::account(const RrlOptions& o, const uint8_t* ip, size_t ip_len, const ResponseClass& response,
                          uint32_t now) noexcept {
  if (o.rate == 0 || response.kind == ResponseClass::none) return Verdict::send;
  // The source prefix: the address with its host bits cleared.
  uint8_t prefix[16] = {};
  const size_t bytes = ip_len == 16 ? 16 : 4;
  const unsigned bits = bytes == 16 ? o.ipv6_prefix : o.ipv4_prefix;
  std::memcpy(prefix, ip, bytes);
  for (size_t i = 0; i < bytes; ++i) prefix[i] &= prefix_byte_mask(bits, i);
  const uint8_t kind = response.kind;
  uint64_t key = fnv1a(prefix, bytes, salt_);
  key = fnv1a(&kind, 1, key);
  key = fnv1a(reinterpret_cast<const uint8_t*>(&response.name_hash), sizeof response.name_hash, key) | 1;

  // Each worker sees its share of a source's traffic (SO_REUSEPORT spreads by port): its share of the rate.
  const int32_t rate = int32_t(std::max<uint32_t>(1, (o.rate + share_ - 1) / share_));
  Bucket& b = table_.get()[key & (size_ - 1)];
  if (b.key != key) {
    b = {key, now, rate, 0};  // a new bucket, or a colliding one taken over (as Knot does)
  } else if (now != b.second) {
    const uint64_t refill = uint64_t(now - b.second) * uint64_t(rate);
    b.tokens = int32_t(std::min<uint64_t>(uint64_t(rate), uint64_t(std::max(b.tokens, 0)) + refill));
    b.second = now;
    if (b.tokens > 0) b.limited = 0;
  }
  if (b.tokens > 0) {
    --b.tokens;
    return Verdict::send;
  }
  ++b.limited;
  return o.slip && b.limited % o.slip == 0 ? Verdict::slip : Verdict::drop;
}

size_t truncate_reply(uint8_t* reply, size_t len) noexcept {
  if (len < header_size) return len;
  size_t end = header_size;
  if (get16(reply + 4) == 1) {
    const size_t name_end = skip_dname(reply, len, header_size);
    if (name_end == 0 || len - name_end < 4) return len;
    end = name_end + 4;
  }
  reply[2] |= 0x02;
  put16(reply + 6, 0);
  put16(reply + 8, 0);
  put16(reply + 10, 0);
  return end;
}

}  // namespace dnsd
