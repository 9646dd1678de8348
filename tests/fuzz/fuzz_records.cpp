// Fuzz target: the RFC 1035 `records:` block of a zone (parsed by ldns) through validation, compile
// and the printer of `dnsd check`.
#include "compile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dnsd::ZoneConfig z;
  z.file = "fuzz.yaml";
  z.zone = "lab.example.com.";
  z.soa.mname = "ns1.example.org.";
  z.soa.rname = "h.example.org.";
  z.ns = {"ns1.example.org."};
  z.records.assign(reinterpret_cast<const char*>(data), size);
  z.records_first_line = 5;
  std::vector<dnsd::Diagnostic> diags;
  try {
    dnsd::ZoneRecords records = dnsd::build_zone(z, diags);
    if (!diags.empty()) return 0;
    dnsd::add_soa(records, z, 1);
    dnsd::Snapshot snap;
    dnsd::compile_zone(records, snap);
    (void)dnsd::zone_text(records);
  } catch (const std::runtime_error&) {
    // An RRset over 64 KiB is refused with an exception: a typed error, not a crash.
  }
  return 0;
}
