// Test helper (control plane): a probed cluster of three members a, b, c in zone "z.", and health
// tables for it.
#pragma once

#include <string>
#include <vector>

#include "etcd_records.hpp"
#include "health.hpp"

namespace dnsd::test {

inline Cluster probed_cluster(bool fail_closed) {
  Cluster c;
  c.name = "c1";
  c.health = HealthOptions{};
  c.health->fail_closed = fail_closed;
  c.health->interval_ms = 5000;
  for (const char* n : {"a", "b", "c"}) c.members.push_back({n, std::string(n) + ".z.", {"192.0.2.1"}, {}, {}, {}, {}});
  return c;
}

inline std::string targets(const std::vector<SrvTarget>& t) {
  std::string out;
  for (const auto& x : t) out += x.member->name;
  return out;
}

inline HealthTable table(const std::string& states) {  // one char per member a, b, c: h, x or u
  HealthTable t;
  for (size_t i = 0; i < states.size(); ++i) {
    if (states[i] == 'u') continue;
    MemberHealth& h = t[health_key("z.", "c1", std::string(1, char('a' + i)))];
    h.state.observe(states[i] == 'h', 1, 1);
  }
  return t;
}

}  // namespace dnsd::test
