// Secondary zones (docs/ARCHITECTURE.md, "Secondary zones"): each one's copy is kept equal to its
// primaries' by SOA checks (every SOA refresh, every retry after a failure, and at once on an
// authorised NOTIFY) and transfers (IXFR from the serial held, AXFR when the primary does not do IXFR
// or its changes do not apply, AXFR when nothing is held). Past the SOA expire without a successful
// check the zone answers SERVFAIL until one succeeds. Primaries are tried in order.
// Control plane: control thread only (its event base runs the connections and timers); what is
// transferred is read by TransferReader and checked by check_copy before ZoneState serves it.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "raii.hpp"
#include "tsig.hpp"
#include "wire.hpp"
#include "zone_state.hpp"

namespace dnsd {

class SecondaryService {
 public:
  static constexpr std::chrono::seconds io_timeout{10};         // connect, and each read or write
  static constexpr std::chrono::seconds check_deadline{300};    // a whole check with its transfer
  static constexpr std::time_t retry_without_copy = 10;         // seconds, while no SOA is known
  static constexpr std::time_t min_interval = 1;                // floor of SOA refresh and retry

  // Checks every secondary zone of `zones` at once, then on its timers; follows reloads.
  SecondaryService(event_base* base, ZoneState& zones);
  ~SecondaryService();
  SecondaryService(const SecondaryService&) = delete;
  SecondaryService& operator=(const SecondaryService&) = delete;

  // A NOTIFY (RFC 1996) for a zone (its question, already parsed), from `source` (address bytes),
  // verified with `key` (null: unsigned). NOERROR when it comes from one of the zone's primaries,
  // signed with that primary's key when it has one: a check starts now (or right after the one
  // running). REFUSED otherwise, and for zones that are not secondary.
  uint8_t notify(const QueryView& q, std::string_view source, const TsigKey* key);

  std::string metrics() const;
  // The state of a secondary zone for /v1/zones, as JSON object members ("" when not secondary).
  std::string status_json(const std::string& zone) const;

 private:
  class Check;
  struct Secondary {
    SecondaryService* owner = nullptr;
    std::string key;   // name_key
    std::string zone;  // as configured
    EventPtr timer;
    std::unique_ptr<Check> check;  // in flight
    bool again = false;            // a NOTIFY came while checking: check again after it
    std::time_t next_check = 0;
    std::time_t last_attempt = 0;
    std::string last_error;        // "" after a success
    std::string last_primary;      // the primary that answered last
    uint64_t notifies = 0;
    std::time_t since = 0;  // the last successful check, or when this service started (expiry counts from it)
  };

  void on_config(const DaemonConfig& config);
  void start_check(const std::string& key);
  void on_timer(const std::string& key);
  void arm(Secondary& s);
  std::time_t expire_at(const std::string& key) const;
  // Called by a Check when it ends: error "" on success.
  void finished(const std::string& key, const std::string& error, const std::string& primary);
  void count(const std::string& key, const std::string& type, const std::string& result);

  event_base* base_;
  ZoneState& zones_;
  std::map<std::string, Secondary> zones_by_key_;  // by name_key
  std::vector<std::unique_ptr<Check>> finished_checks_;  // ended, freed at the next timer
  std::map<std::string, uint64_t> counts_;  // zone|type|result -> transfers in (and SOA checks)
  uint64_t notify_refused_ = 0;
};

}  // namespace dnsd
