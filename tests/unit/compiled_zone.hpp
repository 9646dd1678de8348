// Test helper: a zone YAML compiled into a snapshot, and queries answered from it and parsed by ldns.
#pragma once

#include <memory>
#include <string>

#include "compile.hpp"
#include "exchange.hpp"
#include "ldns.hpp"
#include "temp_dir.hpp"
#include "wire.hpp"

namespace dnsd::test {

// dnsd.yaml's lines for the TSIG key `ddns` that the unit tests' zones take DNS UPDATE with
// (`update: { keys: [ddns] }`).
inline constexpr const char* ddns_key_yaml =
    "tsig_keys:\n  - { name: ddns, algorithm: hmac-sha256, secret: \"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=\" }\n";

class CompiledZone {
 public:
  // daemon_extra: more of dnsd.yaml (tsig_keys, say).
  explicit CompiledZone(const std::string& zone_yaml, const std::string& daemon_extra = "") {
    const std::string conf =
        dir_.write("dnsd.yaml", "listen: [\"127.0.0.1:1053\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n" + daemon_extra);
    dir_.write("zones/zone.yaml", zone_yaml);
    config_ = load_config(conf);
    state_ = std::make_unique<StateStore>(config_.state_dir, false);
    compiled_ = compile_config(config_, *state_);
  }

  const Snapshot* snapshot() const { return compiled_.snapshot.get(); }
  const CompiledConfig& compiled() const { return compiled_; }
  CompiledConfig& compiled() { return compiled_; }

  // Raw reply bytes for a query.
  Bytes raw(const Bytes& query, Transport t = Transport::udp) const { return Exchange(snapshot(), query, t).reply; }

  // The reply parsed back by ldns (null when ldns cannot parse it or there is no reply).
  PktPtr ask(const std::string& name, uint16_t type, QueryOptions o = {}, Transport t = Transport::udp) const {
    const Bytes r = raw(make_query(name, type, 1, o), t);
    ldns_pkt* p = nullptr;
    if (r.empty() || ldns_wire2pkt(&p, r.data(), r.size()) != LDNS_STATUS_OK) return nullptr;
    return PktPtr(p);
  }

 private:
  TempDir dir_;
  DaemonConfig config_;
  std::unique_ptr<StateStore> state_;
  CompiledConfig compiled_;
};

inline std::string rr_text(const ldns_rr* rr) {
  std::string out = take_ldns_string(ldns_rr2str(rr));
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline std::string section_text(const ldns_rr_list* list) {
  std::string out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) out += rr_text(ldns_rr_list_rr(list, i)) + "\n";
  return out;
}

}  // namespace dnsd::test
