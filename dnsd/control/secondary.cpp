// Secondary zones (see secondary.hpp).
#include "secondary.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <algorithm>

#include "endpoint.hpp"
#include "json.hpp"
#include "ldns.hpp"
#include "log.hpp"
#include "names.hpp"
#include "notify.hpp"
#include "packer.hpp"
#include "transfer_in.hpp"
#include "zone_copy.hpp"

namespace dnsd {

namespace {

// A query to a primary: no RD; for IXFR the SOA held goes in the authority section (RFC 1995 §3).
std::vector<uint8_t> request(const std::string& zone, ldns_rr_type type, uint16_t id, const ldns_rr* soa) {
  ldns_rdf* name = ldns_dname_new_frm_str(zone.c_str());
  if (!name) throw std::runtime_error("bad zone name " + zone);
  const PktPtr pkt(ldns_pkt_query_new(name, type, LDNS_RR_CLASS_IN, 0));
  ldns_pkt_set_id(pkt.get(), id);
  if (soa) ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_AUTHORITY, ldns_rr_clone(soa));
  uint8_t* wire = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK) throw std::runtime_error("cannot build a query");
  const std::unique_ptr<uint8_t, decltype(&std::free)> owned(wire, &std::free);
  return std::vector<uint8_t>(wire, wire + size);
}

const char* kind_name(TransferReader::Kind kind) {
  switch (kind) {
    case TransferReader::Kind::soa: return "soa";
    case TransferReader::Kind::axfr: return "axfr";
    case TransferReader::Kind::ixfr: return "ixfr";
  }
  return "soa";
}

}  // namespace

// One check of one zone: a TCP connection to a primary (the next one when it fails) carrying the SOA
// query, then the transfer on the same connection (RFC 7766 §6.2.1: queries may be pipelined).
class SecondaryService::Check {
 public:
  Check(SecondaryService& owner, std::string key, std::string zone, std::vector<RemoteServer> primaries,
        std::shared_ptr<const ZoneCopy> held)
      : owner_(owner), key_(std::move(key)), zone_(std::move(zone)), primaries_(std::move(primaries)), held_(std::move(held)) {
    deadline_.reset(evtimer_new(owner_.base_, [](evutil_socket_t, short, void* self) {
      guarded(self, [](Check& c) { c.give_up("the check took longer than " + std::to_string(check_deadline.count()) + " s"); });
    }, this));
    const timeval tv{check_deadline.count(), 0};
    if (!deadline_ || evtimer_add(deadline_.get(), &tv) != 0) throw std::runtime_error("cannot arm a timer");
  }

  void begin() { try_primary(0); }

 private:
  // Runs a callback of libevent's: an exception (no memory, no socket) ends the check, never
  // reaches C code.
  template <typename F>
  static void guarded(void* self, F f) {
    Check& c = *static_cast<Check*>(self);
    try {
      f(c);
    } catch (const std::exception& e) {
      c.give_up(e.what());
    }
  }

  void try_primary(size_t i) {
    for (; i < primaries_.size(); ++i) {
      const RemoteServer& p = primaries_[i];
      const std::optional<Endpoint> to = make_endpoint(p.address.address, p.address.port);
      if (!to) continue;
      index_ = i;
      where_ = to->text;
      key_used_.reset();
      if (!p.key.empty()) {
        const TsigKey* k = owner_.zones_.config().find_key(p.key);
        if (!k) {
          errors_ += where_ + ": key " + p.key + " is not configured; ";
          continue;
        }
        key_used_ = *k;
      }
      Fd fd = outgoing_socket(owner_.zones_.config(), to->addr.ss_family, SOCK_STREAM);
      if (!fd) throw std::runtime_error("cannot create a socket");
      bev_.reset(bufferevent_socket_new(owner_.base_, fd.get(), BEV_OPT_CLOSE_ON_FREE));
      if (!bev_) throw std::runtime_error("cannot create a connection");
      fd.release();  // the connection owns it now
      bufferevent_setcb(
          bev_.get(), [](bufferevent*, void* self) { guarded(self, [](Check& c) { c.on_read(); }); }, nullptr,
          [](bufferevent*, short what, void* self) { guarded(self, [what](Check& c) { c.on_event(what); }); }, this);
      const timeval io{io_timeout.count(), 0};
      bufferevent_set_timeouts(bev_.get(), &io, &io);
      bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
      if (bufferevent_socket_connect(bev_.get(), reinterpret_cast<const sockaddr*>(&to->addr), int(to->len)) != 0) {
        errors_ += where_ + ": cannot connect; ";
        continue;
      }
      send(TransferReader::Kind::soa);
      return;
    }
    std::string why = errors_.empty() ? "no usable primary" : errors_.substr(0, errors_.size() - 2);
    end(why);
  }

  void send(TransferReader::Kind kind) {
    kind_ = kind;
    const uint16_t id = random_message_id();
    const ldns_rr* soa = kind == TransferReader::Kind::ixfr && held_ ? held_->rrs.at(0).get() : nullptr;
    const ldns_rr_type type = kind == TransferReader::Kind::soa    ? LDNS_RR_TYPE_SOA
                              : kind == TransferReader::Kind::axfr ? LDNS_RR_TYPE_AXFR
                                                                   : LDNS_RR_TYPE_IXFR;
    std::vector<uint8_t> m = request(zone_, type, id, soa);
    std::optional<TsigReplyCheck> check;
    if (key_used_) check.emplace(*key_used_, tsig_sign_request(m, *key_used_, uint64_t(std::time(nullptr))));
    reader_.emplace(zone_, kind, id, held_ ? held_->serial() : 0, std::move(check));
    const uint8_t len[2] = {uint8_t(m.size() >> 8), uint8_t(m.size())};
    bufferevent_write(bev_.get(), len, 2);
    bufferevent_write(bev_.get(), m.data(), m.size());
  }

  void on_read() {
    evbuffer* in = bufferevent_get_input(bev_.get());
    std::vector<uint8_t> msg;
    while (evbuffer_get_length(in) >= 2) {
      uint8_t len[2];
      evbuffer_copyout(in, len, 2);
      const size_t n = size_t(len[0]) << 8 | len[1];
      if (evbuffer_get_length(in) < 2 + n) return;
      msg.resize(n);
      evbuffer_drain(in, 2);
      evbuffer_remove(in, msg.data(), n);
      const TransferReader::State state = reader_->feed(msg.data(), msg.size(), uint64_t(std::time(nullptr)));
      if (state == TransferReader::State::more) continue;
      if (state == TransferReader::State::failed) return reader_failed();
      return reader_done();  // it may send the next request, or end this check
    }
  }

  void on_event(short what) {
    if (what & BEV_EVENT_CONNECTED) return;
    const char* how = what & BEV_EVENT_TIMEOUT ? "timed out" : what & BEV_EVENT_EOF ? "closed the connection" : "connection failed";
    primary_failed(std::string(how) + " during the " + kind_name(kind_) + " request");
  }

  void reader_failed() {
    // A primary that does not do IXFR, or changes that do not apply to our copy: a whole zone instead.
    if (kind_ == TransferReader::Kind::ixfr && reader_->fall_back_to_axfr()) {
      owner_.count(key_, "ixfr", "error");
      spdlog::info("secondary: {} from {}: IXFR failed ({}), trying AXFR", zone_, where_, reader_->error());
      return send(TransferReader::Kind::axfr);
    }
    if (kind_ != TransferReader::Kind::soa) owner_.count(key_, kind_name(kind_), "error");
    primary_failed(reader_->error());
  }

  void reader_done() {
    const uint64_t bytes = reader_->bytes();
    switch (kind_) {
      case TransferReader::Kind::soa:
        if (held_ && reader_->outcome() == TransferReader::Outcome::up_to_date) return end({});
        return send(held_ ? TransferReader::Kind::ixfr : TransferReader::Kind::axfr);
      case TransferReader::Kind::axfr:
      case TransferReader::Kind::ixfr: break;
    }
    ZoneCopy next;
    std::string type = kind_name(kind_);
    switch (reader_->outcome()) {
      case TransferReader::Outcome::none:
      case TransferReader::Outcome::up_to_date: return end({});
      case TransferReader::Outcome::whole:
        next.rrs = std::move(reader_->records());
        if (kind_ == TransferReader::Kind::ixfr) type = "ixfr-axfr";
        break;
      case TransferReader::Outcome::incremental:
        if (std::string why = apply_changes(*held_, reader_->changes(), next); !why.empty()) {
          owner_.count(key_, "ixfr", "error");
          spdlog::warn("secondary: {} from {}: IXFR does not apply ({}), trying AXFR", zone_, where_, why);
          return send(TransferReader::Kind::axfr);
        }
        break;
    }
    if (std::string why = check_copy(zone_, next.rrs); !why.empty()) {
      owner_.count(key_, type, "refused");
      return primary_failed("the transfer cannot be served: " + why);
    }
    const uint32_t serial = next.serial();
    const size_t records = next.rrs.size();
    const Result<void> served = owner_.zones_.set_copy(key_, std::make_shared<const ZoneCopy>(std::move(next)), std::time(nullptr));
    if (!served && served.error().kind == ErrorKind::rejected) {
      owner_.count(key_, type, "refused");
      return primary_failed("the transfer cannot be served: " + served.error().message);
    }
    if (!served) spdlog::error("secondary: {}: serving serial {} but cannot keep it on disk: {}", zone_, serial, served.error().message);
    owner_.count(key_, type, "ok");
    spdlog::info("secondary: {} serial {} from {} by {}: {} records, {} bytes", zone_, serial, where_, type, records, bytes);
    end({});
  }

  void primary_failed(const std::string& why) {
    errors_ += where_ + ": " + why + "; ";
    bev_.reset();
    try_primary(index_ + 1);
  }

  void give_up(const std::string& why) {
    bev_.reset();
    end(errors_ + where_ + ": " + why);
  }

  // Ends the check: the owner destroys this object, so nothing may follow.
  void end(const std::string& error) {
    bev_.reset();
    deadline_.reset();
    owner_.finished(key_, error, where_);
  }

  SecondaryService& owner_;
  std::string key_, zone_;
  std::vector<RemoteServer> primaries_;
  std::shared_ptr<const ZoneCopy> held_;
  size_t index_ = 0;
  std::string where_;
  std::optional<TsigKey> key_used_;
  BufferEventPtr bev_;
  EventPtr deadline_;
  TransferReader::Kind kind_ = TransferReader::Kind::soa;
  std::optional<TransferReader> reader_;
  std::string errors_;  // each primary's failure, in order
};

SecondaryService::SecondaryService(event_base* base, ZoneState& zones) : base_(base), zones_(zones) {
  on_config(zones_.config());
  zones_.on_config([this](const DaemonConfig& c) { on_config(c); });
}

SecondaryService::~SecondaryService() = default;

void SecondaryService::on_config(const DaemonConfig& config) {
  std::set<std::string> now_secondary;
  for (const ZoneConfig& z : config.zones) {
    if (!z.secondary()) continue;
    const std::string key = name_key(z.zone);
    now_secondary.insert(key);
    auto [it, fresh] = zones_by_key_.try_emplace(key);
    if (!fresh) continue;
    Secondary& s = it->second;
    s.owner = this;
    s.key = key;
    s.zone = z.zone;
    s.since = zones_.last_check(key) ? zones_.last_check(key) : std::time(nullptr);
    s.timer.reset(evtimer_new(base_, [](evutil_socket_t, short, void* arg) {
      auto* sec = static_cast<Secondary*>(arg);
      sec->owner->on_timer(sec->key);
    }, &s));
    if (!s.timer) throw std::runtime_error("cannot create a timer");
    s.next_check = std::time(nullptr);  // a new secondary zone is checked at once
    arm(s);
  }
  for (auto it = zones_by_key_.begin(); it != zones_by_key_.end();)
    it = now_secondary.count(it->first) ? std::next(it) : zones_by_key_.erase(it);
}

std::time_t SecondaryService::expire_at(const std::string& key) const {
  const auto s = zones_by_key_.find(key);
  const std::shared_ptr<const ZoneCopy> copy = zones_.copy(key);
  if (s == zones_by_key_.end() || !copy) return 0;
  return s->second.since + std::time_t(copy->expire());
}

void SecondaryService::arm(Secondary& s) {
  const std::time_t now = std::time(nullptr);
  std::time_t wake = s.check ? 0 : s.next_check;
  if (const std::time_t expiry = expire_at(s.key); expiry && !zones_.expired(s.key)) wake = wake ? std::min(wake, expiry) : expiry;
  if (!wake) return;
  const timeval tv{std::max<std::time_t>(0, wake - now), 0};
  evtimer_add(s.timer.get(), &tv);
}

void SecondaryService::on_timer(const std::string& key) {
  finished_checks_.clear();  // no check's code is running now
  const auto it = zones_by_key_.find(key);
  if (it == zones_by_key_.end()) return;
  Secondary& s = it->second;
  const std::time_t now = std::time(nullptr);
  if (const std::time_t expiry = expire_at(key); expiry && now >= expiry && !zones_.expired(key)) {
    spdlog::warn("secondary: {} expired: no successful check for {} s (SOA expire); answering SERVFAIL", s.zone, now - s.since);
    zones_.set_expired(key, true);
  }
  if (!s.check && now >= s.next_check) return start_check(key);
  arm(s);
}

void SecondaryService::start_check(const std::string& key) {
  Secondary& s = zones_by_key_.at(key);
  const ZoneConfig* z = zones_.zone_config(wire_name(key));
  if (!z || !z->secondary()) return;
  s.again = false;
  s.last_attempt = std::time(nullptr);
  try {
    s.check = std::make_unique<Check>(*this, key, z->zone, z->primaries, zones_.copy(key));
    s.check->begin();  // may end at once (no usable primary): then finished() has run
  } catch (const std::exception& e) {
    s.check.reset();
    finished(key, e.what(), "");
  }
}

void SecondaryService::finished(const std::string& key, const std::string& error, const std::string& primary) {
  const auto it = zones_by_key_.find(key);
  if (it == zones_by_key_.end()) return;
  Secondary& s = it->second;
  // The check object is still on the stack below us: it is freed at the next timer, not now.
  if (s.check) finished_checks_.push_back(std::move(s.check));
  const std::time_t now = std::time(nullptr);
  const std::shared_ptr<const ZoneCopy> copy = zones_.copy(key);
  if (error.empty()) {
    s.since = now;
    if (Result<void> saved = zones_.record_check(key, now); !saved)
      spdlog::error("secondary: {}: cannot keep the time of the check: {}", s.zone, saved.error().message);
    if (zones_.expired(key)) spdlog::info("secondary: {} answers again (serial {})", s.zone, copy ? copy->serial() : 0);
    zones_.set_expired(key, false);
    if (!s.last_error.empty()) spdlog::info("secondary: {}: {} answers again", s.zone, primary);
    s.last_error.clear();
    s.last_primary = primary;
    count(key, "soa", "ok");
    s.next_check = now + std::max<std::time_t>(min_interval, copy ? copy->refresh() : retry_without_copy);
  } else {
    if (error != s.last_error) spdlog::warn("secondary: {}: check failed: {}", s.zone, error);
    s.last_error = error;
    count(key, "soa", "error");
    s.next_check = now + (copy ? std::max<std::time_t>(min_interval, copy->retry()) : retry_without_copy);
  }
  if (s.again) s.next_check = now;
  arm(s);
}

uint8_t SecondaryService::notify(const QueryView& q, std::string_view source, const TsigKey* key) {
  const std::string zone_wire(reinterpret_cast<const char*>(q.lname), q.qname_len);
  const ZoneConfig* z = zones_.zone_config(zone_wire);
  const auto it = z ? zones_by_key_.find(name_key(z->zone)) : zones_by_key_.end();
  if (!z || it == zones_by_key_.end() || q.qtype != rr_type::soa || q.qclass != class_in) {
    ++notify_refused_;
    return rcode::refused;
  }
  // From a primary's address, and signed with its key when it names one (RFC 1996 §3.10).
  const bool from_primary = std::any_of(z->primaries.begin(), z->primaries.end(), [&](const RemoteServer& p) {
    const std::optional<Endpoint> ep = make_endpoint(p.address.address, p.address.port);
    return ep && address_bytes(reinterpret_cast<const sockaddr*>(&ep->addr)) == source &&
           (p.key.empty() || (key && key->name == p.key));
  });
  if (!from_primary) {
    ++notify_refused_;
    static LogBudget refused_log("notify", 20);
    if (refused_log.allow()) spdlog::warn("secondary: NOTIFY for {} refused: not from a primary (or not signed with its key)", z->zone);
    return rcode::refused;
  }
  Secondary& s = it->second;
  ++s.notifies;
  if (s.check) s.again = true;
  else {
    s.next_check = std::time(nullptr);
    const timeval now{0, 0};
    evtimer_add(s.timer.get(), &now);
  }
  return rcode::noerror;
}

void SecondaryService::count(const std::string& key, const std::string& type, const std::string& result) {
  ++counts_[key + "|" + type + "|" + result];
}

std::string SecondaryService::metrics() const {
  std::string out =
      "# HELP dnsd_transfers_in_total Checks (type soa) and transfers into secondary zones, by zone, type and result.\n"
      "# TYPE dnsd_transfers_in_total counter\n";
  for (const auto& [k, n] : counts_) {
    const size_t a = k.find('|'), b = k.find('|', a + 1);
    out += "dnsd_transfers_in_total{zone=\"" + k.substr(0, a) + "\",type=\"" + k.substr(a + 1, b - a - 1) +
           "\",result=\"" + k.substr(b + 1) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP dnsd_secondary_serial The SOA serial a secondary zone holds (0: none yet).\n# TYPE dnsd_secondary_serial gauge\n";
  for (const auto& [key, s] : zones_by_key_) {
    const auto copy = zones_.copy(key);
    out += "dnsd_secondary_serial{zone=\"" + key + "\"} " + std::to_string(copy ? copy->serial() : 0) + "\n";
  }
  out += "# HELP dnsd_secondary_expired 1 when a secondary zone answers SERVFAIL: no copy, or past its SOA expire.\n"
         "# TYPE dnsd_secondary_expired gauge\n";
  for (const auto& [key, s] : zones_by_key_)
    out += "dnsd_secondary_expired{zone=\"" + key + "\"} " + (zones_.copy(key) && !zones_.expired(key) ? "0" : "1") + "\n";
  out += "# HELP dnsd_secondary_last_check_age_seconds Seconds since a secondary zone's last successful check.\n"
         "# TYPE dnsd_secondary_last_check_age_seconds gauge\n";
  const std::time_t now = std::time(nullptr);
  for (const auto& [key, s] : zones_by_key_)
    out += "dnsd_secondary_last_check_age_seconds{zone=\"" + key + "\"} " + std::to_string(now - s.since) + "\n";
  out += "# HELP dnsd_notify_received_refused_total NOTIFYs refused: not from a primary of the zone, or not signed with its key.\n"
         "# TYPE dnsd_notify_received_refused_total counter\n";
  out += "dnsd_notify_received_refused_total " + std::to_string(notify_refused_) + "\n";
  return out;
}

std::string SecondaryService::status_json(const std::string& zone) const {
  const auto it = zones_by_key_.find(name_key(zone));
  if (it == zones_by_key_.end()) return {};
  const Secondary& s = it->second;
  const auto copy = zones_.copy(it->first);
  std::string primaries;
  if (const ZoneConfig* z = zones_.zone_config(wire_name(it->first)))
    for (const RemoteServer& p : z->primaries)
      primaries += (primaries.empty() ? "" : ",") + json_quote(p.address.v6 ? "[" + p.address.address + "]:" + std::to_string(p.address.port)
                                                                          : p.address.address + ":" + std::to_string(p.address.port));
  const std::time_t now = std::time(nullptr);
  return "\"secondary\":{\"primaries\":[" + primaries + "],\"serial\":" + (copy ? std::to_string(copy->serial()) : "null") +
         ",\"expired\":" + (copy && !zones_.expired(it->first) ? "false" : "true") +
         ",\"last_check_age_s\":" + std::to_string(now - s.since) +
         ",\"next_check_in_s\":" + std::to_string(std::max<std::time_t>(0, s.next_check - now)) +
         ",\"checking\":" + (s.check ? "true" : "false") + ",\"notifies\":" + std::to_string(s.notifies) +
         ",\"last_primary\":" + json_quote(s.last_primary) + ",\"last_error\":" + json_quote(s.last_error) + "}";
}

}  // namespace dnsd
