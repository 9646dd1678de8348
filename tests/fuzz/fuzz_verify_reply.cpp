// Fuzz target: a reply `dnsd verify` reads from a server it does not trust, as its wire walker
// (wire_facts: where the answer ends, compressed SRV targets) sees it. The walker never reads past the
// message, and what it reports stays inside it.
#include <cstdlib>

#include "verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const dnsd::WireFacts f = dnsd::wire_facts(data, size);
  if (f.answer_end > size) std::abort();
  if (f.readable && size < 12) std::abort();
  return 0;
}
