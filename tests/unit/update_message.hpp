// Test helper: DNS UPDATE messages built with ldns (RFC 2136: zone, prerequisite and update sections).
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ldns.hpp"

namespace dnsd::test {

// One RR from RFC 1035 text, absolute names.
inline ldns_rr* rr(const std::string& text) {
  ldns_rr* r = nullptr;
  REQUIRE(ldns_rr_new_frm_str(&r, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
  return r;
}

// "Delete RRset" / "RRset exists" style records: TTL 0, no RDATA, class ANY or NONE (RFC 2136 §2.4-2.5).
inline ldns_rr* empty_rr(const std::string& owner, ldns_rr_type type, ldns_rr_class klass) {
  ldns_rr* r = ldns_rr_new();
  ldns_rr_set_owner(r, ldns_dname_new_frm_str(owner.c_str()));
  ldns_rr_set_type(r, type);
  ldns_rr_set_class(r, klass);
  ldns_rr_set_ttl(r, 0);
  return r;
}

// An UPDATE for `zone`; takes the RRs (the packet holds clones, the originals are freed here).
inline ldns_pkt* update_message(const std::string& zone, const std::vector<ldns_rr*>& prereqs,
                                const std::vector<ldns_rr*>& updates) {
  ldns_rr_list* pr = ldns_rr_list_new();
  ldns_rr_list* up = ldns_rr_list_new();
  for (ldns_rr* r : prereqs) ldns_rr_list_push_rr(pr, r);
  for (ldns_rr* r : updates) ldns_rr_list_push_rr(up, r);
  ldns_pkt* p = ldns_update_pkt_new(ldns_dname_new_frm_str(zone.c_str()), LDNS_RR_CLASS_IN, pr, up, nullptr);
  ldns_rr_list_deep_free(pr);
  ldns_rr_list_deep_free(up);
  return p;
}

}  // namespace dnsd::test
