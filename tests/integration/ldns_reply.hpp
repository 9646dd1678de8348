// Integration helper: replies parsed back with ldns.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "ldns.hpp"
#include "../unit/packet.hpp"

namespace dnsd::test {

using Pkt = PktPtr;

inline Pkt parse_reply(const std::optional<Bytes>& r) {
  ldns_pkt* p = nullptr;
  if (!r || r->empty() || ldns_wire2pkt(&p, r->data(), r->size()) != LDNS_STATUS_OK) return nullptr;
  return Pkt(p);
}

inline std::string rrs(const ldns_rr_list* list) {
  std::string out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) out += take_ldns_string(ldns_rr2str(ldns_rr_list_rr(list, i)));
  return out;
}

}  // namespace dnsd::test
