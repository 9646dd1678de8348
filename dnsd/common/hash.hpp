// FNV-1a 64 over bytes: the checksum of the state files (registrations, serials), the digest that
// decides SOA serial bumps and the RRL bucket keys. Header only; usable from the data plane and the control plane.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace dnsd {

constexpr uint64_t fnv_basis = 1469598103934665603ULL;

// Continues the hash h (a fresh one starts at fnv_basis) over n bytes.
inline uint64_t fnv1a(const uint8_t* p, size_t n, uint64_t h = fnv_basis) noexcept {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

// FNV-1a 64 of `text` as 16 lower-case hex digits: the checksum trailer of dnsd's state files.
inline std::string fnv1a_hex(std::string_view text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(fnv1a(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  return buf;
}

}  // namespace dnsd
