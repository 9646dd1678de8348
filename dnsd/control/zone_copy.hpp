// A secondary zone's copy (docs/ARCHITECTURE.md, "Secondary zones"): the records transferred from a
// primary, checked as untrusted input before anything is served, changed by IXFR, and kept durably
// under state_dir so that a restart serves it even while every primary is down.
// Control plane: control thread only (and `dnsd check`, read-only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "ldns.hpp"
#include "result.hpp"

namespace dnsd {

struct ZoneCopy {
  std::vector<RrPtr> rrs;  // the SOA first, then every other record as the primary sent it

  uint32_t serial() const noexcept { return soa_field(2); }
  uint32_t refresh() const noexcept { return soa_field(3); }
  uint32_t retry() const noexcept { return soa_field(4); }
  uint32_t expire() const noexcept { return soa_field(5); }
  uint32_t soa_field(size_t i) const noexcept;
};

// What a transfer in may bring: more is refused, and the copy held is kept.
constexpr size_t max_copy_records = 500000;
constexpr size_t max_copy_bytes = 64u << 20;  // the records in uncompressed wire form

// Checks the records of zone `apex` (absolute) as a primary sent them: "" when they can be served,
// else what is wrong (the first problem). One SOA, first, at the apex; class IN; every owner in the
// zone; no delegation, DNAME or wildcard (dnsd does not serve them); no CNAME beside other data or at
// the apex; no meta type; within the limits above.
std::string check_copy(const std::string& apex, const std::vector<RrPtr>& rrs);

// One change of an incremental transfer (RFC 1995 §4): the records deleted from the version with the
// first SOA, then the ones added to make the version with the second.
struct CopyChange {
  RrPtr soa_from, soa_to;
  std::vector<RrPtr> removed, added;
};

// Applies the changes to `base` in order. "" and the new copy in `out`, or what is wrong (a change
// that does not start from the serial before it, a record to delete that is not there).
std::string apply_changes(const ZoneCopy& base, const std::vector<CopyChange>& changes, ZoneCopy& out);

// The file a zone's copy is kept in, under state_dir.
std::string copy_path(const std::string& state_dir, const std::string& zone);

// Writes the copy durably (write_file_durably) with the time of the check that fetched it.
Result<void> save_copy(const std::string& state_dir, const std::string& zone, const ZoneCopy& copy, std::time_t checked);
// Records a successful check that found the copy current (the copy itself is not rewritten).
Result<void> save_check_time(const std::string& state_dir, const std::string& zone, std::time_t checked);

struct LoadedCopy {
  std::optional<ZoneCopy> copy;  // none: no file, or a damaged one (`problem` says why)
  std::time_t checked = 0;       // the last successful check (0: unknown)
  std::string problem;
};
// Reads the copy kept for `zone` and checks it again as untrusted (a damaged file is never served).
LoadedCopy load_copy(const std::string& state_dir, const std::string& zone);

// Every secondary zone's copy kept under the config's state_dir, by name_key (zones without one are
// left out; a damaged one is there with its problem and no copy).
std::map<std::string, LoadedCopy> load_copies(const DaemonConfig& config);

// The bytes of a copy file, and back: "" and the records in `copy`, or what is wrong with them
// (exposed for the fuzz target; the records still need check_copy).
std::string copy_file(const ZoneCopy& copy);
std::string parse_copy_file(const std::string& bytes, ZoneCopy& copy);

}  // namespace dnsd
