// Fuzz target: the durable state files (what a crash, a full disk or a stray editor leaves): each
// input is read as a registrations file and as a serials file. Damage is reported, never thrown; what
// the registry parser keeps is storable, and serializes and parses back whole and the same; a serials
// file's problems are named with the path.
#include <cstdlib>

#include "registry.hpp"
#include "state_store.hpp"

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
  const dnsd::StateStore::Parsed serials = dnsd::StateStore::parse(text, "serials");
  for (const std::string& p : serials.problems)
    if (p.rfind("serials", 0) != 0) std::abort();
  return 0;
}
