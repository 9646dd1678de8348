// Wire-format domain names (see dname.hpp). Every length is checked against the packet end.
#include "dname.hpp"

#include <cstring>

namespace dnsd {

namespace {

// Copies n bytes folding A-Z to a-z, eight at a time (SWAR). Label length bytes are below 64, never
// in 'A'..'Z', so a whole wire name can be folded at once.
inline void fold8(uint8_t* out, const uint8_t* in) noexcept {
  constexpr uint64_t ones = 0x0101010101010101ULL;
  uint64_t w;
  std::memcpy(&w, in, 8);
  const uint64_t seven = w & (0x7F * ones);
  const uint64_t above_z = seven + (0x7F - 'Z') * ones;  // high bit set where byte > 'Z'
  const uint64_t from_a = seven + (0x80 - 'A') * ones;   // high bit set where byte >= 'A'
  const uint64_t upper = (from_a ^ above_z) & ~w & (0x80 * ones);
  w |= upper >> 2;  // 0x80 >> 2 == 0x20: 'A' + 0x20 == 'a'
  std::memcpy(out, &w, 8);
}

void fold_copy(uint8_t* out, const uint8_t* in, size_t n) noexcept {
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) out[i] = fold(in[i]);
    return;
  }
  for (size_t i = 0; i + 8 <= n; i += 8) fold8(out + i, in + i);
  fold8(out + n - 8, in + n - 8);  // the tail, overlapping: folding the same bytes again changes nothing
}

}  // namespace

size_t parse_dname(const uint8_t* pkt, size_t len, size_t off, uint8_t* lower) noexcept {
  size_t pos = off;
  for (;;) {
    if (pos >= len) return 0;
    const uint8_t label = pkt[pos];
    // Compression pointers (0xC0) and the reserved/extended types (0x40, 0x80) are refused here:
    // the question starts at offset 12, so a pointer in it can only point forward or into itself.
    if (label & 0xC0) return 0;
    if (pos - off + 1 + label > max_dname_wire) return 0;
    if (pos + 1 + label > len) return 0;
    pos += 1 + label;
    if (label == 0) break;
  }
  if (lower) fold_copy(lower, pkt + off, pos - off);
  return pos - off;
}

size_t skip_dname(const uint8_t* pkt, size_t len, size_t off) noexcept {
  size_t pos = off;
  for (;;) {
    if (pos >= len) return 0;
    const uint8_t label = pkt[pos];
    if ((label & 0xC0) == 0xC0) return pos + 2 <= len ? pos + 2 : 0;
    if (label & 0xC0) return 0;
    if (pos - off + 1 + label > max_dname_wire) return 0;
    pos += 1 + label;
    if (pos > len) return 0;
    if (label == 0) return pos;
  }
}

}  // namespace dnsd
