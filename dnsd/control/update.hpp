// DNS UPDATE (RFC 2136) for one zone, in the three phases of its §3 (as Knot's ddns.c splits them):
// the prerequisites (§3.2) are checked against what the zone serves, the update section is prescanned
// (§3.4.1) and then applied (§3.4.2), all or nothing, to the records earlier UPDATEs added. Records the
// config owns (apex SOA and NS, `records:`, everything generated from clusters) are never changed: an
// update touching one of their names and types is REFUSED.
// Control plane: control thread only (and tests, fuzzing).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ldns.hpp"
#include "zone_builder.hpp"

namespace dnsd {

namespace rcode_update {
constexpr uint8_t yxdomain = 6, yxrrset = 7, nxrrset = 8, notauth = 9, notzone = 10;
}

// The outcome of a phase: rcode 0 to go on, else the rcode to answer and why (for the log).
struct UpdateCheck {
  uint8_t rcode = 0;
  std::string why;
  bool ok() const noexcept { return rcode == 0; }
};

// The zone as UPDATE sees it: every RRset served (owner -> type -> canonical RDATA) and the names
// and types the config owns. Built once per message from the published zone records, for the names
// `names` (lower-case wire) when given: a message asks about its own names only, and a zone of
// 10,000 members need not be copied for it.
struct UpdateZone {
  std::string apex;  // lower-case wire
  std::map<std::string, std::map<uint16_t, std::set<std::string>>> served;
  std::set<std::pair<std::string, uint16_t>> owned;
  NameSet reserved;  // names the etcd records use: no update touches them

  explicit UpdateZone(const ZoneRecords& zone, const std::set<std::string>* names = nullptr);
  std::set<uint16_t> owned_at(const std::string& owner) const;  // the config's types at a name
};

// §3.2: the prerequisite section against the zone before any update.
UpdateCheck check_prerequisites(const ldns_rr_list* prerequisites, const UpdateZone& zone);
// §3.4.1: every update is checked (class, type, RDATA, scope, what the config owns) before any is applied.
UpdateCheck prescan_updates(const ldns_rr_list* updates, const UpdateZone& zone);

struct UpdateResult {
  uint8_t rcode = 0;
  std::vector<std::string> records;  // the zone's UPDATE records afterwards, one-line text (rcode 0)
  bool changed = false;
  std::string why;  // what failed, for the log
};

// §3.4.2: a prescanned update section applied to the zone's UPDATE records (one-line text).
UpdateResult apply_updates(const ldns_rr_list* updates, const UpdateZone& zone, const std::vector<std::string>& records);

// The three phases in order. `message`: the parsed UPDATE (ldns names the sections question = zone,
// answer = prerequisites, authority = updates). `zone`: the zone as served now; `records`: its
// current UPDATE records.
UpdateResult apply_update(const ldns_pkt* message, const ZoneRecords& zone, const std::vector<std::string>& records);

}  // namespace dnsd
