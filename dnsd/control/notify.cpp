// NOTIFY out (see notify.hpp).
#include "notify.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "json.hpp"
#include "ldns.hpp"
#include "log.hpp"
#include "names.hpp"
#include "packer.hpp"
#include "tsig.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

// A reply's 4-bit rcode as a metric label value: "refused", "notauth", ... ("other" past NOTZONE).
std::string rcode_label(uint8_t rc) {
  const char* name = rcode_name(rc);
  std::string out = name ? name : "other";
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// RFC 1996 §3: opcode NOTIFY, AA, the zone's SOA as the question.
std::vector<uint8_t> notify_message(const std::string& zone, uint16_t id) {
  std::vector<uint8_t> m(header_size);
  put16(m.data(), id);
  m[2] = uint8_t(opcode_notify << 3 | 0x04);
  put16(m.data() + 4, 1);
  const std::string name = wire_name(zone);
  m.insert(m.end(), name.begin(), name.end());
  const uint8_t type_class[4] = {0, uint8_t(rr_type::soa), 0, uint8_t(class_in)};
  m.insert(m.end(), type_class, type_class + 4);
  return m;
}

}  // namespace

Notifier::Notifier(event_base* base, ZoneState& zones) : base_(base), zones_(zones) {
  timer_.reset(evtimer_new(base_, [](evutil_socket_t, short, void* self) { static_cast<Notifier*>(self)->on_timer(); }, this));
  if (!timer_) throw std::runtime_error("cannot create the NOTIFY timer");
  zones_.on_publish([this](const std::vector<ZoneRecords>& now, const ZoneState::Deltas&) { on_publish(now); });  // the zones served at start too
}

void Notifier::on_publish(const std::vector<ZoneRecords>& zones) {
  for (const ZoneRecords& zr : zones) {
    if (zr.records.empty()) continue;
    const std::string zk = name_key(zr.apex);
    const uint32_t serial = zr.records[0].rr.soa_serial();
    const auto it = announced_.find(zk);
    if (it == announced_.end() || it->second != serial) pending_.insert(zk);
  }
  if (!pending_.empty()) arm(delay);
}

void Notifier::arm(std::chrono::milliseconds after) {
  const timeval tv{long(after.count() / 1000), long(after.count() % 1000 * 1000)};
  evtimer_add(timer_.get(), &tv);
}

void Notifier::on_timer() {
  try {
    send_pending();
    const auto now = std::chrono::steady_clock::now();
    for (auto it = outstanding_.begin(); it != outstanding_.end();) {
      if (it->next > now) {
        ++it;
        continue;
      }
      if (it->sent > max_retries) {
        result(*it, "timeout");
        spdlog::warn("notify: {} serial {} to {}: no answer after {} tries", it->zone, it->serial, it->to.text, it->sent);
        it = outstanding_.erase(it);
        continue;
      }
      send(*it);
      ++it;
    }
    if (!outstanding_.empty()) {
      auto next = std::min_element(outstanding_.begin(), outstanding_.end(),
                                   [](const Outstanding& a, const Outstanding& b) { return a.next < b.next; })->next;
      arm(std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(next - now)));
    }
  } catch (const std::exception& e) {
    spdlog::error("notify: {}", e.what());
  }
}

void Notifier::send_pending() {
  const auto now = std::chrono::steady_clock::now();
  for (const std::string& zk : pending_) {
    const ZoneRecords* zr = zones_.served(zk);
    const ZoneConfig* zc = zones_.zone_config(wire_name(zk));
    if (!zr || zr->records.empty() || !zc) continue;
    const uint32_t serial = zr->records[0].rr.soa_serial();
    announced_[zk] = serial;
    for (const RemoteServer& t : zc->notify) {
      std::optional<Endpoint> to = make_endpoint(t.address.address, t.address.port);
      if (!to) continue;
      // A newer serial replaces what is still waiting for an answer: the target needs the latest only.
      outstanding_.erase(std::remove_if(outstanding_.begin(), outstanding_.end(),
                                        [&](const Outstanding& o) { return o.zone == zk && o.to.text == to->text; }),
                         outstanding_.end());
      Outstanding o{zk, t, *to, serial, random_message_id(), 0, now};
      send(o);
      outstanding_.push_back(std::move(o));
    }
  }
  pending_.clear();
}

void Notifier::send(Outstanding& o) {
  std::vector<uint8_t> m = notify_message(o.zone, o.id);
  if (const TsigKey* key = o.target.key.empty() ? nullptr : zones_.config().find_key(o.target.key))
    tsig_sign_request(m, *key, uint64_t(std::time(nullptr)));
  const int fd = socket_for(o.to.addr.ss_family);
  if (fd < 0 || sendto(fd, m.data(), m.size(), 0, reinterpret_cast<const sockaddr*>(&o.to.addr), o.to.len) < 0)
    spdlog::debug("notify: {} to {}: send failed", o.zone, o.to.text);
  ++sent_[o.zone];
  o.next = std::chrono::steady_clock::now() + first_retry * (1 << std::min(o.sent, 10));
  ++o.sent;
}

Fd outgoing_socket(const DaemonConfig& config, int family, int type) {
  Fd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  for (const std::string& listen : config.listen) {
    const std::optional<HostPort> hp = parse_host_port(listen);
    const std::optional<Endpoint> ep = hp ? make_endpoint(hp->address, 0) : std::nullopt;
    if (!ep || ep->addr.ss_family != family) continue;
    if (!is_wildcard(*ep) && ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) != 0)
      spdlog::warn("cannot send from {}: {}", ep->text, std::strerror(errno));
    break;
  }
  return fd;
}

int Notifier::socket_for(int family) {
  Fd& fd = family == AF_INET6 ? v6_ : v4_;
  if (fd) return fd.get();
  fd = outgoing_socket(zones_.config(), family, SOCK_DGRAM);
  if (!fd) return -1;
  EventPtr& ev = family == AF_INET6 ? v6_event_ : v4_event_;
  ev.reset(event_new(
      base_, fd.get(), EV_READ | EV_PERSIST,
      [](evutil_socket_t s, short, void* self) { static_cast<Notifier*>(self)->on_reply(int(s)); }, this));
  if (!ev || event_add(ev.get(), nullptr) != 0) throw std::runtime_error("cannot watch the NOTIFY socket");
  return fd.get();
}

void Notifier::on_reply(int fd) {
  for (int i = 0; i < 64; ++i) {
    uint8_t buf[4096];
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;
    if (size_t(n) < header_size || !(buf[2] & 0x80) || ((buf[2] >> 3) & 0x0F) != opcode_notify) continue;
    // The answer must come from the target it was sent to, with the ID it was sent with.
    const std::string source = endpoint_text(from);
    const auto it = std::find_if(outstanding_.begin(), outstanding_.end(),
                                 [&](const Outstanding& o) { return o.id == get16(buf) && o.to.text == source; });
    if (it == outstanding_.end()) continue;
    const uint8_t rc = buf[3] & 0x0F;
    result(*it, rc == rcode::noerror ? "answered" : rcode_label(rc));
    if (rc != rcode::noerror) spdlog::warn("notify: {} serial {} to {}: {}", it->zone, it->serial, it->to.text, rcode_label(rc));
    outstanding_.erase(it);
  }
}

void Notifier::result(const Outstanding& o, const std::string& what) {
  ++results_["zone=\"" + o.zone + "\",target=\"" + o.to.text + "\",result=\"" + what + "\""];
  last_result_[{o.zone, o.to.text}] = {o.serial, what};
}

std::string Notifier::status_json(const std::string& zone) const {
  const std::string zk = name_key(zone);
  const ZoneConfig* zc = zones_.zone_config(wire_name(zk));
  if (!zc || zc->notify.empty()) return {};
  std::string out;
  for (const RemoteServer& t : zc->notify) {
    const std::optional<Endpoint> to = make_endpoint(t.address.address, t.address.port);
    if (!to) continue;
    const bool waiting = std::any_of(outstanding_.begin(), outstanding_.end(),
                                     [&](const Outstanding& o) { return o.zone == zk && o.to.text == to->text; });
    const auto last = last_result_.find({zk, to->text});
    out += std::string(out.empty() ? "" : ",") + "{\"target\":" + json_quote(to->text) + ",\"waiting\":" +
           (waiting ? "true" : "false") + ",\"last_serial\":" +
           (last == last_result_.end() ? "null" : std::to_string(last->second.first)) +
           ",\"last_result\":" + json_quote(last == last_result_.end() ? "" : last->second.second) + "}";
  }
  return "\"notify\":[" + out + "]";
}

std::string Notifier::metrics() const {
  std::string out = "# HELP dnsd_notify_sent_total NOTIFY messages sent, retries included, by zone.\n# TYPE dnsd_notify_sent_total counter\n";
  for (const auto& [zone, n] : sent_) out += "dnsd_notify_sent_total{zone=\"" + zone + "\"} " + std::to_string(n) + "\n";
  out += "# HELP dnsd_notify_results_total NOTIFYs settled, by zone, target and result (answered, timeout, or the rcode of a refusal).\n"
         "# TYPE dnsd_notify_results_total counter\n";
  for (const auto& [labels, n] : results_) out += "dnsd_notify_results_total{" + labels + "} " + std::to_string(n) + "\n";
  return out;
}

}  // namespace dnsd
