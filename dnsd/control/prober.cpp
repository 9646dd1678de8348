// Health probes (see prober.hpp). Each target keeps one connection open between probes (HTTP/1.1
// keep-alive, over TLS too): a probe is one GET written to it and one reply read from it, both straight
// on the non-blocking socket (send/recv, or SSL_write/SSL_read on it), parsed by HttpReplyParser. The
// socket's read event stays armed for the connection's life; a write event is armed only while a write
// or a TLS step waits for room. A failed probe, a reply that ends its connection, or a member that
// closes an idle one closes it, and the next probe connects afresh (a member that restarted, or a
// connection gone stale, is met as a new client would meet it); over https the new connection resumes
// the TLS session of the last good probe, so a reconnect costs an abbreviated handshake, not a full one.
// Due probes come from a timing wheel of 4 ms slots under one libevent timer (libevent's heap of one
// timer per member cost more than the probes' own work at 10,000 members, and the slots batch the
// probes: the thread wakes once for many); deadlines are libevent common timeouts (a queue per timeout
// value). Each target's deadline and socket events live as long as the target; a probe that is due
// while the last is still in flight starts when that one ends (one connection per member).
// Targets replaced by set_targets() and finished fetches are freed on the next turn of the loop.
#include "prober.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <unordered_set>

#include "http_reply.hpp"
#include "names.hpp"

namespace dnsd {

namespace {

using Clock = std::chrono::steady_clock;

timeval to_tv(uint32_t ms) { return {long(ms / 1000), long(ms % 1000) * 1000}; }

constexpr size_t max_probe_body = 64 * 1024;  // etcd's /health is tens of bytes
constexpr size_t max_fetch_body = 1 << 20;    // a member list of thousands
constexpr int64_t batch_us = 4000;             // the wheel's slot: probes due in the same 4 ms start together

// A request's first lines, up to the headers that differ: method, path, Host (an IPv6 address in
// brackets) and User-Agent, each ending in CR LF.
std::string request_head(const char* method, const std::string& path, const std::string& host) {
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(method) + " " + path + " HTTP/1.1\r\nHost: " + shown + "\r\nUser-Agent: dnsd-probe\r\n";
}

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

// OpenSSL's reasons for the last failed call on `ssl` (the error queue, then the certificate check's
// verdict), or the system's when the queue is empty.
std::string tls_error(SSL* ssl, int ret, int err) {
  std::string out;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  if (const long verify = SSL_get_verify_result(ssl); verify != X509_V_OK && out.find("verify failed") != std::string::npos)
    out += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  if (out.empty()) out = ret == 0 || err == 0 ? "connection closed" : std::strerror(err);
  return "TLS: " + out;
}

}  // namespace

Result<void> check_health_reply(int status, const std::string& body) {
  if (status != 200) return rejected(status == 0 ? "no HTTP reply" : "HTTP status " + std::to_string(status));
  // The body without whitespace, as far as it decides (etcd's is tens of bytes), on the stack: a
  // probe allocates nothing.
  char kept[512];
  size_t n = 0;
  for (char c : body)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      if (n == sizeof kept) break;
      kept[n++] = c;
    }
  const std::string_view compact(kept, n);
  if (compact.find("\"health\":") == std::string_view::npos) return {};  // /readyz, /livez: the status decides
  if (compact.find("\"health\":\"true\"") != std::string_view::npos || compact.find("\"health\":true") != std::string_view::npos)
    return {};
  return rejected("unhealthy: " + body.substr(0, 200));
}

// One connection and the exchange on it: the request in `out`, the reply in `reply`.
struct Prober::Conn {
  enum class Phase { closed, resolving, connecting, handshake, sending, receiving, idle };
  Prober* owner = nullptr;
  Target* target = nullptr;  // a probe's connection, or
  Fetch* fetch = nullptr;    // a fetch's
  int fd = -1;
  SslPtr ssl;
  SSL_CTX* tls = nullptr;  // https: the context new connections are made in
  std::string server_name;
  bool verify = true;
  uint16_t port = 0;
  EventPtr read_event, write_event;  // assigned to each new socket
  bool writing = false;              // write_event is pending
  Phase phase = Phase::closed;
  evdns_getaddrinfo_request* resolving = nullptr;
  std::string out;
  size_t sent = 0;
  size_t received = 0;  // bytes of this exchange's reply so far
  bool reused = false;  // the exchange runs on a connection kept from an earlier one
  HttpReplyParser reply;
  explicit Conn(size_t max_body) : reply(max_body) {}
  // A probe's kept connection that ended before any byte of the reply: the member closed it as the
  // request went out, and the request may go again on a new one.
  bool dropped_before_reply() const noexcept { return received == 0 && reused && target; }
  ~Conn() { close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  // Closes the socket and the TLS session (and stops a lookup); the connection can be opened again.
  void close() noexcept {
    if (resolving) {
      evdns_getaddrinfo_request* request = resolving;
      resolving = nullptr;
      evdns_getaddrinfo_cancel(request);
    }
    if (read_event) event_del(read_event.get());
    if (write_event) event_del(write_event.get());
    writing = false;
    ssl.reset();
    if (fd >= 0) ::close(fd);
    fd = -1;
    phase = Phase::closed;
  }
};

struct Prober::Target {
  ProbeSpec spec;
  Conn conn{max_probe_body};
  EventPtr deadline;
  int64_t due_tick = 0;  // the wheel's slot time it is due at
  std::string request;     // the GET, built once
  bool busy = false;       // a probe is in flight
  bool pending = false;    // the next probe fell due meanwhile: it starts when this one ends
  bool retired = false;    // set_targets() let it go; freed on the next turn of the loop
  bool reconnect = false;  // its TLS files changed during the probe in flight: close the connection after it
  Clock::time_point started;
  // https: the session of the last good probe, resumed by the next connection. Kept serialized: the
  // session object itself is marked unresumable by OpenSSL once its connection is freed without a
  // TLS shutdown.
  std::string session;
  const SSL_SESSION* session_from = nullptr;  // the object it was serialized from
};

struct Prober::Fetch {
  Conn conn{max_fetch_body};
  EventPtr deadline;
  Fetched done;
};

Prober::Prober(event_base* base, OnResult on_result, size_t max_in_flight)
    : base_(base), on_result_(std::move(on_result)), max_in_flight_(max_in_flight) {
  reap_.reset(evtimer_new(
      base_,
      [](evutil_socket_t, short, void* self) {
        auto* prober = static_cast<Prober*>(self);
        prober->retired_targets_.clear();
        prober->retired_fetches_.clear();
      },
      this));
  tick_.reset(evtimer_new(
      base_, [](evutil_socket_t, short, void* self) { static_cast<Prober*>(self)->on_tick(); }, this));
  if (!reap_ || !tick_) throw std::runtime_error("cannot create the probe timer");
  wheel_.resize(wheel_slots);
  wheel_tick_ = steady_us() / batch_us;
}

Prober::~Prober() {
  // Lookups are cancelled while the DNS base is still there.
  for (auto& [key, t] : targets_) t->conn.close();
  for (auto& f : fetches_) f->conn.close();
  for (auto& t : retired_targets_) t->conn.close();
  for (auto& f : retired_fetches_) f->conn.close();
}

void Prober::set_targets(std::vector<ProbeSpec> specs) {
  std::unordered_set<std::string> keys;
  for (const ProbeSpec& s : specs) keys.insert(s.key);
  std::vector<std::string> removed;
  for (const auto& [key, t] : targets_)
    if (!keys.count(key)) removed.push_back(key);
  update_targets(removed, std::move(specs));
  // Fetches in flight are dropped without a result (the caller starts them again).
  for (auto& f : fetches_) {
    f->conn.close();
    evtimer_del(f->deadline.get());
    --in_flight_;
    retired_fetches_.push_back(std::move(f));
  }
  fetches_.clear();
}

void Prober::update_targets(const std::vector<std::string>& removed, std::vector<ProbeSpec> specs) {
  // Contexts whose files changed on disk (a certificate or CA rotated) are built afresh.
  std::vector<std::string> refreshed;
  for (auto it = tls_.begin(); it != tls_.end();)
    if (tls_stamp(it->first) != it->second.stamp) {
      refreshed.push_back(it->first);
      it = tls_.erase(it);
    } else {
      ++it;
    }
  for (const ProbeSpec& s : specs)
    if (s.options.scheme == "https") tls_context(s.options);  // fail now, with the file's name
  for (const std::string& key : removed)
    if (const auto it = targets_.find(key); it != targets_.end()) {
      retire(*it->second);
      retired_targets_.push_back(std::move(it->second));
      targets_.erase(it);
    }
  // A target probed the same way is kept with its connection, TLS session, schedule and probe in
  // flight: a registration elsewhere costs the members nothing. A changed one starts afresh.
  for (ProbeSpec& s : specs) {
    if (const auto it = targets_.find(s.key); it != targets_.end()) {
      if (probed_alike(it->second->spec, s)) continue;
      retire(*it->second);
      retired_targets_.push_back(std::move(it->second));
      targets_.erase(it);
    }
    auto t = std::make_unique<Target>();
    t->spec = std::move(s);
    t->conn.owner = this;
    t->conn.target = t.get();
    t->deadline.reset(evtimer_new(base_, &Prober::on_deadline, t.get()));
    if (!t->deadline) throw std::runtime_error("cannot create a probe timer");
    t->request = request_head("GET", t->spec.options.path, t->spec.host) + "\r\n";
    Target& ref = *t;
    targets_.emplace(ref.spec.key, std::move(t));
    schedule(ref, true);
  }
  if (!refreshed.empty())
    for (auto& [key, t] : targets_)
      if (t->spec.options.scheme == "https" &&
          std::find(refreshed.begin(), refreshed.end(), tls_id(t->spec.options)) != refreshed.end()) {
        // Verified with the old files: the next probe connects with the new ones, in full (a resumed
        // session would skip the certificate check).
        t->session.clear();
        t->session_from = nullptr;
        if (t->busy) t->reconnect = true;
        else t->conn.close();
      }
  reap_later();
}

void Prober::retire(Target& t) {
  t.retired = true;
  t.conn.close();
  evtimer_del(t.deadline.get());
  if (t.busy) --in_flight_;
  t.busy = false;
  // Out of the wheel; a target in the slot being fired right now is skipped there instead.
  std::vector<Target*>& slot = wheel_[size_t(t.due_tick) % wheel_slots];
  if (const auto it = std::find(slot.begin(), slot.end(), &t); it != slot.end()) {
    slot.erase(it);
    --wheel_count_;
  }
}

bool Prober::probed_alike(const ProbeSpec& a, const ProbeSpec& b) {
  const HealthOptions &x = a.options, &y = b.options;
  return a.host == b.host && a.address == b.address && a.port == b.port && x.scheme == y.scheme && x.path == y.path &&
         x.interval_ms == y.interval_ms && x.timeout_ms == y.timeout_ms && x.ca_file == y.ca_file &&
         x.cert_file == y.cert_file && x.key_file == y.key_file && x.server_name == y.server_name && x.verify == y.verify;
}

void Prober::schedule(Target& t, bool first) {
  // Jitter spreads the probes of many members over the interval instead of bursting them together.
  static std::mt19937 rng(std::random_device{}());
  const uint32_t interval = t.spec.options.interval_ms;
  const uint32_t delay = first ? uint32_t(rng() % (interval / 4 + 1)) : interval - interval / 10 + uint32_t(rng() % (interval / 5 + 1));
  due_in(t, delay);
}

void Prober::due_in(Target& t, uint32_t delay_ms) {
  const int64_t now_us = steady_us();
  // Never a slot already passed: it would wait a whole turn of the wheel.
  t.due_tick = std::max(wheel_tick_ + 1, (now_us + int64_t(delay_ms) * 1000 + batch_us - 1) / batch_us);
  wheel_[size_t(t.due_tick) % wheel_slots].push_back(&t);
  ++wheel_count_;
  if (t.due_tick < armed_tick_) arm_tick(t.due_tick, now_us);
}

void Prober::arm_tick(int64_t tick, int64_t now_us) {
  const int64_t wait = std::max<int64_t>(0, tick * batch_us - now_us);
  const timeval tv{long(wait / 1000000), long(wait % 1000000)};
  evtimer_add(tick_.get(), &tv);
  armed_tick_ = tick;
}

void Prober::on_tick() noexcept {
  armed_tick_ = std::numeric_limits<int64_t>::max();
  const int64_t now = steady_us() / batch_us;
  // Every slot passed since the last turn (a whole turn at most: a slot holds all that fall on it).
  const int64_t from = std::max(wheel_tick_ + 1, now - int64_t(wheel_slots) + 1);
  wheel_tick_ = std::max(wheel_tick_, now);
  for (int64_t tick = from; tick <= now; ++tick) {
    std::vector<Target*>& slot = wheel_[size_t(tick) % wheel_slots];
    if (slot.empty()) continue;
    firing_.clear();
    firing_.swap(slot);  // the slot keeps the other vector's room; starting a probe may add to it
    for (Target* t : firing_) {
      if (t->retired) continue;  // a result handler replaced the targets (retire() counted it out)
      if (t->due_tick > now) {  // due in a later turn of the wheel
        slot.push_back(t);
        continue;
      }
      --wheel_count_;
      fire(*t);
    }
  }
  // The next non-empty slot, unless a probe started meanwhile armed the timer earlier.
  if (wheel_count_ == 0) return;
  const int64_t last = std::min(armed_tick_ - 1, wheel_tick_ + int64_t(wheel_slots));
  for (int64_t tick = wheel_tick_ + 1; tick <= last; ++tick)
    if (!wheel_[size_t(tick) % wheel_slots].empty()) return arm_tick(tick, steady_us());
}

const timeval* Prober::deadline_after(uint32_t ms) {
  // Every probe of a cluster waits the same timeout: libevent keeps such timers in a queue (add and
  // remove in constant time) rather than in its heap. A few distinct values at most; past that, the heap.
  auto it = deadlines_.find(ms);
  if (it == deadlines_.end()) {
    const timeval tv = to_tv(ms);
    const timeval* common = deadlines_.size() < 64 ? event_base_init_common_timeout(base_, &tv) : nullptr;
    it = deadlines_.emplace(ms, common ? *common : tv).first;
  }
  return &it->second;
}

void Prober::fire(Target& t) {
  if (t.busy) {
    t.pending = true;
    return;
  }
  if (in_flight_ >= max_in_flight_) return due_in(t, 50);  // bounded concurrency: try again shortly
  start(t);
}

void Prober::start(Target& t) {
  t.busy = true;
  t.pending = false;
  ++in_flight_;
  t.started = Clock::now();
  evtimer_add(t.deadline.get(), deadline_after(t.spec.options.timeout_ms));
  schedule(t, false);
  Conn& c = t.conn;
  c.out = t.request;
  c.sent = 0;
  c.reply.reset();
  c.received = 0;
  c.reused = c.phase == Conn::Phase::idle;
  if (c.reused) {
    c.phase = Conn::Phase::sending;
    drive(c, EV_WRITE);
  } else {
    open(c, t.spec, t.session);
  }
}

bool Prober::fetch(const std::string& key, const std::string& path, const std::string& json_body, Fetched done) {
  const auto it = targets_.find(key);
  if (it == targets_.end()) return false;
  const ProbeSpec& s = it->second->spec;
  auto f = std::make_unique<Fetch>();
  f->conn.owner = this;
  f->conn.fetch = f.get();
  f->done = std::move(done);
  f->deadline.reset(evtimer_new(base_, &Prober::on_fetch_deadline, f.get()));
  if (!f->deadline) {
    f->done(0, "", "cannot create a timer");
    return true;
  }
  f->conn.out = request_head("POST", path, s.host) + "Content-Type: application/json\r\nContent-Length: " +
                std::to_string(json_body.size()) + "\r\nConnection: close\r\n\r\n" + json_body;
  evtimer_add(f->deadline.get(), deadline_after(s.options.timeout_ms));
  Fetch& ref = *f;
  fetches_.push_back(std::move(f));
  ++in_flight_;
  open(ref.conn, s, "");
  return true;
}

void Prober::open(Conn& c, const ProbeSpec& s, const std::string& session) {
  c.close();
  c.port = s.port;
  c.tls = nullptr;
  if (s.options.scheme == "https") {
    try {
      c.tls = tls_context(s.options);
    } catch (const std::exception& e) {
      ended(c, e.what());
      return;
    }
    c.server_name = s.options.server_name.empty() ? s.host : s.options.server_name;
    c.verify = s.options.verify;
    c.ssl.reset(SSL_new(c.tls));
    if (!c.ssl) {
      ended(c, "cannot create a TLS session");
      return;
    }
    if (!session.empty()) {  // the server decides whether it resumes
      const auto* der = reinterpret_cast<const unsigned char*>(session.data());
      if (const SslSessionPtr resume{d2i_SSL_SESSION(nullptr, &der, long(session.size()))}) SSL_set_session(c.ssl.get(), resume.get());
    }
  }
  const std::string& to = s.address.empty() ? s.host : s.address;
  sockaddr_storage addr{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, to.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(c.port);
    connect_to(c, reinterpret_cast<sockaddr*>(v4), sizeof *v4);
  } else if (inet_pton(AF_INET6, to.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(c.port);
    connect_to(c, reinterpret_cast<sockaddr*>(v6), sizeof *v6);
  } else {
    evutil_addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c.phase = Conn::Phase::resolving;
    // The callback may run before this returns (then there is no request to keep).
    evdns_getaddrinfo_request* request = evdns_getaddrinfo(dns(), to.c_str(), nullptr, &hints, &Prober::on_resolved, &c);
    if (c.phase == Conn::Phase::resolving) c.resolving = request;
  }
}

void Prober::on_resolved(int result, evutil_addrinfo* res, void* arg) noexcept {
  if (result == EVUTIL_EAI_CANCEL) return;  // close() cancelled it: the connection may be gone
  auto* c = static_cast<Conn*>(arg);
  c->resolving = nullptr;
  if (result != 0 || !res) {
    if (res) evutil_freeaddrinfo(res);
    c->owner->ended(*c, std::string("cannot resolve the member's host: ") + evutil_gai_strerror(result));
    return;
  }
  sockaddr_storage addr{};
  const socklen_t len = socklen_t(std::min<size_t>(res->ai_addrlen, sizeof addr));
  std::memcpy(&addr, res->ai_addr, len);
  evutil_freeaddrinfo(res);
  if (addr.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(c->port);
  else reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(c->port);
  c->owner->connect_to(*c, reinterpret_cast<sockaddr*>(&addr), len);
}

void Prober::connect_to(Conn& c, const sockaddr* addr, socklen_t len) {
  c.fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    ended(c, std::string("socket: ") + std::strerror(errno));
    return;
  }
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!c.read_event) {
    c.read_event.reset(event_new(base_, c.fd, EV_READ | EV_PERSIST, &Prober::on_io, &c));
    c.write_event.reset(event_new(base_, c.fd, EV_WRITE, &Prober::on_io, &c));
  } else {
    event_assign(c.read_event.get(), base_, c.fd, EV_READ | EV_PERSIST, &Prober::on_io, &c);
    event_assign(c.write_event.get(), base_, c.fd, EV_WRITE, &Prober::on_io, &c);
  }
  if (!c.read_event || !c.write_event || event_add(c.read_event.get(), nullptr) != 0) {
    ended(c, "cannot watch the connection");
    return;
  }
  if (::connect(c.fd, addr, len) == 0) {
    connected(c);
  } else if (errno == EINPROGRESS) {
    c.phase = Conn::Phase::connecting;
    want_write(c, true);
  } else {
    ended(c, std::string("connect: ") + std::strerror(errno));
  }
}

void Prober::connected(Conn& c) {
  if (!c.tls) {
    c.phase = Conn::Phase::sending;
    drive(c, EV_WRITE);
    return;
  }
  SSL* ssl = c.ssl.get();
  if (!is_ip_address(c.server_name)) SSL_set_tlsext_host_name(ssl, c.server_name.c_str());
  // The member's certificate must be valid for its host name (or the configured server_name).
  if (c.verify) verify_peer_name(ssl, c.server_name);
  SSL_set_read_ahead(ssl, 1);  // a record in one read, not its header and then its body
  // Between probes a kept connection holds no record buffers (32 KiB each otherwise: 10,000 members
  // would keep 330 MB).
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_fd(ssl, c.fd);
  SSL_set_connect_state(ssl);
  c.phase = Conn::Phase::handshake;
  drive(c, EV_WRITE);
}

void Prober::on_io(evutil_socket_t, short what, void* arg) noexcept {
  auto* c = static_cast<Conn*>(arg);
  if (what & EV_WRITE) c->writing = false;
  c->owner->drive(*c, what);
}

void Prober::want_write(Conn& c, bool on) {
  if (on == c.writing) return;
  if (on) event_add(c.write_event.get(), nullptr);
  else event_del(c.write_event.get());
  c.writing = on;
}

void Prober::drive(Conn& c, short what) {
  SSL* ssl = c.ssl.get();
  for (;;) {
    switch (c.phase) {
      case Conn::Phase::closed:
      case Conn::Phase::resolving: return;
      case Conn::Phase::connecting: {
        if (!(what & EV_WRITE)) return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err == EINPROGRESS) return;
        if (err != 0) return ended(c, std::string("connect: ") + std::strerror(err));
        connected(c);
        return;
      }
      case Conn::Phase::handshake: {
        ERR_clear_error();
        const int r = SSL_do_handshake(ssl);
        const int err = errno;
        if (r == 1) {
          c.phase = Conn::Phase::sending;
          break;
        }
        const int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return want_write(c, e == SSL_ERROR_WANT_WRITE);
        return ended(c, tls_error(ssl, r, err));
      }
      case Conn::Phase::sending: {
        const char* data = c.out.data() + c.sent;
        const size_t size = c.out.size() - c.sent;
        if (ssl) {
          ERR_clear_error();
          const int r = SSL_write(ssl, data, int(size));  // all of it, or retried with the same bytes
          const int err = errno;
          if (r > 0) {
            c.sent += size_t(r);
          } else {
            const int e = SSL_get_error(ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return want_write(c, e == SSL_ERROR_WANT_WRITE);
            return ended(c, tls_error(ssl, r, err));
          }
        } else {
          const ssize_t n = ::send(c.fd, data, size, MSG_NOSIGNAL);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return want_write(c, true);
          if (n < 0) return ended(c, std::string("send: ") + std::strerror(errno));
          c.sent += size_t(n);
        }
        if (c.sent < c.out.size()) return want_write(c, true);
        want_write(c, false);
        c.phase = Conn::Phase::receiving;
        // The reply comes with the read event; TLS may hold bytes already read (with the handshake).
        if (!ssl || !SSL_has_pending(ssl)) return;
        break;
      }
      case Conn::Phase::receiving:
      case Conn::Phase::idle: {
        char buf[16384];
        ssize_t n;
        if (ssl) {
          ERR_clear_error();
          const int r = SSL_read(ssl, buf, sizeof buf);
          const int err = errno;
          n = r;
          if (r <= 0) {
            const int e = SSL_get_error(ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return want_write(c, e == SSL_ERROR_WANT_WRITE);
            if (e != SSL_ERROR_ZERO_RETURN && !(e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && r == 0)) {
              if (c.phase == Conn::Phase::idle) return c.close();
              if (e == SSL_ERROR_SYSCALL && c.dropped_before_reply()) return retry_fresh(c);
              return ended(c, tls_error(ssl, r, err));
            }
            n = 0;  // close_notify, or the connection's end
          }
        } else {
          n = ::recv(c.fd, buf, sizeof buf, 0);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
          if (n < 0) {
            if (c.phase == Conn::Phase::idle) return c.close();
            if (errno == ECONNRESET && c.dropped_before_reply()) return retry_fresh(c);
            return ended(c, std::string("recv: ") + std::strerror(errno));
          }
        }
        // An idle connection that the member closed (or that says what nobody asked) is done with.
        if (c.phase == Conn::Phase::idle) return c.close();
        c.received += size_t(n);
        // A kept connection the member closed as the request went out: the request is sent again once,
        // on a new connection (a GET, as HTTP clients do), not counted against the member.
        if (n == 0 && c.dropped_before_reply()) return retry_fresh(c);
        const HttpReplyParser::State s = n == 0 ? c.reply.end() : c.reply.feed(std::string_view(buf, size_t(n)));
        if (s == HttpReplyParser::State::done) return ended(c, "");
        if (s == HttpReplyParser::State::error) {
          const bool closed = n == 0 && c.reply.error().find("before a reply") != std::string::npos;
          return ended(c, closed ? "connection closed before a reply" : "invalid HTTP reply: " + c.reply.error());
        }
        break;  // more to read: read until the socket has nothing (TLS: until OpenSSL wants more)
      }
    }
  }
}

void Prober::retry_fresh(Conn& c) {
  Target& t = *c.target;
  c.reused = false;
  c.sent = 0;
  c.reply.reset();
  open(c, t.spec, t.session);
}

void Prober::ended(Conn& c, const std::string& error) {
  const int status = error.empty() ? c.reply.status() : 0;
  if (c.fetch) {
    Fetch* f = c.fetch;
    c.close();
    evtimer_del(f->deadline.get());
    --in_flight_;
    for (auto it = fetches_.begin(); it != fetches_.end(); ++it)
      if (it->get() == f) {
        retired_fetches_.push_back(std::move(*it));
        fetches_.erase(it);
        break;
      }
    reap_later();
    try {
      f->done(status, error.empty() ? c.reply.body() : std::string(), error);
    } catch (...) {
      // The fetch's handler logs its own failures; a probe must never take the control thread down.
    }
    return;
  }
  Target& t = *c.target;
  ProbeResult r;
  if (error.empty()) {
    const Result<void> verdict = check_health_reply(status, c.reply.body());
    r.ok = verdict.ok();
    if (!r.ok) r.error = verdict.error().message;
  } else {
    r.error = error;
  }
  // A failure may leave the stream mid-reply, and a failed member is met afresh: the next probe
  // connects anew. So does one whose reply ended its connection.
  if (!r.ok || !c.reply.keep_alive() || t.reconnect) {
    t.reconnect = false;
    c.close();
  } else {
    c.phase = Conn::Phase::idle;
  }
  report(t, std::move(r));
}

void Prober::report(Target& t, ProbeResult result) {
  if (!t.busy) return;
  t.busy = false;
  --in_flight_;
  evtimer_del(t.deadline.get());
  result.latency_s = std::chrono::duration<double>(Clock::now() - t.started).count();
  // A good probe's TLS session (with TLS 1.3, the last ticket the member sent) is what the next
  // connection resumes.
  if (result.ok && t.conn.ssl)
    if (const SSL_SESSION* session = SSL_get0_session(t.conn.ssl.get());
        session && session != t.session_from && SSL_SESSION_is_resumable(session)) {
      const int size = i2d_SSL_SESSION(const_cast<SSL_SESSION*>(session), nullptr);
      if (size > 0) {
        t.session.resize(size_t(size));
        auto* out = reinterpret_cast<unsigned char*>(t.session.data());
        i2d_SSL_SESSION(const_cast<SSL_SESSION*>(session), &out);
        t.session_from = session;
      }
    }
  try {
    on_result_(t.spec.key, result);  // t stays alive through it, even if it replaces the targets
  } catch (...) {
    // The result handler logs its own failures; a probe must never take the control thread down.
  }
  if (!t.retired && t.pending && !t.busy) start(t);  // the probe that fell due meanwhile
}

void Prober::on_deadline(evutil_socket_t, short, void* arg) noexcept {
  auto* t = static_cast<Target*>(arg);
  if (!t->busy) return;
  Conn& c = t->conn;
  const char* when = c.phase == Conn::Phase::resolving    ? "timeout (resolving the host)"
                     : c.phase == Conn::Phase::connecting ? "timeout (connecting)"
                     : c.phase == Conn::Phase::handshake  ? "timeout (TLS handshake)"
                                                          : "timeout (no reply)";
  c.owner->ended(c, when);
}

void Prober::on_fetch_deadline(evutil_socket_t, short, void* arg) noexcept {
  auto* f = static_cast<Fetch*>(arg);
  f->conn.owner->ended(f->conn, "timeout");
}

void Prober::reap_later() {
  const timeval now{0, 0};
  evtimer_add(reap_.get(), &now);
}

std::string Prober::tls_id(const HealthOptions& o) { return o.ca_file + "\n" + o.cert_file + "\n" + o.key_file; }

std::string Prober::tls_stamp(const std::string& id) {
  std::string stamp;
  size_t from = 0;
  for (int i = 0; i < 3; ++i) {
    const size_t nl = id.find('\n', from);
    const std::string file = id.substr(from, nl == std::string::npos ? std::string::npos : nl - from);
    from = nl + 1;
    struct stat st {};
    if (!file.empty() && ::stat(file.c_str(), &st) == 0)
      stamp += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "." + std::to_string(st.st_size);
    stamp += ";";
  }
  return stamp;
}

SSL_CTX* Prober::tls_context(const HealthOptions& o) {
  const std::string id = tls_id(o);
  if (auto it = tls_.find(id); it != tls_.end()) return it->second.ctx.get();
  const std::string stamp = tls_stamp(id);  // before reading: a file changed meanwhile is read again next time
  return tls_.emplace(id, TlsContext{client_tls_context("health", o.ca_file, o.cert_file, o.key_file), stamp})
      .first->second.ctx.get();
}

evdns_base* Prober::dns() {
  if (!dns_) dns_.reset(evdns_base_new(base_, EVDNS_BASE_INITIALIZE_NAMESERVERS));
  return dns_.get();
}

}  // namespace dnsd
