// Fuzz target: the durable registrations file (what a crash, a full disk or a stray editor leaves).
// Damage must be reported as an error; whatever parses must serialize and parse back the same.
#include <cstdlib>

#include "registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const dnsd::Registry r = dnsd::Registry::parse(text, "fuzz");
    const dnsd::Registry again = dnsd::Registry::parse(r.serialize(), "fuzz");
    if (!(again.members == r.members) || again.open_gates != r.open_gates || again.records != r.records) std::abort();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
