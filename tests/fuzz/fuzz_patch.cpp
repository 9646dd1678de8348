// Fuzz target: incremental publishing (cluster_patch.hpp). Each 16 bytes of input are one change to
// a zone state (a registration with any host and addresses, a removal, a health flip: see
// tests/unit/patch_check.hpp); after each, every answer of the published snapshot must equal a whole
// compile's. A difference aborts with the steps that led to it.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "patch_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 16) return 0;
  dnsd::test::PatchCheck check;
  for (size_t at = 0; at + 16 <= size && at < 16 * 64; at += 16) {
    uint32_t n[4];
    std::memcpy(n, data + at, sizeof n);
    check.step(n[0], n[1], n[2], n[3]);
    if (const std::string diff = check.compare(); !diff.empty()) {
      for (const std::string& s : check.log()) std::fprintf(stderr, "%s\n", s.c_str());
      std::fprintf(stderr, "%s\n", diff.c_str());
      std::abort();
    }
  }
  return 0;
}
