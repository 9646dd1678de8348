// HTTP/HTTPS health probes of the members' client URLs (etcd's /health), asynchronously on the control
// thread's event base: libevent's HTTP client (over bufferevent_openssl for https), with jitter, a
// timeout and a bound on the probes in flight; one keep-alive connection per member, reopened after a
// failed probe (over https, resuming the TLS session). Never touches a worker. Control plane: control
// thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
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
// (etcd's /health; /readyz and /livez answer "ok" with 200 and pass on the status alone). The error
// says why not, for the log and /v1/zones.
Result<void> check_health_reply(int status, const std::string& body);

class Prober {
 public:
  using OnResult = std::function<void(const std::string& key, const ProbeResult& result)>;

  Prober(event_base* base, OnResult on_result, size_t max_in_flight = 256);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Replaces the probed set. Each target's first probe starts within one jittered interval; results of
  // probes still in flight for removed targets are dropped. Throws std::runtime_error when a TLS
  // context cannot be built (unreadable CA, certificate or key), naming the file.
  void set_targets(std::vector<ProbeSpec> targets);
  // One request outside the probe schedule (etcd's member list, for drift): a POST of `json_body` to
  // target `key`'s address and port, with its scheme, TLS options and timeout. `done` gets the HTTP
  // status (0: no reply), the body (up to 1 MiB) and why it failed; it is called once, and never after
  // set_targets() replaced the target or the prober is gone. False when `key` is not a target.
  using Fetched = std::function<void(int status, const std::string& body, const std::string& error)>;
  bool fetch(const std::string& key, const std::string& path, const std::string& json_body, Fetched done);

  size_t in_flight() const noexcept { return probes_.size(); }
  size_t targets() const noexcept { return targets_.size(); }

 private:
  struct Target;
  struct Probe;
  static void on_timer(evutil_socket_t, short, void* arg) noexcept;
  static void on_response(evhttp_request* req, void* arg) noexcept;
  static void on_deadline(evutil_socket_t, short, void* arg) noexcept;
  void start(Target& t);
  // A probe on t's keep-alive connection (opened when there is none).
  Probe* open_shared(Target& t);
  // Frees a keep-alive connection on the next turn of the loop (never inside its own callback).
  void retire(HttpConnectionPtr conn) noexcept;
  // A connection for one request to `s`, owned by probes_; throws when it cannot be made.
  Probe* open(const ProbeSpec& s);
  // A new connection to `s` (https: resuming `session`, DER, when there is one); throws when it
  // cannot be made.
  HttpConnectionPtr connect(const ProbeSpec& s, const std::string& session);
  // A probe of `s` on its own connection or on `shared`, owned by probes_, its deadline armed.
  Probe* track(const ProbeSpec& s, HttpConnectionPtr own, evhttp_connection* shared);
  // https: the TLS bufferevent for a new connection to `s`, resuming `session` (DER) when there is
  // one; http: null (libevent makes its own). Throws when it cannot be made.
  bufferevent* tls_bufferevent(const ProbeSpec& s, const std::string& session);
  void send(Probe* p, const ProbeSpec& s, bool post, const std::string& path, const std::string& body);
  void finish(Probe* p, ProbeResult result, int status = 0, const std::string& body = {}) noexcept;
  void schedule(Target& t, bool first);
  SSL_CTX* tls_context(const HealthOptions& o);
  evdns_base* dns();

  event_base* base_;
  OnResult on_result_;
  size_t max_in_flight_;
  uint64_t generation_ = 0;
  std::map<std::string, std::unique_ptr<Target>> targets_;
  std::map<std::string, SslCtxPtr> tls_;
  DnsBasePtr dns_;
  // Probes in flight, and finished ones whose connection is freed on the next turn of the loop (never
  // inside the libevent callback that finished them). Declared last: freed first.
  std::map<const Probe*, std::unique_ptr<Probe>> probes_;
  std::vector<std::unique_ptr<Probe>> finished_;
  std::vector<HttpConnectionPtr> retired_;
  EventPtr reap_;
};

}  // namespace dnsd
