// Fuzz target: the durable state files (what a crash, a full disk or a stray editor leaves): each
// input is read as a registrations file, as the lines of a registrations change log, and as a serials
// file. Damage is reported, never thrown; what the registry parser keeps is storable, and serializes
// and parses back whole and the same; a change that parses writes the same line back; a serials
// file's problems are named with the path.
#include <algorithm>
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
  for (size_t from = 0; from < text.size();) {
    const size_t nl = std::min(text.find('\n', from), text.size());
    const dnsd::Result<dnsd::RegistryChange> change = dnsd::RegistryChange::parse(text.substr(from, nl - from));
    from = nl + 1;
    if (!change) continue;
    const std::string line = change.value().line();
    const size_t space = line.rfind(' ');
    const dnsd::Result<dnsd::RegistryChange> back = dnsd::RegistryChange::parse(line.substr(0, space));
    if (!back || back.value().line() != line) std::abort();
  }
  const dnsd::StateStore::Parsed serials = dnsd::StateStore::parse(text, "serials");
  for (const std::string& p : serials.problems)
    if (p.rfind("serials", 0) != 0) std::abort();
  return 0;
}
