// Wire-format domain names (see dname.hpp). Every length is checked against the packet end.
#include "dname.hpp"

namespace dnsd {

size_t parse_dname(const uint8_t* pkt, size_t len, size_t off, uint8_t* lower) noexcept {
  size_t pos = off;
  for (;;) {
    if (pos >= len) return 0;
    const uint8_t label = pkt[pos];
    // Compression pointers (0xC0) and the reserved/extended types (0x40, 0x80) are refused here:
    // the question starts at offset 12, so a pointer in it can only point forward or into itself.
    if (label & 0xC0) return 0;
    const size_t total = pos - off + 1 + label;
    if (total > max_dname_wire) return 0;
    if (pos + 1 + label > len) return 0;
    if (lower) {
      lower[pos - off] = label;
      for (size_t i = 1; i <= label; ++i) lower[pos - off + i] = fold(pkt[pos + i]);
    }
    pos += 1 + label;
    if (label == 0) return pos - off;
  }
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
