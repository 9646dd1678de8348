// Fuzz target: the RFC 1035 `records:` block of a zone (parsed by ldns) through validation, compile
// and the printer of `dnsd check`. Properties: nothing crashes; a block that loads without a problem
// compiles (or is refused as a whole, over 64 KiB); and what `dnsd check` prints of it loads back,
// without a problem, to the same records (the same digest).
#include <cstdlib>

#include "compile.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

dnsd::ZoneConfig zone(std::string records) {
  dnsd::ZoneConfig z;
  z.file = "fuzz.yaml";
  z.zone = "lab.example.com.";
  z.soa.mname = "ns1.example.org.";
  z.soa.rname = "h.example.org.";
  z.ns = {"ns1.example.org."};
  z.records = std::move(records);
  z.records_first_line = 5;
  return z;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const dnsd::ZoneConfig z = zone(std::string(reinterpret_cast<const char*>(data), size));
  std::vector<dnsd::Diagnostic> diags;
  dnsd::ZoneRecords records = dnsd::build_zone(z, diags);
  if (!diags.empty()) return 0;

  // What `dnsd check` prints of the block, loaded again as a records: block.
  std::string printed;
  for (const dnsd::Record& r : records.records)
    if (r.loc.line >= z.records_first_line) printed += dnsd::rr_text(r.rr);  // not the NS from ns: (the zone's line)
  std::vector<dnsd::Diagnostic> again_diags;
  const dnsd::ZoneRecords again = dnsd::build_zone(zone(printed), again_diags);
  check(again_diags.empty());
  check(again.records.size() == records.records.size());
  check(dnsd::zone_digest(again) == dnsd::zone_digest(records));

  try {
    dnsd::add_soa(records, z, 1);
    dnsd::Snapshot snap;
    dnsd::compile_zone(records, snap);
    check(!dnsd::zone_text(records).empty());
  } catch (const std::runtime_error&) {
    // An RRset over 64 KiB is refused with an exception: a typed error, not a crash.
  }
  return 0;
}
