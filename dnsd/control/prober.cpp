// Health probes (see prober.hpp). Each target keeps one connection open between probes (HTTP/1.1
// keep-alive, over TLS too): a probe is one GET on it, and a failed probe retires the connection so
// the next one connects afresh (a member that restarted, or a connection gone stale, is met as a new
// client would meet it). Over https a connection the member closes is retired too (libevent cannot
// reconnect a TLS bufferevent), and a new one resumes the TLS session of the last good probe, so a
// reconnect costs an abbreviated handshake, not a full one.
// Every probe is owned by the prober (probes_, then finished_ until its connection can be freed);
// retired keep-alive connections are freed on the same next turn of the loop.
#include "prober.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <openssl/err.h>

#include <chrono>
#include <random>
#include <stdexcept>

#include "names.hpp"

namespace dnsd {

namespace {

timeval to_tv(uint32_t ms) { return {long(ms / 1000), long(ms % 1000) * 1000}; }

std::string openssl_errors(bufferevent* bev) {
  std::string out;
  for (unsigned long e; bev && (e = bufferevent_get_openssl_error(bev)) != 0;) {
    if (ERR_GET_LIB(e) == 0) continue;  // libevent's own bookkeeping entries, not OpenSSL's reasons
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}

const char* request_error_text(evhttp_request_error e) {
  switch (e) {
    case EVREQ_HTTP_TIMEOUT: return "timeout";
    case EVREQ_HTTP_EOF: return "connection closed before a reply";
    case EVREQ_HTTP_INVALID_HEADER: return "invalid HTTP reply";
    case EVREQ_HTTP_BUFFER_ERROR: return "connection failed";
    case EVREQ_HTTP_REQUEST_CANCEL: return "cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG: return "reply too long";
  }
  return "request failed";
}

}  // namespace

Result<void> check_health_reply(int status, const std::string& body) {
  if (status != 200) return rejected(status == 0 ? "no HTTP reply" : "HTTP status " + std::to_string(status));
  std::string compact;
  for (char c : body)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') compact += c;
  if (compact.find("\"health\":") == std::string::npos) return {};  // /readyz, /livez: the status decides
  if (compact.find("\"health\":\"true\"") != std::string::npos || compact.find("\"health\":true") != std::string::npos)
    return {};
  return rejected("unhealthy: " + body.substr(0, 200));
}

struct Prober::Target {
  Prober* owner;
  ProbeSpec spec;
  EventPtr timer;
  HttpConnectionPtr conn;  // kept open between probes
  bool busy = false;       // a probe is in flight on conn
  bool closed = false;     // https: the member closed conn; the next probe opens a new one
  // https: the session of the last good probe, resumed by the next connection. Kept serialized: the
  // session object itself is marked unresumable by OpenSSL once libevent drops its connection
  // without a TLS shutdown.
  std::string session;
  const SSL_SESSION* session_from = nullptr;  // the object it was serialized from
  ~Target() {
    if (conn) evhttp_connection_set_closecb(conn.get(), nullptr, nullptr);  // it would name this target
  }
};

struct Prober::Probe {
  Prober* owner;
  std::string key;
  uint64_t generation;
  std::chrono::steady_clock::time_point started;
  HttpConnectionPtr conn;         // its own connection (a fetch, or a probe while the target's is busy)
  evhttp_connection* shared = nullptr;  // the target's keep-alive connection instead
  EventPtr deadline;
  std::string error_hint;
  bool done = false;
  Fetched fetched;  // a fetch(), not a probe
};

Prober::Prober(event_base* base, OnResult on_result, size_t max_in_flight)
    : base_(base), on_result_(std::move(on_result)), max_in_flight_(max_in_flight) {
  reap_.reset(evtimer_new(
      base_,
      [](evutil_socket_t, short, void* self) {
        auto* prober = static_cast<Prober*>(self);
        prober->retired_.clear();  // connections first: a probe may still be pending on one
        prober->finished_.clear();
      },
      this));
  if (!reap_) throw std::runtime_error("cannot create the probe timer");
}

Prober::~Prober() {
  reap_.reset();
  for (auto& [raw, probe] : probes_) probe->done = true;  // freeing a connection must not report a result
  retired_.clear();  // connections before the probes pending on them
  targets_.clear();
  probes_.clear();
  finished_.clear();
}

void Prober::set_targets(std::vector<ProbeSpec> specs) {
  for (const ProbeSpec& s : specs)
    if (s.options.scheme == "https") tls_context(s.options);  // fail now, with the file's name
  ++generation_;
  for (auto& [key, t] : targets_)
    if (t->conn) retire(std::move(t->conn));
  targets_.clear();
  for (ProbeSpec& s : specs) {
    auto t = std::make_unique<Target>();
    t->owner = this;
    t->spec = std::move(s);
    t->timer.reset(evtimer_new(base_, &Prober::on_timer, t.get()));
    Target& ref = *t;
    targets_[ref.spec.key] = std::move(t);
    schedule(ref, true);
  }
}

void Prober::schedule(Target& t, bool first) {
  // Jitter spreads the probes of many members over the interval instead of bursting them together.
  static std::mt19937 rng(std::random_device{}());
  const uint32_t interval = t.spec.options.interval_ms;
  const uint32_t delay = first ? uint32_t(rng() % (interval / 4 + 1)) : interval - interval / 10 + uint32_t(rng() % (interval / 5 + 1));
  const timeval tv = to_tv(delay);
  evtimer_add(t.timer.get(), &tv);
}

void Prober::on_timer(evutil_socket_t, short, void* arg) noexcept {
  auto* t = static_cast<Target*>(arg);
  Prober* self = t->owner;
  if (self->probes_.size() >= self->max_in_flight_) {
    const timeval soon{0, 50000};  // bounded concurrency: try again shortly
    evtimer_add(t->timer.get(), &soon);
    return;
  }
  try {
    self->start(*t);
  } catch (const std::exception& e) {
    self->on_result_(t->spec.key, {false, 0, e.what()});
    self->schedule(*t, false);
  }
}

void Prober::start(Target& t) {
  if (t.closed && t.conn && !t.busy) retire(std::move(t.conn));
  t.closed = false;
  Probe* probe = !t.busy ? open_shared(t) : open(t.spec);
  send(probe, t.spec, false, t.spec.options.path, "");
  schedule(t, false);
}

Prober::Probe* Prober::open_shared(Target& t) {
  const ProbeSpec& s = t.spec;
  if (!t.conn) {
    t.conn = connect(s, t.session);
    if (s.options.scheme == "https")
      evhttp_connection_set_closecb(
          t.conn.get(), [](evhttp_connection*, void* target) { static_cast<Target*>(target)->closed = true; }, &t);
    // libevent applies its timeout to an idle connection too (it would close it between probes): the
    // probe's own deadline bounds each probe, and retires the connection when it passes.
    const timeval idle{3600, 0};
    evhttp_connection_set_timeout_tv(t.conn.get(), &idle);
    evhttp_connection_set_retries(t.conn.get(), 0);
  }
  t.busy = true;
  return track(s, nullptr, t.conn.get());
}

void Prober::retire(HttpConnectionPtr conn) noexcept {
  evhttp_connection_set_closecb(conn.get(), nullptr, nullptr);  // its target may be gone when it is freed
  try {
    retired_.push_back(std::move(conn));
  } catch (...) {
    conn.release();  // out of memory: leak it rather than free it under libevent's feet
  }
  const timeval now{0, 0};
  evtimer_add(reap_.get(), &now);
}

bool Prober::fetch(const std::string& key, const std::string& path, const std::string& json_body, Fetched done) {
  const auto it = targets_.find(key);
  if (it == targets_.end()) return false;
  Probe* p = nullptr;
  try {
    p = open(it->second->spec);
  } catch (const std::exception& e) {
    done(0, "", e.what());
    return true;
  }
  p->fetched = std::move(done);
  send(p, it->second->spec, true, path, json_body);
  return true;
}

Prober::Probe* Prober::open(const ProbeSpec& s) {
  HttpConnectionPtr conn = connect(s, "");
  const timeval timeout = to_tv(s.options.timeout_ms);
  evhttp_connection_set_timeout_tv(conn.get(), &timeout);
  evhttp_connection_set_retries(conn.get(), 0);
  return track(s, std::move(conn), nullptr);
}

HttpConnectionPtr Prober::connect(const ProbeSpec& s, const std::string& session) {
  const std::string connect_to = s.address.empty() ? s.host : s.address;
  bufferevent* bev = tls_bufferevent(s, session);
  // The connection owns the bufferevent from here, on failure too (it frees it with itself).
  HttpConnectionPtr conn(evhttp_connection_base_bufferevent_new(base_, is_ip_address(connect_to) ? nullptr : dns(), bev,
                                                                connect_to.c_str(), s.port));
  if (!conn) throw std::runtime_error("cannot create an HTTP connection");
  return conn;
}

Prober::Probe* Prober::track(const ProbeSpec& s, HttpConnectionPtr own, evhttp_connection* shared) {
  auto p = std::make_unique<Probe>();
  p->owner = this;
  p->key = s.key;
  p->generation = generation_;
  p->started = std::chrono::steady_clock::now();
  p->conn = std::move(own);
  p->shared = shared;
  Probe* probe = p.get();
  probes_.emplace(probe, std::move(p));
  const timeval timeout = to_tv(s.options.timeout_ms);
  probe->deadline.reset(evtimer_new(base_, &Prober::on_deadline, probe));
  if (probe->deadline) evtimer_add(probe->deadline.get(), &timeout);
  return probe;
}

bufferevent* Prober::tls_bufferevent(const ProbeSpec& s, const std::string& session) {
  if (s.options.scheme != "https") return nullptr;
  SslPtr ssl(SSL_new(tls_context(s.options)));
  if (!ssl) throw std::runtime_error("cannot create a TLS session");
  const std::string name = s.options.server_name.empty() ? s.host : s.options.server_name;
  if (!is_ip_address(name)) SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  // The member's certificate must be valid for its host name (or the configured server_name).
  if (s.options.verify) verify_peer_name(ssl.get(), name);
  if (!session.empty()) {  // the server decides whether it resumes
    const auto* der = reinterpret_cast<const unsigned char*>(session.data());
    if (const SslSessionPtr resume{d2i_SSL_SESSION(nullptr, &der, long(session.size()))}) SSL_set_session(ssl.get(), resume.get());
  }
  // From here libevent owns the session, on failure too (BEV_OPT_CLOSE_ON_FREE).
  bufferevent* bev = bufferevent_openssl_socket_new(base_, -1, ssl.release(), BUFFEREVENT_SSL_CONNECTING,
                                                    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!bev) throw std::runtime_error("cannot create a TLS connection");
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  return bev;
}

void Prober::send(Probe* probe, const ProbeSpec& s, bool post, const std::string& path, const std::string& body) {
  evhttp_request* req = evhttp_request_new(&Prober::on_response, probe);
  evhttp_request_set_error_cb(req, [](evhttp_request_error e, void* arg) {
    static_cast<Probe*>(arg)->error_hint = request_error_text(e);
  });
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  const std::string host_header = s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host;
  evhttp_add_header(headers, "Host", host_header.c_str());
  if (!probe->shared) evhttp_add_header(headers, "Connection", "close");
  evhttp_add_header(headers, "User-Agent", "dnsd-probe");
  if (post) {
    evhttp_add_header(headers, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), body.data(), body.size());
  }
  evhttp_connection* conn = probe->shared ? probe->shared : probe->conn.get();
  if (evhttp_make_request(conn, req, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, path.c_str()) != 0)
    finish(probe, {false, 0, "cannot send the request"});
}

void Prober::on_response(evhttp_request* req, void* arg) noexcept {
  auto* p = static_cast<Probe*>(arg);
  if (p->done) return;
  ProbeResult r;
  const int status = req ? evhttp_request_get_response_code(req) : 0;
  std::string body;
  if (req) {
    evbuffer* in = evhttp_request_get_input_buffer(req);
    body.resize(std::min<size_t>(evbuffer_get_length(in), p->fetched ? 1 << 20 : 4096));
    evbuffer_copyout(in, body.data(), body.size());
  }
  if (p->fetched) {
    const std::string tls = status == 0 ? openssl_errors(evhttp_connection_get_bufferevent(p->conn.get())) : "";
    const std::string error = status != 0 ? "" : !tls.empty() ? "TLS: " + tls : !p->error_hint.empty() ? p->error_hint : "connection failed";
    p->owner->finish(p, {status == 200, 0, error}, status, body);
    return;
  }
  const Result<void> verdict = check_health_reply(status, body);
  r.ok = verdict.ok();
  if (!r.ok) r.error = verdict.error().message;
  if (!r.ok && status == 0) {
    // OpenSSL's reason (a certificate that does not verify) is on the connection's bufferevent.
    evhttp_connection* conn = p->conn ? p->conn.get() : p->shared;
    const std::string tls = conn ? openssl_errors(evhttp_connection_get_bufferevent(conn)) : "";
    r.error = !tls.empty() ? "TLS: " + tls : !p->error_hint.empty() ? p->error_hint : "connection failed";
  }
  p->owner->finish(p, r);
}

void Prober::on_deadline(evutil_socket_t, short, void* arg) noexcept {
  auto* p = static_cast<Probe*>(arg);
  if (!p->done) p->owner->finish(p, {false, 0, "timeout"});
}

void Prober::finish(Probe* p, ProbeResult result, int status, const std::string& body) noexcept {
  p->done = true;
  result.latency_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - p->started).count();
  if (p->deadline) evtimer_del(p->deadline.get());
  // The connection is freed on the next turn of the loop, outside libevent's callback that called us.
  if (auto it = probes_.find(p); it != probes_.end()) {
    try {
      finished_.push_back(std::move(it->second));
    } catch (...) {
      it->second.release();  // out of memory: leak this probe rather than free it under libevent's feet
    }
    probes_.erase(it);
    const timeval now{0, 0};
    evtimer_add(reap_.get(), &now);
  }
  if (p->generation != generation_ || !targets_.count(p->key)) return;  // target removed meanwhile
  if (p->shared) {
    Target& t = *targets_[p->key];
    t.busy = false;
    // A failure may leave the request pending or the stream mid-reply: the next probe connects afresh.
    if (!result.ok && t.conn.get() == p->shared) retire(std::move(t.conn));
    // A good probe's TLS session (with TLS 1.3, the last ticket the member sent) is what the next
    // connection resumes.
    if (result.ok && t.conn.get() == p->shared)
      if (SSL* ssl = bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(p->shared)))
        if (const SSL_SESSION* session = SSL_get0_session(ssl); session && session != t.session_from &&
                                                                 SSL_SESSION_is_resumable(session)) {
          const int size = i2d_SSL_SESSION(const_cast<SSL_SESSION*>(session), nullptr);
          if (size > 0) {
            t.session.resize(size_t(size));
            auto* out = reinterpret_cast<unsigned char*>(t.session.data());
            i2d_SSL_SESSION(const_cast<SSL_SESSION*>(session), &out);
            t.session_from = session;
          }
        }
  }
  try {
    if (p->fetched) p->fetched(status, body, result.error);
    else on_result_(p->key, result);
  } catch (...) {
    // The result handler logs its own failures; a probe must never take the control thread down.
  }
}

SSL_CTX* Prober::tls_context(const HealthOptions& o) {
  const std::string id = o.ca_file + "\n" + o.cert_file + "\n" + o.key_file;
  if (auto it = tls_.find(id); it != tls_.end()) return it->second.get();
  return tls_.emplace(id, client_tls_context("health", o.ca_file, o.cert_file, o.key_file)).first->second.get();
}

evdns_base* Prober::dns() {
  if (!dns_) dns_.reset(evdns_base_new(base_, EVDNS_BASE_INITIALIZE_NAMESERVERS));
  return dns_.get();
}

}  // namespace dnsd
