// `dnsd verify` (see verify.hpp).
#include "verify.hpp"

#include <fmt/core.h>
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "config.hpp"
#include "dname.hpp"
#include "endpoint.hpp"
#include "exchanger.hpp"
#include "json.hpp"
#include "ldns.hpp"
#include "names.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

struct Report {
  std::vector<std::string> errors, warnings;
  void error(std::string s) {
    if (std::find(errors.begin(), errors.end(), s) == errors.end()) errors.push_back(std::move(s));
  }
  void warning(std::string s) {
    if (std::find(warnings.begin(), warnings.end(), s) == warnings.end()) warnings.push_back(std::move(s));
  }
};

// A lookup as Go does it: the records of the answer, or Go's error for it.
struct Lookup {
  std::string error;  // as Go words it ("no such host", "i/o timeout", "cannot unmarshal DNS message", ...)
  PktPtr pkt;
};

class Verifier {
 public:
  Verifier(Exchanger& client, Report& report) : client_(client), report_(report) {}

  // The reply to (name, type), held to Go's rules. `what` names the record set in findings; wire
  // problems are errors when `fatal` (etcd's own lookups), warnings otherwise (etcdctl's).
  Lookup lookup(const std::string& name, uint16_t qtype, const std::string& what, bool fatal) {
    return lookup(name, qtype, what, fatal, report_);
  }
  Lookup lookup(const std::string& name, uint16_t qtype, const std::string& what, bool fatal, Report& report) {
    auto finding = [&](std::string s) { fatal ? report.error(std::move(s)) : report.warning("etcdctl: " + s); };
    Lookup out;
    const Reply r = client_.exchange(name, qtype);
    if (!r.failure.empty()) {
      out.error = r.failure;
      if (r.failure == "i/o timeout" && qtype == rr_type::aaaa)
        report.warning(what + ": no answer to AAAA (etcd waits for it: about 10 s per target)");
      return out;
    }
    const WireFacts facts = wire_facts(r.bytes.data(), r.bytes.size());
    if (!r.tcp && r.bytes.size() > go_udp_read && !facts.tc) {
      if (!facts.readable || facts.answer_end > go_udp_read) {
        finding(what + ": a UDP reply of " + std::to_string(r.bytes.size()) + " bytes without TC: Go reads " +
                std::to_string(go_udp_read) + " and the answer is cut (cannot unmarshal DNS message)");
        out.error = "cannot unmarshal DNS message";
        return out;
      }
      report.warning(what + ": a UDP reply of " + std::to_string(r.bytes.size()) + " bytes without TC: Go reads " +
                      std::to_string(go_udp_read) + " bytes, which cuts only the additional section");
    }
    if (!facts.compressed_srv_targets.empty()) {
      finding(what + ": SRV target names are compressed (RFC 2782 forbids it): Go rejects the whole reply "
                     "(cannot unmarshal DNS message)");
      out.error = "cannot unmarshal DNS message";
      return out;
    }
    ldns_pkt* parsed = nullptr;
    if (ldns_wire2pkt(&parsed, r.bytes.data(), r.bytes.size()) != LDNS_STATUS_OK) {
      ldns_pkt_free(parsed);
      finding(what + ": a malformed reply (cannot unmarshal DNS message)");
      out.error = "cannot unmarshal DNS message";
      return out;
    }
    out.pkt.reset(parsed);
    const uint8_t rc = uint8_t(ldns_pkt_get_rcode(parsed));
    const size_t answers = ldns_rr_list_rr_count(ldns_pkt_answer(parsed));
    if (rc == rcode::nxdomain) out.error = "no such host";
    else if (rc != rcode::noerror) out.error = "server misbehaving";
    else if (answers == 0 && !facts.aa) {
      finding(what + ": an empty reply without AA: Go takes it for a lame referral");
      out.error = "lame referral";
    } else if (answers == 0) out.error = "no such host";
    else if (!facts.aa) report.warning(what + ": the answer has no AA bit (not authoritative)");
    return out;
  }

  struct Target {
    std::string host;  // as etcd writes it: no trailing dot
    uint16_t port = 0;
    std::vector<std::string> v4, v6;
    std::string key() const { return (v4.empty() ? (v6.empty() ? "" : "[" + v6[0] + "]") : v4[0]) + ":" + std::to_string(port); }
  };

  // resolveTCPAddr("tcp", host:port): A and AAAA, the first IPv4 address preferred. Empty when the
  // name has no address.
  Target resolve(const std::string& host, uint16_t port, bool fatal) {
    Target t{dotless_name(host), port, {}, {}};
    // Each name is looked up once; a second SRV set naming it reuses the addresses (and its findings
    // are not repeated).
    if (const auto seen = resolved_.find(name_key(host)); seen != resolved_.end()) {
      t.v4 = seen->second.v4;
      t.v6 = seen->second.v6;
      return t;
    }
    // Go asks A and AAAA together and keeps what either gives: a failure of one family matters only
    // when the other has no address either.
    Report local;
    for (uint16_t qtype : {rr_type::a, rr_type::aaaa}) {
      const std::string what = std::string(qtype == rr_type::a ? "A" : "AAAA") + " " + t.host;
      Lookup l = lookup(host, qtype, what, true, local);
      if (!l.pkt) continue;
      // The name and the CNAME chain from it, as far as the answer goes.
      std::set<std::string> names = {name_key(host)};
      const ldns_rr_list* answer = ldns_pkt_answer(l.pkt.get());
      bool cname = false;
      for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
          const ldns_rr* rr = ldns_rr_list_rr(answer, i);
          if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || !names.count(name_key(text(ldns_rr_owner(rr))))) continue;
          cname = true;
          grew |= names.insert(name_key(text(ldns_rr_rdf(rr, 0)))).second;
        }
      }
      if (cname) local.warning("target " + t.host + " is a CNAME; its chain is in the answer, so etcd boots (Go never re-queries a CNAME target)");
      for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) != ldns_rr_type(qtype) || !names.count(name_key(text(ldns_rr_owner(rr))))) continue;
        (qtype == rr_type::a ? t.v4 : t.v6).push_back(text(ldns_rr_rdf(rr, 0)));
      }
    }
    const bool none = t.v4.empty() && t.v6.empty();
    for (const std::string& e : local.errors)
      if (none && fatal) report_.error(e);
      else report_.warning((fatal ? "" : "etcdctl: ") + e + (none ? "" : " (the other family's addresses are used)"));
    for (const std::string& w : local.warnings) report_.warning((fatal ? "" : "etcdctl: ") + w);
    if (!t.v4.empty() && !t.v6.empty())
      report_.warning("target " + t.host + " has both A and AAAA: etcd matches its own peer URL against the first IPv4 "
                      "address, so advertise the host name");
    resolved_[name_key(host)] = t;
    return t;
  }

  // One SRV set, as etcd's GetCluster reads it: the targets that resolve (etcd skips the others).
  struct SrvSet {
    std::string service;  // e.g. etcd-server-ssl-c1
    std::string error;    // etcd's words, when the lookup failed
    std::vector<Target> targets;
    bool found = false;   // the lookup answered records
  };

  SrvSet srv(const std::string& service, const std::string& domain, bool fatal) {
    SrvSet s;
    s.service = service;
    const std::string name = "_" + service + "._tcp." + dotless_name(domain) + ".";
    Lookup l = lookup(name, rr_type::srv, "SRV _" + service + "._tcp", fatal);
    auto fail = [&](const std::string& go) {
      s.error = "error querying DNS SRV records for _" + service + " lookup " + name + " on " + client_.text() + ": " + go;
    };
    if (!l.error.empty()) {
      fail(l.error);
      return s;
    }
    const ldns_rr_list* answer = ldns_pkt_answer(l.pkt.get());
    std::vector<std::pair<std::string, uint16_t>> records;
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SRV || ldns_rr_rd_count(rr) != 4) continue;
      const std::string target = text(ldns_rr_rdf(rr, 3));
      if (!go_valid_hostname(target)) {
        const std::string finding = "SRV _" + service + "._tcp: target '" + target +
                                    "' is not a valid host name: Go fails the whole lookup (DNS response contained records which contain invalid names)";
        fatal ? report_.error(finding) : report_.warning("etcdctl: " + finding);
        fail("DNS response contained records which contain invalid names");
        return s;
      }
      records.emplace_back(target, uint16_t(ldns_rdf2native_int16(ldns_rr_rdf(rr, 2))));
    }
    if (records.empty()) {
      fail("no such host");
      return s;
    }
    s.found = true;
    for (const auto& [target, port] : records) {
      Target t = resolve(target, port, fatal);
      if (t.v4.empty() && t.v6.empty()) {
        const std::string finding = "SRV _" + service + "._tcp: target " + dotless_name(target) +
                                    " has no address: the member on it cannot start, and the others skip it and form a smaller cluster";
        fatal ? report_.error(finding) : report_.warning("etcdctl: " + finding);
        continue;
      }
      s.targets.push_back(std::move(t));
    }
    if (s.targets.empty()) fail("no such host");
    return s;
  }

  static std::string text(const ldns_rdf* rdf) { return take_ldns_string(ldns_rdf2str(rdf)); }

 private:
  Exchanger& client_;
  Report& report_;
  std::map<std::string, Target> resolved_;  // by lower-case name
};

std::optional<Endpoint> server_endpoint(const std::string& server) {
  std::optional<HostPort> hp = parse_host_port(server);
  if (!hp && is_ip_address(server)) hp = HostPort{server, 53, server.find(':') != std::string::npos};
  if (!hp) return std::nullopt;
  return make_endpoint(hp->address, hp->port);
}

// The host and port of a URL (scheme://host[:port][/...]); port 0 when absent.
bool split_url(const std::string& url, std::string& scheme, std::string& host, uint16_t& port) {
  const size_t colon = url.find("://");
  if (colon == std::string::npos) return false;
  scheme = url.substr(0, colon);
  std::string rest = url.substr(colon + 3);
  rest = rest.substr(0, rest.find('/'));
  port = 0;
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) return false;
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = uint16_t(std::atoi(rest.c_str() + close + 2));
  } else {
    const size_t c = rest.rfind(':');
    host = rest.substr(0, c);
    if (c != std::string::npos) port = uint16_t(std::atoi(rest.c_str() + c + 1));
  }
  return !host.empty() && !scheme.empty();
}

}  // namespace

WireFacts wire_facts(const uint8_t* msg, size_t len) {
  WireFacts f;
  if (len < header_size) return f;
  f.tc = msg[2] & 0x02;
  f.aa = msg[2] & 0x04;
  f.rcode = msg[3] & 0x0F;
  size_t pos = header_size;
  for (size_t i = 0, n = get16(msg + 4); i < n; ++i) {
    const size_t after = skip_dname(msg, len, pos);
    if (!after || len - after < 4) return f;
    pos = after + 4;
  }
  f.answer_end = pos;  // with no answer, the question is all Go parses
  const size_t an = get16(msg + 6), rest = size_t(get16(msg + 8)) + get16(msg + 10);
  for (size_t i = 0; i < an + rest; ++i) {
    const size_t owner = pos;
    const size_t after = skip_dname(msg, len, pos);
    if (!after || len - after < 10) return f;
    const uint16_t type = get16(msg + after);
    const size_t rdlen = get16(msg + after + 8), rdata = after + 10;
    if (len - rdata < rdlen) return f;
    // An SRV target (after priority, weight and port) that is not written out in full.
    if (i < an && type == rr_type::srv && rdlen > 6 && parse_dname(msg, rdata + rdlen, rdata + 6, nullptr) == 0) {
      ldns_rdf* name = nullptr;
      size_t at = owner;
      const bool read = ldns_wire2dname(&name, msg, len, &at) == LDNS_STATUS_OK;
      const RdfPtr owned(name);
      f.compressed_srv_targets.push_back(read ? take_ldns_string(ldns_rdf2str(name)) : "?");
    }
    pos = rdata + rdlen;
    if (i + 1 == an) f.answer_end = pos;
  }
  f.readable = pos == len;
  return f;
}

// etcd's discovery, then etcdctl's, through `client` (see verify.hpp). own_*: the member's peer URL,
// split (empty when no --member is given).
Discovery discover(Exchanger& client, const VerifyOptions& o, const std::string& own_scheme, const std::string& own_host,
                   uint16_t own_port) {
  Discovery d;
  Report report;
  Verifier v(client, report);
  const std::string suffix = o.name.empty() ? "" : "-" + o.name;

  // etcd's own lookups (embed.Config.GetDNSClusterNames, srv.GetCluster).
  Verifier::SrvSet ssl = v.srv("etcd-server-ssl" + suffix, o.domain, true);
  Verifier::SrvSet plain = v.srv("etcd-server" + suffix, o.domain, o.version == "3.5");
  std::vector<std::pair<std::string, Verifier::Target>> peers;  // (scheme, target)
  if (o.version == "3.4") {
    if (!ssl.error.empty())
      report.error("etcd 3.4 would exit: couldn't resolve during SRV discovery (" + ssl.error + ")" +
                   (plain.found ? "; the plain _etcd-server" + suffix + " records are ignored by etcd 3.4 (publish "
                                  "_etcd-server-ssl" + suffix + ": TLS peers, --peer-auto-tls is enough)"
                                : ""));
    else if (plain.found)
      report.warning("_etcd-server" + suffix + " records are ignored by etcd 3.4, and on 3.5 the two sets can fuse: publish one scheme");
    for (const auto& t : ssl.targets) peers.emplace_back("https", t);
  } else {
    if (!ssl.error.empty() && !plain.error.empty())
      report.error("etcd 3.5 would exit: srv discovery failed: " + ssl.error + ", " + plain.error);
    if (ssl.found && plain.found)
      report.warning("both _etcd-server-ssl" + suffix + " and _etcd-server" + suffix + " exist: etcd 3.5 joins them, and each "
                     "numbers unknown members from 0: publish one scheme");
    for (const auto& t : ssl.targets) peers.emplace_back("https", t);
    for (const auto& t : plain.targets) peers.emplace_back("http", t);
  }

  // Names as etcd gives them: the member's own name for its URL, numbers for the others.
  std::string own_key;
  if (!o.peer_url.empty()) {
    if (is_ip_address(own_host)) own_key = (own_host.find(':') != std::string::npos ? "[" + own_host + "]" : own_host) + ":" + std::to_string(own_port);
    else own_key = v.resolve(own_host + ".", own_port, true).key();
    if (own_key.front() == ':') report.error("etcd would exit: the --peer-url host " + own_host + " has no address on this server (lookup " + own_host + ": no such host)");
  }
  std::vector<std::string> cluster;
  std::set<std::string> urls;
  bool found_self = false;
  int temp = 0;
  for (const auto& [scheme, t] : peers) {
    const std::string url = member_url(scheme == "https", t.host, t.port);
    std::string name = std::to_string(temp);
    if (!own_key.empty() && t.key() == own_key) {
      if (scheme != own_scheme)
        report.error("etcd would exit: bootstrap at " + url + " from DNS has scheme mismatch with expected peer " + o.peer_url);
      name = o.member;
      found_self = true;
    } else {
      ++temp;
    }
    if (!urls.insert(url).second) report.error("etcd would exit: duplicate url " + url + " (the same target and port twice)");
    cluster.push_back(name + "=" + url);
  }
  if (!o.member.empty() && !found_self && own_key.front() != ':')
    report.error("etcd would exit: cannot find local etcd member \"" + o.member + "\" in SRV records (" + o.peer_url +
                 " resolves to " + own_key + ", which no target does)");
  if (o.expect_size >= 0 && int(peers.size()) != o.expect_size)
    report.error("the server set has " + std::to_string(peers.size()) + " member(s), not the " + std::to_string(o.expect_size) +
                 " expected: etcd would form a cluster of that size");

  // etcdctl --discovery-srv: the client sets, joined; problems there are warnings.
  std::vector<std::string> clients;
  bool any_client = false;
  for (const char* kind : {"etcd-client-ssl", "etcd-client"}) {
    Verifier::SrvSet c = v.srv(kind + suffix, o.domain, false);
    any_client |= c.found;
    for (const auto& t : c.targets)
      clients.push_back(member_url(std::string(kind) == "etcd-client-ssl", t.host, t.port));
  }
  if (!any_client) report.warning("etcdctl --discovery-srv finds no client endpoints (_etcd-client-ssl" + suffix + ", _etcd-client" + suffix + ")");

  for (const auto& [scheme, t] : peers) {
    d.peers.push_back(member_url(scheme == "https", t.host, t.port));
    d.peer_addresses.push_back(t.key());
  }
  d.cluster = cluster;
  d.clients = clients;
  d.errors = report.errors;
  d.warnings = report.warnings;
  return d;
}


Discovery verify_offline(const Snapshot& snap, const VerifyOptions& options) {
  SnapshotExchanger ex(snap);
  return discover(ex, options, "", "", 0);
}

int run_verify(const VerifyOptions& o) {
  if (o.server.empty() || o.domain.empty()) {
    fmt::print(stderr, "dnsd verify: --server and --domain are required\n");
    return 2;
  }
  if (o.version != "3.4" && o.version != "3.5") {
    fmt::print(stderr, "dnsd verify: --etcd-version is 3.4 or 3.5\n");
    return 2;
  }
  if (o.output != "text" && o.output != "json") {
    fmt::print(stderr, "dnsd verify: -o is text or json\n");
    return 2;
  }
  if (o.member.empty() != o.peer_url.empty()) {
    fmt::print(stderr, "dnsd verify: --member and --peer-url go together\n");
    return 2;
  }
  std::string own_scheme, own_host;
  uint16_t own_port = 0;
  if (!o.peer_url.empty() && !split_url(o.peer_url, own_scheme, own_host, own_port)) {
    fmt::print(stderr, "dnsd verify: --peer-url '{}' is not scheme://host:port\n", o.peer_url);
    return 2;
  }
  const std::optional<Endpoint> server = server_endpoint(o.server);
  if (!server) {
    fmt::print(stderr, "dnsd verify: --server '{}' is not ADDR, ADDR:PORT or [V6]:PORT\n", o.server);
    return 2;
  }
  Client client(*server);
  // Reachability first: the zone's SOA (an unreachable server is exit 2 within 2 x 2 s).
  const Reply soa = client.exchange(dotless_name(o.domain) + ".", rr_type::soa);
  if (!soa.failure.empty()) {
    fmt::print(stderr, "dnsd verify: cannot reach {}: {}\n", server->text, soa.failure);
    return 2;
  }
  const Discovery d = discover(client, o, own_scheme, own_host, own_port);
  const bool ok = d.errors.empty();
  auto joined = [](const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
    return out;
  };
  if (o.output == "json") {
    auto list = [](const std::vector<std::string>& items) {
      std::string out;
      for (const std::string& s : items) out += (out.empty() ? "" : ",") + json_quote(s);
      return "[" + out + "]";
    };
    fmt::print(stdout,
               "{{\"server\":{},\"domain\":{},\"cluster\":{},\"etcd_version\":{},\"bootstrap\":{},\"peers\":{},"
               "\"initial_cluster\":{},\"clients\":{},\"errors\":{},\"warnings\":{}}}\n",
               json_quote(server->text), json_quote(dotless_name(o.domain)), json_quote(o.name), json_quote(o.version),
               ok ? "true" : "false", list(d.peers), json_quote(joined(d.cluster)), list(d.clients), list(d.errors),
               list(d.warnings));
  } else {
    fmt::print(stdout, "server {}, domain {}{}, etcd {}\n", server->text, dotless_name(o.domain),
               o.name.empty() ? "" : ", cluster " + o.name, o.version);
    fmt::print(stdout, "peers ({}):\n", d.peers.size());
    for (size_t i = 0; i < d.peers.size(); ++i) fmt::print(stdout, "  {}  ({})\n", d.peers[i], d.peer_addresses[i]);
    if (!d.cluster.empty()) fmt::print(stdout, "initial cluster: {}\n", joined(d.cluster));
    fmt::print(stdout, "clients ({}):\n", d.clients.size());
    for (const std::string& c : d.clients) fmt::print(stdout, "  {}\n", c);
    for (const std::string& w : d.warnings) fmt::print(stdout, "warning: {}\n", w);
    for (const std::string& e : d.errors) fmt::print(stdout, "error: {}\n", e);
    fmt::print(stdout, "etcd {} would {}\n", o.version, ok ? "bootstrap from this server" : "not bootstrap from this server");
  }
  return ok ? 0 : 1;
}

}  // namespace dnsd
