// Fuzz target: the durable registrations file (what a crash, a full disk or a stray editor leaves).
// Damage is reported, never thrown; what the parser keeps is storable, and serializes and parses
// back whole and the same.
#include <cstdlib>

#include "registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const dnsd::Registry::Parsed parsed = dnsd::Registry::parse(text, "fuzz");
  const dnsd::Registry& r = parsed.registry;
  if (parsed.whole != parsed.problems.empty()) std::abort();
  if (!r.storable().ok()) std::abort();
  const dnsd::Registry::Parsed again = dnsd::Registry::parse(r.serialize(), "fuzz");
  if (!again.whole || !(again.registry.members == r.members) || again.registry.open_gates != r.open_gates ||
      again.registry.records != r.records)
    std::abort();
  return 0;
}
