// FNV-1a 64 over bytes: the checksum of the registrations file, the digest that decides SOA serial
// bumps and the RRL bucket keys. Header only; usable from the data plane and the control plane.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dnsd {

constexpr uint64_t fnv_basis = 1469598103934665603ULL;

// Continues the hash h (a fresh one starts at fnv_basis) over n bytes.
inline uint64_t fnv1a(const uint8_t* p, size_t n, uint64_t h = fnv_basis) noexcept {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

}  // namespace dnsd
