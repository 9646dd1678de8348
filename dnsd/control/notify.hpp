// NOTIFY out (RFC 1996): every new serial of a zone with transfer.notify targets is announced to each
// target within `delay` (a burst of changes coalesced into one NOTIFY with the latest serial), signed
// when the target names a key, and retried with doubling intervals until answered, at most
// `max_retries` times (docs/ARCHITECTURE.md, "Zone transfers").
// Control plane: control thread only (its event base reads the replies and runs the timers).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config.hpp"
#include "endpoint.hpp"
#include "raii.hpp"
#include "zone_state.hpp"

namespace dnsd {

// A socket (nonblocking) for requests to other name servers: NOTIFYs, and a secondary's SOA queries and
// transfers. It leaves from the first listen address of its family when that is a specific address
// (not 0.0.0.0 or [::]): the address the other server knows us by and names in its ACL, as Knot's
// `via` and BIND's notify-source set it. Invalid Fd on failure.
Fd outgoing_socket(const DaemonConfig& config, int family, int type);

class Notifier {
 public:
  static constexpr std::chrono::milliseconds delay{20};
  static constexpr std::chrono::milliseconds first_retry{1000};
  static constexpr int max_retries = 5;

  // Announces the zones `zones` serves now, then every new serial it publishes.
  Notifier(event_base* base, ZoneState& zones);
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  std::string metrics() const;
  // For /v1/zones: each NOTIFY target of the zone with the serial last announced and whether that
  // NOTIFY still waits for an answer, as a JSON object member ("" when the zone has no targets).
  std::string status_json(const std::string& zone) const;

 private:
  struct Outstanding {
    std::string zone;  // name_key
    RemoteServer target;
    Endpoint to;
    uint32_t serial = 0;
    uint16_t id = 0;
    int sent = 0;
    std::chrono::steady_clock::time_point next;
  };

  void on_publish(const std::vector<ZoneRecords>& zones);
  void send_pending();
  void send(Outstanding& o);
  void on_timer();
  void on_reply(int fd);
  void result(const Outstanding& o, const std::string& what);
  int socket_for(int family);
  void arm(std::chrono::milliseconds after);

  event_base* base_;
  ZoneState& zones_;
  std::map<std::string, uint32_t> announced_;  // zone -> the serial last announced
  std::set<std::string> pending_;              // zones whose new serial waits for the coalescing delay
  std::vector<Outstanding> outstanding_;       // NOTIFYs sent and not yet answered
  Fd v4_, v6_;
  EventPtr v4_event_, v6_event_, timer_;
  std::map<std::string, uint64_t> sent_;     // by zone: messages sent, retries included
  std::map<std::string, uint64_t> results_;  // by zone, target and result (answered, timeout, an rcode)
  std::map<std::pair<std::string, std::string>, std::pair<uint32_t, std::string>> last_result_;  // (zone, target) -> serial, result
};

}  // namespace dnsd
