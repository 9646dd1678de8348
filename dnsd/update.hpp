// DNS UPDATE (RFC 2136) for one zone: the prerequisites (§3.2) are checked against what the zone serves,
// then the update section (§3.4) is applied, all or nothing, to the records earlier UPDATEs added.
// Records the config owns (apex SOA and NS, `records:`, everything generated from clusters) are never
// changed: an update touching one of their names and types is REFUSED.
// Control plane: control thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ldns.hpp"
#include "zone_builder.hpp"

namespace dnsd {

namespace rcode_update {
constexpr uint8_t yxdomain = 6, yxrrset = 7, nxrrset = 8, notauth = 9, notzone = 10;
}

struct UpdateResult {
  uint8_t rcode = 0;
  std::vector<std::string> records;  // the zone's UPDATE records afterwards, one-line text (rcode 0)
  bool changed = false;
  std::string why;  // what failed, for the log
};

// `message`: the parsed UPDATE (ldns names the sections question = zone, answer = prerequisites,
// authority = updates). `zone`: the zone as served now; `records`: its current UPDATE records.
UpdateResult apply_update(const ldns_pkt* message, const ZoneRecords& zone, const std::vector<std::string>& records);

}  // namespace dnsd
