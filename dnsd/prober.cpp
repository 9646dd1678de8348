// Health probes (see prober.hpp). One HTTP/1.1 GET per probe on a fresh connection ("Connection:
// close"), so a probe tests exactly what a new client would meet: connect, TLS, and /health.
#include "prober.hpp"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <random>
#include <set>
#include <stdexcept>

namespace dnsd {

namespace {

bool is_numeric(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

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

bool health_body_ok(int status, const std::string& body, std::string& error) {
  if (status != 200) {
    error = status == 0 ? "no HTTP reply" : "HTTP status " + std::to_string(status);
    return false;
  }
  std::string compact;
  for (char c : body)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') compact += c;
  if (compact.find("\"health\":") == std::string::npos) return true;  // /readyz, /livez: the status decides
  if (compact.find("\"health\":\"true\"") != std::string::npos || compact.find("\"health\":true") != std::string::npos)
    return true;
  error = "unhealthy: " + body.substr(0, 200);
  return false;
}

struct Prober::Target {
  Prober* owner;
  ProbeSpec spec;
  EventPtr timer;
};

struct Prober::Probe {
  Prober* owner;
  std::string key;
  uint64_t generation;
  evhttp_connection* conn = nullptr;
  EventPtr deadline;
  std::chrono::steady_clock::time_point started;
  std::string error_hint;
  bool done = false;
};

namespace {
std::set<void*> s_live_probes;  // probes whose connection is not freed yet (control thread only)

void free_probe_later(event_base* base, void* probe, void (*fn)(evutil_socket_t, short, void*)) {
  const timeval zero{0, 0};
  event_base_once(base, -1, EV_TIMEOUT, fn, probe, &zero);
}
}  // namespace

Prober::Prober(event_base* base, OnResult on_result, size_t max_in_flight)
    : base_(base), on_result_(std::move(on_result)), max_in_flight_(max_in_flight) {}

Prober::~Prober() {
  targets_.clear();
  for (void* v : std::set<void*>(s_live_probes)) {
    auto* p = static_cast<Probe*>(v);
    if (p->owner != this) continue;
    p->done = true;
    s_live_probes.erase(v);
    if (p->conn) evhttp_connection_free(p->conn);
    delete p;
  }
  if (dns_) evdns_base_free(dns_, 0);
}

void Prober::set_targets(std::vector<ProbeSpec> specs) {
  for (const ProbeSpec& s : specs)
    if (s.options.scheme == "https") tls_context(s.options);  // fail now, with the file's name
  ++generation_;
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
  if (self->in_flight_ >= self->max_in_flight_) {
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
  const ProbeSpec& s = t.spec;
  auto* p = new Probe();
  p->owner = this;
  p->key = s.key;
  p->generation = generation_;
  p->started = std::chrono::steady_clock::now();
  const std::string connect_to = s.address.empty() ? s.host : s.address;
  bufferevent* bev = nullptr;
  if (s.options.scheme == "https") {
    SSL* ssl = SSL_new(tls_context(s.options));
    if (!ssl) {
      delete p;
      throw std::runtime_error("cannot create a TLS session");
    }
    const std::string name = s.options.server_name.empty() ? s.host : s.options.server_name;
    if (!is_numeric(name)) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (s.options.verify) {
      // The member's certificate must be valid for its host name (or the configured server_name).
      if (is_numeric(name)) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
      else SSL_set1_host(ssl, name.c_str());
      SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    }
    bev = bufferevent_openssl_socket_new(base_, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
      SSL_free(ssl);
      delete p;
      throw std::runtime_error("cannot create a TLS connection");
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  }
  p->conn = evhttp_connection_base_bufferevent_new(base_, is_numeric(connect_to) ? nullptr : dns(), bev,
                                                   connect_to.c_str(), s.port);
  if (!p->conn) {
    if (bev) bufferevent_free(bev);
    delete p;
    throw std::runtime_error("cannot create an HTTP connection");
  }
  s_live_probes.insert(p);
  ++in_flight_;
  const timeval timeout = to_tv(s.options.timeout_ms);
  evhttp_connection_set_timeout_tv(p->conn, &timeout);
  evhttp_connection_set_retries(p->conn, 0);
  p->deadline.reset(evtimer_new(base_, &Prober::on_deadline, p));
  evtimer_add(p->deadline.get(), &timeout);

  evhttp_request* req = evhttp_request_new(&Prober::on_response, p);
  evhttp_request_set_error_cb(req, [](evhttp_request_error e, void* arg) {
    static_cast<Probe*>(arg)->error_hint = request_error_text(e);
  });
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  const std::string host_header = s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host;
  evhttp_add_header(headers, "Host", host_header.c_str());
  evhttp_add_header(headers, "Connection", "close");
  evhttp_add_header(headers, "User-Agent", "dnsd-probe");
  if (evhttp_make_request(p->conn, req, EVHTTP_REQ_GET, s.options.path.c_str()) != 0)
    finish(p, {false, 0, "cannot send the request"});
  schedule(t, false);
}

void Prober::on_response(evhttp_request* req, void* arg) noexcept {
  auto* p = static_cast<Probe*>(arg);
  if (p->done) return;
  ProbeResult r;
  const int status = req ? evhttp_request_get_response_code(req) : 0;
  std::string body;
  if (req) {
    evbuffer* in = evhttp_request_get_input_buffer(req);
    body.resize(std::min<size_t>(evbuffer_get_length(in), 4096));
    evbuffer_copyout(in, body.data(), body.size());
  }
  r.ok = health_body_ok(status, body, r.error);
  if (!r.ok && status == 0) {
    const std::string tls = openssl_errors(evhttp_connection_get_bufferevent(p->conn));
    r.error = !tls.empty() ? "TLS: " + tls : !p->error_hint.empty() ? p->error_hint : "connection failed";
  }
  p->owner->finish(p, r);
}

void Prober::on_deadline(evutil_socket_t, short, void* arg) noexcept {
  auto* p = static_cast<Probe*>(arg);
  if (!p->done) p->owner->finish(p, {false, 0, "timeout"});
}

void Prober::finish(Probe* p, ProbeResult result) noexcept {
  p->done = true;
  --in_flight_;
  result.latency_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - p->started).count();
  if (p->deadline) evtimer_del(p->deadline.get());
  // The connection is freed outside libevent's callback that called us.
  free_probe_later(base_, p, [](evutil_socket_t, short, void* arg) {
    auto* probe = static_cast<Probe*>(arg);
    if (!s_live_probes.erase(probe)) return;  // already freed with its prober
    evhttp_connection_free(probe->conn);
    delete probe;
  });
  if (p->generation != generation_ || !targets_.count(p->key)) return;  // target removed meanwhile
  try {
    on_result_(p->key, result);
  } catch (...) {
    // The result handler logs its own failures; a probe must never take the control thread down.
  }
}

SSL_CTX* Prober::tls_context(const HealthOptions& o) {
  const std::string id = o.ca_file + "\n" + o.cert_file + "\n" + o.key_file + "\n" + (o.verify ? "v" : "n");
  if (auto it = tls_.find(id); it != tls_.end()) return it->second.get();
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) throw std::runtime_error("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) != 1
                        : SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error("health: cannot load CA file '" + o.ca_file + "'");
  if (!o.cert_file.empty() && SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1)
    throw std::runtime_error("health: cannot load certificate '" + o.cert_file + "'");
  if (!o.key_file.empty() && (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
                              SSL_CTX_check_private_key(ctx.get()) != 1))
    throw std::runtime_error("health: cannot load key '" + o.key_file + "' (or it does not match the certificate)");
  SSL_CTX* raw = ctx.get();
  tls_.emplace(id, std::move(ctx));
  return raw;
}

evdns_base* Prober::dns() {
  if (!dns_) dns_ = evdns_base_new(base_, EVDNS_BASE_INITIALIZE_NAMESERVERS);
  return dns_;
}

}  // namespace dnsd
