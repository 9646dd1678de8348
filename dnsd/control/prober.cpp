// Health probes (see prober.hpp). Each target keeps one connection open between probes (HTTP/1.1
// keep-alive, over TLS too; the connection itself is http_connection.*): a probe is one GET written to
// it and one reply read from it. A failed probe, a reply that ends its connection, or a member that
// closes an idle one closes it, and the next probe connects afresh (a member that restarted, or a
// connection gone stale, is met as a new client would meet it); over https the new connection resumes
// the TLS session of the last good probe, so a reconnect costs an abbreviated handshake, not a full one.
// Due probes come from a timing wheel of 4 ms slots under one libevent timer (libevent's heap of one
// timer per member cost more than the probes' own work at 10,000 members, and the slots batch the
// probes: the thread wakes once for many); deadlines are libevent common timeouts (a queue per timeout
// value). Each target's deadline and connection live as long as the target; a probe that is due
// while the last is still in flight starts when that one ends (one connection per member).
// Targets replaced by set_targets() and finished fetches are freed on the next turn of the loop.
//
// Batching: when the targets add up to 1,000 probes a second or more (batch_rate, kept as a running
// sum), their sockets are watched on a base of the prober's own, run without waiting every poll_us:
// one wake-up and one epoll_wait
// for every reply that came in meanwhile, where the control loop's base woke the thread for nearly
// each one (at 10,000 probes a second, a fifth of an http probe's cost was that wake-up). A reply then
// waits up to poll_us: latencies read that much more, and a deadline first polls. The control
// loop's own work (registrations, transfers, the control endpoint) is never delayed by it. A
// connection moves between the bases when its next probe starts.
#include "prober.hpp"

#include <event2/dns.h>
#include <event2/event.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>
#include <stdexcept>
#include <unordered_set>


namespace dnsd {

namespace {

using Clock = std::chrono::steady_clock;

timeval to_tv(uint32_t ms) { return {long(ms / 1000), long(ms % 1000) * 1000}; }

constexpr size_t max_probe_body = 64 * 1024;  // etcd's /health is tens of bytes
constexpr size_t max_fetch_body = 1 << 20;    // a member list of thousands
constexpr int64_t batch_us = 4000;             // the wheel's slot: probes due in the same 4 ms start together
constexpr uint64_t batch_rate = 1'000'000;     // probes per 1,000 s (1,000 a second) from which replies are batched
constexpr long poll_us = 2000;                 // and polled this often

// A request's first lines, up to the headers that differ: method, path, Host (an IPv6 address in
// brackets) and User-Agent, each ending in CR LF.
std::string request_head(const char* method, const std::string& path, const std::string& host) {
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(method) + " " + path + " HTTP/1.1\r\nHost: " + shown + "\r\nUser-Agent: dnsd-probe\r\n";
}

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
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

// A probed member. It hears its connection's exchanges end (HttpConnection::Owner).
struct Prober::Target final : HttpConnection::Owner {
  Target(Prober& p, ProbeSpec s) : prober(p), spec(std::move(s)), id(++p.last_target_id_), conn(p.base_, *this, max_probe_body) {}
  Prober& prober;
  ProbeSpec spec;
  uint64_t id;  // unique in the prober's life: the key outlives a target set again differently
  HttpConnection conn;
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
  void* handle = nullptr;                      // the result receiver's (OnResult)

  void exchange_ended(const std::string& error) override { prober.probe_ended(*this, error); }
  // A kept connection the member closed as the request went out: the request is sent again once, on
  // a new connection (a GET, as HTTP clients do), not counted against the member.
  void exchange_dropped() override { prober.exchange(conn, *this, request, spec, session); }
  evdns_base* resolver() override { return prober.dns(); }
};

// A request outside the schedule (fetch()). Its connection is kept for the next fetch to the same
// target (kept_fetches_), as a probe's is: drift reads every interval would otherwise cost a TLS
// handshake each (docs/ARCHITECTURE.md, "Drift").
struct Prober::Fetch final : HttpConnection::Owner {
  Fetch(Prober& p, std::string k, uint64_t id) : prober(p), key(std::move(k)), target_id(id), conn(p.base_, *this, max_fetch_body) {}
  Prober& prober;
  std::string key;     // its target's
  uint64_t target_id;  // and which one: a target set again differently is another (Target::id)
  bool keep = true;     // false: its TLS files changed during the fetch, its connection is not kept
  HttpConnection conn;
  EventPtr deadline;
  Fetched done;
  std::string request;

  void exchange_ended(const std::string& error) override { prober.fetch_ended(*this, error); }
  // A kept connection the member closed as the request went out: sent again once, on a new one (the
  // member list is read, never changed, by the POST).
  void exchange_dropped() override { prober.fetch_dropped(*this); }
  evdns_base* resolver() override { return prober.dns(); }
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
  poll_.reset(event_new(
      base_, -1, EV_PERSIST, [](evutil_socket_t, short, void* self) { static_cast<Prober*>(self)->poll_batched(); },
      this));
  if (EventConfigPtr cfg(event_config_new()); cfg && event_config_set_flag(cfg.get(), EVENT_BASE_FLAG_NOLOCK) == 0)
    batched_base_.reset(event_base_new_with_config(cfg.get()));
  if (!reap_ || !tick_ || !poll_ || !batched_base_) throw std::runtime_error("cannot create the probe timer");
  wheel_.resize(wheel_slots);
  wheel_tick_ = steady_us() / batch_us;
}

Prober::~Prober() {
  // Lookups are cancelled while the DNS base is still there.
  for (auto& [key, t] : targets_) t->conn.close();
  for (auto& f : fetches_) f->conn.close();
  for (auto& [key, f] : kept_fetches_) f->conn.close();
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
    evtimer_del(f->deadline.get());
    --in_flight_;
    let_go(std::move(f));
  }
  fetches_.clear();
  for (auto& [key, f] : kept_fetches_) let_go(std::move(f));
  kept_fetches_.clear();
}

void Prober::update_targets(const std::vector<std::string>& removed, std::vector<ProbeSpec> specs) {
  // Contexts whose files changed on disk (a certificate or CA rotated) are built afresh.
  std::vector<std::string> refreshed;
  for (auto it = tls_.begin(); it != tls_.end();)
    if (tls_stamp(it->second.files) != it->second.stamp) {
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
    auto t = std::make_unique<Target>(*this, std::move(s));
    t->deadline.reset(evtimer_new(base_, &Prober::on_deadline, t.get()));
    if (!t->deadline) throw std::runtime_error("cannot create a probe timer");
    t->request = request_head("GET", t->spec.options.path, t->spec.host) + "\r\n";
    Target& ref = *t;
    rate_ += per_ks(ref.spec);
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
        drop_kept_fetch(key);
        for (auto& f : fetches_)
          if (f->key == key) f->keep = false;
      }
  if ((rate_ >= batch_rate) != batched_) {
    batched_ = !batched_;
    const timeval every{0, poll_us};
    if (batched_) event_add(poll_.get(), &every);
    else event_del(poll_.get());
    for (auto& [key, t] : targets_) t->conn.rebase(probe_base());
  }
  reap_later();
}

void Prober::poll_batched() noexcept { event_base_loop(batched_base_.get(), EVLOOP_NONBLOCK); }

size_t Prober::batched_connections() const noexcept {
  // Each open connection keeps its read event there; the poll itself is on the control loop's base.
  return size_t(event_base_get_num_events(batched_base_.get(), EVENT_BASE_COUNT_ADDED));
}

void Prober::retire(Target& t) {
  t.retired = true;
  rate_ -= per_ks(t.spec);
  t.conn.close();
  drop_kept_fetch(t.spec.key);
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
  t.conn.rebase(probe_base());
  exchange(t.conn, t, t.request, t.spec, t.session);
}

void Prober::exchange(HttpConnection& c, HttpConnection::Owner& owner, const std::string& request, const ProbeSpec& s,
                      const std::string& session) {
  SSL_CTX* tls = nullptr;
  if (!c.idle() && s.options.scheme == "https") {
    try {
      tls = tls_context(s.options);
    } catch (const std::exception& e) {
      return owner.exchange_ended(e.what());
    }
  }
  const std::string& name = s.options.server_name.empty() ? s.host : s.options.server_name;
  c.exchange(request, {s.host, s.address, s.port, tls, name, s.options.verify}, session);
}

bool Prober::fetch(const std::string& key, const std::string& path, const std::string& json_body, Fetched done) {
  const auto it = targets_.find(key);
  if (it == targets_.end()) return false;
  const Target& t = *it->second;
  std::unique_ptr<Fetch> f;
  if (const auto kept = kept_fetches_.find(key); kept != kept_fetches_.end()) {
    f = std::move(kept->second);
    kept_fetches_.erase(kept);
  }
  if (!f) {
    f = std::make_unique<Fetch>(*this, key, t.id);
    f->deadline.reset(evtimer_new(base_, &Prober::on_fetch_deadline, f.get()));
    if (!f->deadline) {
      done(0, "", "cannot create a timer");
      return true;
    }
  }
  f->done = std::move(done);
  f->request = request_head("POST", path, t.spec.host) + "Content-Type: application/json\r\nContent-Length: " +
               std::to_string(json_body.size()) + "\r\n\r\n" + json_body;
  evtimer_add(f->deadline.get(), deadline_after(t.spec.options.timeout_ms));
  Fetch& ref = *f;
  fetches_.push_back(std::move(f));
  ++in_flight_;
  exchange(ref.conn, ref, ref.request, t.spec, t.session);
  return true;
}

void Prober::fetch_dropped(Fetch& f) {
  const auto it = targets_.find(f.key);
  if (it == targets_.end() || it->second->id != f.target_id) return fetch_ended(f, "connection closed before a reply");
  exchange(f.conn, f, f.request, it->second->spec, it->second->session);
}

void Prober::fetch_ended(Fetch& f, const std::string& error) {
  const auto it = std::find_if(fetches_.begin(), fetches_.end(), [&](const auto& p) { return p.get() == &f; });
  if (it == fetches_.end()) return;  // never: set_targets() lets fetches go without ending them
  std::unique_ptr<Fetch> owned = std::move(*it);
  fetches_.erase(it);
  if (!f.conn.idle()) f.conn.close();  // a timeout: mid-exchange
  evtimer_del(f.deadline.get());
  --in_flight_;
  // The handler may start another fetch (even to this target) or set the targets again: it runs
  // with its own copy of the callback, while this fetch is in no list.
  const Fetched done = std::move(f.done);
  f.done = nullptr;
  try {
    done(error.empty() ? f.conn.reply().status() : 0, error.empty() ? f.conn.reply().body() : std::string(), error);
  } catch (...) {
    // The fetch's handler logs its own failures; a probe must never take the control thread down.
  }
  f.conn.forget_reply();  // a member list of thousands is not kept with the connection
  // Kept for the next fetch to this target while it is probed as it was; freed otherwise, after the
  // callback that called this has returned (reap).
  const auto t = targets_.find(f.key);
  if (f.conn.idle() && f.keep && t != targets_.end() && t->second->id == f.target_id) {
    std::unique_ptr<Fetch>& slot = kept_fetches_[f.key];
    if (slot) let_go(std::move(slot));  // two at once to one target: one is enough
    slot = std::move(owned);
  } else {
    let_go(std::move(owned));
  }
}

void Prober::drop_kept_fetch(const std::string& key) {
  const auto it = kept_fetches_.find(key);
  if (it == kept_fetches_.end()) return;
  let_go(std::move(it->second));
  kept_fetches_.erase(it);
}

void Prober::let_go(std::unique_ptr<Fetch> f) {
  f->conn.close();
  retired_fetches_.push_back(std::move(f));
  reap_later();
}

void Prober::probe_ended(Target& t, const std::string& error) {
  ProbeResult r;
  if (error.empty()) {
    const Result<void> verdict = check_health_reply(t.conn.reply().status(), t.conn.reply().body());
    r.ok = verdict.ok();
    if (!r.ok) r.error = verdict.error().message;
  } else {
    r.error = error;
  }
  // A failure may leave the stream mid-reply, and a failed member is met afresh: the next probe
  // connects anew (the connection itself closes after a reply that ends it).
  if (!r.ok || t.reconnect) {
    t.reconnect = false;
    t.conn.close();
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
  if (result.ok && t.conn.ssl())
    if (const SSL_SESSION* session = SSL_get0_session(t.conn.ssl());
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
    on_result_(t.spec.key, result, t.handle);  // t stays alive through it, even if it replaces the targets
  } catch (...) {
    // The result handler logs its own failures; a probe must never take the control thread down.
  }
  if (!t.retired && t.pending && !t.busy) start(t);  // the probe that fell due meanwhile
}

void Prober::on_deadline(evutil_socket_t, short, void* arg) noexcept {
  auto* t = static_cast<Target*>(arg);
  t->prober.poll_batched();  // a reply may be waiting there (freed targets wait for the next turn)
  if (!t->busy) return;
  t->prober.probe_ended(*t, t->conn.timeout_reason());
}

void Prober::on_fetch_deadline(evutil_socket_t, short, void* arg) noexcept {
  auto* f = static_cast<Fetch*>(arg);
  f->prober.fetch_ended(*f, "timeout");
}

void Prober::reap_later() {
  const timeval now{0, 0};
  evtimer_add(reap_.get(), &now);
}

std::string Prober::tls_id(const HealthOptions& o) { return o.ca_file + "\n" + o.cert_file + "\n" + o.key_file; }

std::string Prober::tls_stamp(const HealthOptions& o) {
  std::string stamp;
  for (const std::string* file : {&o.ca_file, &o.cert_file, &o.key_file}) {
    struct stat st {};
    if (!file->empty() && ::stat(file->c_str(), &st) == 0)
      stamp += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "." + std::to_string(st.st_size);
    stamp += ";";
  }
  return stamp;
}

SSL_CTX* Prober::tls_context(const HealthOptions& o) {
  const std::string id = tls_id(o);
  if (auto it = tls_.find(id); it != tls_.end()) return it->second.ctx.get();
  const std::string stamp = tls_stamp(o);  // before reading: a file changed meanwhile is read again next time
  return tls_.emplace(id, TlsContext{client_tls_context("health", o.ca_file, o.cert_file, o.key_file), o, stamp})
      .first->second.ctx.get();
}

evdns_base* Prober::dns() {
  if (!dns_) dns_.reset(evdns_base_new(base_, EVDNS_BASE_INITIALIZE_NAMESERVERS));
  return dns_.get();
}

}  // namespace dnsd
