// DNS cookies (see cookie.hpp). SipHash-2-4 as specified by Aumasson and Bernstein.
#include "cookie.hpp"

#include <sys/random.h>

#include <cstring>
#include <stdexcept>

namespace dnsd {

namespace {

inline uint64_t rotl(uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }

inline uint64_t load_le64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void round() noexcept {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
  void absorb(uint64_t m) noexcept {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

constexpr uint32_t reuse_window = 1800;  // RFC 9018 §4.3: cookies under half an hour old are kept
constexpr uint32_t future_slack = 300;   // a cookie from up to 5 minutes in the future is still ours

}  // namespace

uint64_t siphash24(const uint8_t key[16], const uint8_t* data, size_t len) noexcept {
  const uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
  SipState s{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1, 0x6c7967656e657261ULL ^ k0,
             0x7465646279746573ULL ^ k1};
  size_t i = 0;
  for (; i + 8 <= len; i += 8) s.absorb(load_le64(data + i));
  uint64_t last = uint64_t(len & 0xFF) << 56;
  for (size_t j = 0; i + j < len; ++j) last |= uint64_t(data[i + j]) << (8 * j);
  s.absorb(last);
  s.v2 ^= 0xFF;
  for (int r = 0; r < 4; ++r) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

void make_server_cookie(const uint8_t secret[16], const uint8_t* client_cookie, const uint8_t* ip, size_t ip_len,
                        uint32_t now, uint8_t* out) noexcept {
  // Hash input: client cookie | version | reserved | timestamp | client IP (RFC 9018 §4.4).
  uint8_t input[client_cookie_size + 8 + 16];
  std::memcpy(input, client_cookie, client_cookie_size);
  const uint8_t head[8] = {1, 0, 0, 0, uint8_t(now >> 24), uint8_t(now >> 16), uint8_t(now >> 8), uint8_t(now)};
  std::memcpy(input + client_cookie_size, head, sizeof head);
  ip_len = ip_len > 16 ? 16 : ip_len;
  std::memcpy(input + client_cookie_size + 8, ip, ip_len);
  const uint64_t hash = siphash24(secret, input, client_cookie_size + 8 + ip_len);
  std::memcpy(out, head, 8);
  for (int i = 0; i < 8; ++i) out[8 + i] = uint8_t(hash >> (8 * i));  // SipHash output, little-endian
}

void answer_cookie(const uint8_t secret[16], const uint8_t* cookie, size_t cookie_len, const uint8_t* ip,
                   size_t ip_len, uint32_t now, uint8_t* out) noexcept {
  if (cookie_len == client_cookie_size + server_cookie_size && cookie[8] == 1) {
    const uint8_t* theirs = cookie + client_cookie_size;
    const uint32_t stamp = uint32_t(theirs[4]) << 24 | uint32_t(theirs[5]) << 16 | uint32_t(theirs[6]) << 8 | theirs[7];
    const uint32_t age = now - stamp;  // serial arithmetic (RFC 1982): wraps like the timestamp
    if (age < reuse_window || uint32_t(stamp - now) <= future_slack) {
      make_server_cookie(secret, cookie, ip, ip_len, stamp, out);
      if (std::memcmp(out, theirs, server_cookie_size) == 0) return;  // ours and fresh: keep it
    }
  }
  make_server_cookie(secret, cookie, ip, ip_len, now, out);
}

std::string random_cookie_secret() {
  std::string secret(16, '\0');
  if (getrandom(secret.data(), secret.size(), 0) != ssize_t(secret.size()))
    throw std::runtime_error("cannot draw a random cookie secret");
  return secret;
}

}  // namespace dnsd
