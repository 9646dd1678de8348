// Wire-format domain names: bounded parsing of names inside received packets and case folding.
// Data plane: called by the query path on worker threads; allocates nothing, never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dnsd {

constexpr size_t max_dname_wire = 255;  // RFC 1035 §2.3.4, including the root label
constexpr size_t max_label = 63;

// Reads an uncompressed name at pkt[off..len). On success returns its wire length and, when lower is
// not null, writes the lower-cased wire form there (room for max_dname_wire bytes). Returns 0 for a
// truncated name, a compression pointer, an extended label type or a name over 255 bytes.
size_t parse_dname(const uint8_t* pkt, size_t len, size_t off, uint8_t* lower) noexcept;

// Skips a possibly compressed name at pkt[off..len) without following pointers. Returns the offset
// after it, or 0 when the name runs past the packet or uses a reserved label type.
size_t skip_dname(const uint8_t* pkt, size_t len, size_t off) noexcept;

// ASCII-only case folding (RFC 4343: DNS names compare case-insensitively over A-Z only).
constexpr uint8_t fold(uint8_t c) noexcept { return (c >= 'A' && c <= 'Z') ? uint8_t(c + 32) : c; }

// Returns the wire name that remains after dropping the first label of a (valid) wire name.
inline std::string_view parent_dname(std::string_view wire) noexcept {
  if (wire.size() <= 1) return {};
  return wire.substr(size_t(uint8_t(wire[0])) + 1);
}

}  // namespace dnsd
