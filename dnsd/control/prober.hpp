// HTTP/HTTPS health probes of the members' client URLs (etcd's /health), asynchronously on the control
// thread's event base: a small HTTP/1.1 client on non-blocking sockets (OpenSSL on the socket for
// https) with jitter, a timeout and a bound on the probes in flight; one keep-alive connection per
// member, reopened after a failed probe (over https, resuming the TLS session). Never touches a
// worker. Control plane: control thread only; the process ignores SIGPIPE (TLS writes go through
// write(), and the control loop sets it).
#pragma once

#include <event2/util.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "http_connection.hpp"
#include "openssl.hpp"
#include "raii.hpp"
#include "result.hpp"

namespace dnsd {

struct ProbeSpec {
  std::string key;      // health_key(zone, cluster, member)
  std::string host;     // the member's host (Host header, default certificate name)
  std::string address;  // numeric address to connect to; empty: resolve host
  uint16_t port = 0;
  HealthOptions options;
};

struct ProbeResult {
  bool ok = false;
  double latency_s = 0;
  std::string error;  // why it failed: connect, TLS, status, body, timeout
};

// Decides a probe from the HTTP status and body: 200 and a JSON body whose "health" is "true"
// (etcd's /health; /readyz and /livez answer "ok" with 200 and pass on the status alone), read in its
// first 512 bytes that are not blanks. The error says why not, for the log and /v1/zones.
Result<void> check_health_reply(int status, const std::string& body);

class Prober {
 public:
  // Each result with its target's key and the target's handle: null at first, then whatever the
  // receiver keeps there (what it found for the key, so that it looks the key up once, not per probe).
  // The handle lives as long as the target: a target set again differently starts with null.
  using OnResult = std::function<void(const std::string& key, const ProbeResult& result, void*& handle)>;

  Prober(event_base* base, OnResult on_result, size_t max_in_flight = 256);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Replaces the probed set. A target probed as before (same key, address, port and options) keeps its
  // connection, TLS session, schedule and probe in flight; a new or changed one starts within a
  // quarter interval; results for removed targets and fetches in flight are dropped. TLS contexts
  // whose files changed on disk are built afresh (https connections then reconnect, in full). Throws
  // std::runtime_error, changing no target, when a TLS context cannot be built (unreadable CA,
  // certificate or key), naming the file.
  void set_targets(std::vector<ProbeSpec> targets);
  // The same for part of the set: the targets keyed `removed` go, each of `specs` is added, kept (probed
  // alike) or replaced; fetches in flight go on. Throws as set_targets() does.
  void update_targets(const std::vector<std::string>& removed, std::vector<ProbeSpec> specs);
  // One request outside the probe schedule (etcd's member list, for drift): a POST of `json_body` to
  // target `key`'s address and port, with its scheme, TLS options and timeout. `done` gets the HTTP
  // status (0: no reply), the body (up to 1 MiB) and why it failed; it is called once, and never after
  // set_targets() or once the prober is gone (update_targets() lets it finish, even when it removes
  // the target). False when `key` is not a target. The connection is kept for the next fetch to the
  // same target (HTTP/1.1 keep-alive; over https a new one resumes the probes' TLS session) until the
  // target goes or changes.
  using Fetched = std::function<void(int status, const std::string& body, const std::string& error)>;
  bool fetch(const std::string& key, const std::string& path, const std::string& json_body, Fetched done);

  size_t in_flight() const noexcept { return in_flight_; }
  // Whether replies are batched (prober.cpp), and how many connections are watched that way.
  bool batched() const noexcept { return batched_; }
  size_t batched_connections() const noexcept;
  size_t targets() const noexcept { return targets_.size(); }

 private:
  struct Target;
  struct Fetch;
  static void on_deadline(evutil_socket_t, short, void* arg) noexcept;
  static void on_fetch_deadline(evutil_socket_t, short, void* arg) noexcept;
  void start(Target& t);
  // The next probe of t, jittered (the first within a quarter interval, then 0.9-1.1 intervals on).
  void schedule(Target& t, bool first);
  // Puts t in the wheel's slot for `delay_ms` from now, arming the wheel's timer when it is earlier.
  void due_in(Target& t, uint32_t delay_ms);
  void arm_tick(int64_t tick, int64_t now_us);
  // Fires what is due in every slot passed since the last tick, and arms for the next non-empty one.
  void on_tick() noexcept;
  // t fell due: starts it, or marks it pending behind its probe in flight, or retries shortly when
  // max_in_flight probes are out.
  void fire(Target& t);
  // The timeval to arm a probe's deadline with: libevent's common timeout for `ms` when there is one.
  const timeval* deadline_after(uint32_t ms);
  // Sends `request` on c: on its kept connection, else on a new one to s's member (https: in s's TLS
  // context, resuming `session`). `owner` hears how it ended (also when the context cannot be built).
  void exchange(HttpConnection& c, HttpConnection::Owner& owner, const std::string& request, const ProbeSpec& s,
                const std::string& session);
  // A probe's exchange ended: with the reply (error empty) or with why not. Closes the connection
  // after a failure, then reports.
  void probe_ended(Target& t, const std::string& error);
  // A fetch's exchange ended; its connection is kept for the next fetch to the target when the
  // reply left it open and the target is still probed as it was.
  void fetch_ended(Fetch& f, const std::string& error);
  // The member closed a fetch's kept connection as the request went out: sent again on a new one.
  void fetch_dropped(Fetch& f);
  // Closes the connection kept for fetches to `key`, if any (the target went or changed).
  void drop_kept_fetch(const std::string& key);
  // Closes a fetch's connection; the fetch is freed later (reap), never inside its own callback.
  void let_go(std::unique_ptr<Fetch> f);
  void report(Target& t, ProbeResult result);
  // Frees what set_targets() or a finished fetch left on the next turn of the loop, never inside the
  // callback that let go of it.
  void reap_later();
  // Takes t out of the schedule and closes its connection; it is freed later (reap).
  void retire(Target& t);
  static bool probed_alike(const ProbeSpec& a, const ProbeSpec& b);
  SSL_CTX* tls_context(const HealthOptions& o);
  static std::string tls_id(const HealthOptions& o);
  // The modification times and sizes of o's CA, certificate and key files.
  static std::string tls_stamp(const HealthOptions& o);
  evdns_base* dns();

  // Runs what the batched base has ready (prober.cpp: batching).
  void poll_batched() noexcept;
  // Where a probe's connection is watched now: the batched base or the control loop's.
  event_base* probe_base() const noexcept { return batched_ ? batched_base_.get() : base_; }
  // A target's probes per 1,000 s (an integer, so that rate_ adds and takes away exactly).
  static uint64_t per_ks(const ProbeSpec& s) noexcept { return 1'000'000 / std::max<uint32_t>(1, s.options.interval_ms); }

  event_base* base_;
  // Where the probes' sockets are watched when the probes are many (at least 1,000 a second):
  // polled every poll_us by poll_ rather than waking the thread for each reply. Declared before the
  // targets: their connections' events go first.
  EventBasePtr batched_base_;
  EventPtr poll_;
  bool batched_ = false;
  uint64_t rate_ = 0;  // every target's per_ks() together
  OnResult on_result_;
  size_t max_in_flight_;
  size_t in_flight_ = 0;
  std::map<std::string, std::unique_ptr<Target>> targets_;
  struct TlsContext {
    SslCtxPtr ctx;
    HealthOptions files;  // the options it was built from (their CA, certificate and key files)
    std::string stamp;    // tls_stamp() when it was built
  };
  std::map<std::string, TlsContext> tls_;  // by tls_id()
  std::map<uint32_t, timeval> deadlines_;  // by timeout in ms
  DnsBasePtr dns_;
  std::vector<std::unique_ptr<Fetch>> fetches_;
  std::map<std::string, std::unique_ptr<Fetch>> kept_fetches_;  // idle, by target key
  uint64_t last_target_id_ = 0;
  std::vector<std::unique_ptr<Target>> retired_targets_;
  std::vector<std::unique_ptr<Fetch>> retired_fetches_;
  EventPtr reap_;
  // The timing wheel: slot i holds the targets due at a tick t with t % wheel_slots == i (4 ms ticks
  // of the steady clock); the last tick processed, the tick the timer is armed for.
  static constexpr size_t wheel_slots = 1024;
  std::vector<std::vector<Target*>> wheel_;
  std::vector<Target*> firing_;
  size_t wheel_count_ = 0;
  int64_t wheel_tick_ = 0;
  int64_t armed_tick_ = INT64_MAX;
  EventPtr tick_;
};

}  // namespace dnsd
