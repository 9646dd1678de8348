// DNS cookies (RFC 7873) with the interoperable server cookie of RFC 9018: version 1, three reserved
// bytes, a 32-bit timestamp and SipHash-2-4 over client cookie, version, reserved, timestamp and the
// client's address, keyed with a 128-bit secret.
// Data plane: called per query that carries a COOKIE option; allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dnsd {

constexpr uint16_t edns_cookie = 10;  // the COOKIE option code
constexpr size_t client_cookie_size = 8;
constexpr size_t server_cookie_size = 16;  // RFC 9018

uint64_t siphash24(const uint8_t key[16], const uint8_t* data, size_t len) noexcept;

// Writes the 16-byte server cookie for this client at `now` (UNIX seconds) into out.
void make_server_cookie(const uint8_t secret[16], const uint8_t* client_cookie, const uint8_t* ip, size_t ip_len,
                        uint32_t now, uint8_t* out) noexcept;

// The server cookie to answer with: the client's own one when it is ours, valid and less than half an
// hour old (RFC 9018 §4.3: clients keep a stable cookie), otherwise a fresh one. cookie/cookie_len:
// the COOKIE option the client sent (8 to 40 bytes).
void answer_cookie(const uint8_t secret[16], const uint8_t* cookie, size_t cookie_len, const uint8_t* ip,
                   size_t ip_len, uint32_t now, uint8_t* out) noexcept;

// A fresh 16-byte secret from the kernel (getrandom(2)): one per process unless the config names one
// (servers that share an address must share it). Not OpenSSL's generator, which loads its providers
// (~2 MB of libcrypto paged in) for 16 bytes. Throws std::runtime_error when none can be drawn.
std::string random_cookie_secret();

}  // namespace dnsd
