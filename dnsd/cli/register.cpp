// `dnsd register` (see register.hpp): bootstrap through the control API, or a join through etcd's
// gateway decided by plan_join (join.hpp), then the etcd configuration on stdout.
#include "register.hpp"

#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

#include "config.hpp"
#include "etcd_gateway.hpp"
#include "http_client.hpp"
#include "join.hpp"
#include "json.hpp"
#include "names.hpp"
#include "openssl.hpp"

namespace dnsd {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double etcd_timeout_s = 5;
constexpr double unhealthy_retry_s = 8;  // etcd refuses adds for ~5 s after its peer links come up
constexpr double election_wait_s = 10;   // members up without quorum: a leader election may be under way

// Thrown when the run must stop with exit 1; the message is the reason.
struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr const char* cluster_reply = "dnsd's cluster";  // names the reply in errors

void say(const std::string& line) { fmt::print(stderr, "dnsd register: {}\n", line); }

// A deadline `seconds` from now.
Clock::time_point after_seconds(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string error_text(const HttpResult& r) {
  const YamlNode n = parse_json(r.body);
  std::string msg = n["error"].is_scalar() ? n["error"].scalar() : r.body;
  if (n["field"].is_scalar()) msg += " (field " + n["field"].scalar() + ")";
  return "HTTP " + std::to_string(r.status) + ": " + msg;
}

// The control API of dnsd, retried while unreachable.
class ControlApi {
 public:
  ControlApi(const RegisterOptions& o, Clock::time_point deadline) : deadline_(deadline) {
    target_ = parse_http_url(o.control, "--control");
    if (target_.tls) target_.ctx = client_tls_context("dnsd register", o.ca_file, o.cert_file, o.key_file);
    token_ = read_token_file(o.token_file);
    base_ = "/v1/zones/" + o.zone + "/clusters/" + (o.cluster.empty() ? "_" : o.cluster);
  }
  const std::string& base() const { return base_; }

  YamlNode cluster() {
    const HttpResult r = call("GET", base_, "");
    if (r.status != 200) throw Refused("cannot read the cluster from dnsd: " + error_text(r));
    return read_json(r.body, cluster_reply);
  }
  // Returns the cluster after the change; throws Refused when dnsd says no.
  YamlNode put_member(const std::string& member, const std::string& body) {
    const HttpResult r = call("PUT", base_ + "/members/" + member, body);
    if (r.status / 100 != 2) throw Refused("registration refused: " + error_text(r));
    return read_json(r.body, cluster_reply);
  }
  void delete_member(const std::string& member) {
    const HttpResult r = call("DELETE", base_ + "/members/" + member, "");
    if (r.status / 100 != 2 && r.status != 404)
      throw Refused("cannot delete " + member + " from dnsd's registry: " + error_text(r));
  }

 private:
  HttpResult call(const std::string& method, const std::string& path, const std::string& body) {
    const std::string auth = method == "GET" ? "" : "Authorization: Bearer " + token_ + "\r\n";
    double delay = 0.2;
    for (;;) {
      try {
        return http_exchange(target_, method, path, auth, body, 10);
      } catch (const Unreachable& e) {
        if (after_seconds(delay) > deadline_)
          throw Refused(std::string(e.what()) + " (gave up)");
        say(std::string(e.what()) + " (retrying in " + std::to_string(delay).substr(0, 3) + " s)");
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
        delay = std::min(delay * 2, 5.0);
      }
    }
  }

  HttpTarget target_;
  std::string token_;
  std::string base_;
  Clock::time_point deadline_;
};

// What dnsd knows of one member (its cluster's JSON).
struct KnownMember {
  std::string name;
  std::string host;
  std::string address;  // the first, or empty
  std::string peer_url;
  std::string client_url;
  bool registered = false;
};

struct ClusterInfo {
  std::string gate;
  size_t expected_size = 0;
  bool peer_tls = true, client_tls = false;
  int peer_port = 0, client_port = 0;
  std::vector<KnownMember> members;
};

ClusterInfo read_cluster(const YamlNode& c) {
  ClusterInfo info;
  info.gate = json_string(c, "gate", cluster_reply);
  info.expected_size = size_t(json_integer(c, "expected_size", cluster_reply));
  info.peer_tls = json_bool(c, "peer_tls", cluster_reply);
  info.client_tls = json_bool(c, "client_tls", cluster_reply);
  info.peer_port = int(json_integer(c, "peer_port", cluster_reply));
  info.client_port = int(json_integer(c, "client_port", cluster_reply));
  for (const YamlNode m : c["members"]) {
    KnownMember k;
    k.name = json_string(m, "name", cluster_reply);
    k.host = dotless_name(json_string(m, "host", cluster_reply));
    if (m["addresses"][size_t(0)].is_scalar()) k.address = m["addresses"][size_t(0)].scalar();
    const int pp = m["peer_port"] ? int(json_integer(m, "peer_port", cluster_reply)) : info.peer_port;
    const int cp = m["client_port"] ? int(json_integer(m, "client_port", cluster_reply)) : info.client_port;
    k.peer_url = member_url(info.peer_tls, k.host, pp);
    k.client_url = member_url(info.client_tls, k.host, cp);
    k.registered = json_string(m, "source", cluster_reply) == "registered";
    info.members.push_back(std::move(k));
  }
  return info;
}

std::string registration_body(const RegisterOptions& o) {
  std::string body = "{\"host\": " + json_quote(absolute_name(o.host)) + ", \"addresses\": [";
  for (size_t i = 0; i < o.addresses.size(); ++i) body += (i ? ", " : "") + json_quote(o.addresses[i]);
  body += "]";
  if (o.peer_port) body += ", \"peer_port\": " + std::to_string(o.peer_port);
  if (o.client_port) body += ", \"client_port\": " + std::to_string(o.client_port);
  return body + "}";
}

using Settings = std::vector<std::pair<std::string, std::string>>;

// For env, envfile and dropin: where etcd listens (each --address) and its data dir, so that the
// output starts etcd alone; TLS files are the one thing left out, and a comment says so.
Settings listen_settings(const RegisterOptions& o, bool peer_tls, bool client_tls, int peer_port, int client_port) {
  Settings kv;
  std::string peers, clients;
  for (const std::string& a : o.addresses) {
    peers += (peers.empty() ? "" : ",") + member_url(peer_tls, a, peer_port);
    clients += (clients.empty() ? "" : ",") + member_url(client_tls, a, client_port);
  }
  if (!peers.empty()) kv = {{"listen-peer-urls", peers}, {"listen-client-urls", clients}};
  if (!o.data_dir.empty()) kv.emplace_back("data-dir", o.data_dir);
  return kv;
}

void print_settings(const std::string& output, const Settings& kv) {
  if (output == "flags") {
    std::string line;
    for (const auto& [k, v] : kv) line += (line.empty() ? "" : " ") + ("--" + k + "=" + v);
    fmt::print(stdout, "{}\n", line);
    return;
  }
  if (output == "dropin") fmt::print(stdout, "[Service]\n");
  for (const auto& [k, v] : kv) {
    std::string env = "ETCD_" + k;
    for (char& c : env) c = c == '-' ? '_' : char(std::toupper(static_cast<unsigned char>(c)));
    if (output == "dropin") fmt::print(stdout, "Environment={}={}\n", env, v);
    else if (output == "env") fmt::print(stdout, "export {}='{}'\n", env, v);  // for eval
    else fmt::print(stdout, "{}={}\n", env, v);  // envfile: systemd's EnvironmentFile=
  }
}

Settings own_settings(const RegisterOptions& o, const ClusterInfo& c) {
  const int peer_port = o.peer_port ? o.peer_port : c.peer_port;
  const int client_port = o.client_port ? o.client_port : c.client_port;
  Settings kv = {{"name", o.member},
                 {"initial-advertise-peer-urls", member_url(c.peer_tls, o.host, peer_port)},
                 {"advertise-client-urls", member_url(c.client_tls, o.host, client_port)}};
  if (o.output != "flags")
    for (auto& setting : listen_settings(o, c.peer_tls, c.client_tls, peer_port, client_port))
      kv.push_back(std::move(setting));
  return kv;
}

// What the env, envfile and dropin outputs leave to the operator.
void print_tls_note(const std::string& output, const ClusterInfo& c) {
  if (output == "flags" || (!c.peer_tls && !c.client_tls)) return;
  fmt::print(stdout, "# not set here: TLS files ({}{}{})\n",
             c.peer_tls ? "ETCD_PEER_CERT_FILE, ETCD_PEER_KEY_FILE, ETCD_PEER_TRUSTED_CA_FILE, or ETCD_PEER_AUTO_TLS=true" : "",
             c.peer_tls && c.client_tls ? "; " : "", c.client_tls ? "ETCD_CERT_FILE, ETCD_KEY_FILE" : "");
}

// --- bootstrap ---------------------------------------------------------------------------------

int bootstrap(const RegisterOptions& o, ControlApi& api, Clock::time_point deadline) {
  YamlNode cluster = api.put_member(o.member, registration_body(o));
  say(o.member + " registered in " + api.base().substr(10));
  size_t last_count = SIZE_MAX;
  while (o.wait && json_string(cluster, "gate", cluster_reply) == "closed") {
    const size_t count = cluster["members"].size();
    if (count != last_count)
      say("waiting for the cluster to complete (" + std::to_string(count) + "/" +
          std::to_string(json_integer(cluster, "expected_size", cluster_reply)) + " members)");
    last_count = count;
    if (Clock::now() > deadline) throw Refused("the cluster did not complete in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cluster = api.cluster();
  }
  const ClusterInfo info = read_cluster(cluster);
  Settings kv = own_settings(o, info);
  const std::string zone = dotless_name(o.zone);
  kv.insert(kv.begin() + 1, {"discovery-srv", zone});
  if (!o.cluster.empty()) kv.insert(kv.begin() + 2, {"discovery-srv-name", o.cluster});
  // Different tokens keep two clusters of one zone from fusing.
  kv.emplace_back("initial-cluster-token", (o.cluster.empty() ? "" : o.cluster + ".") + zone);
  kv.emplace_back("initial-cluster-state", "new");
  print_settings(o.output, kv);
  print_tls_note(o.output, info);
  return 0;
}

// --- joining a formed cluster ------------------------------------------------------------------

// etcd's view of the cluster, read from a healthy member (a partitioned one serves a stale list).
struct EtcdView {
  std::string via;  // the client URL changes are sent to
  std::vector<ObservedMember> members;
};

std::optional<EtcdView> observe(const EtcdGateway& etcd, const ClusterInfo& info, const std::string& self_peer_url,
                                std::string& tried) {
  std::map<std::string, std::pair<EtcdHealth, std::string>> health;  // by client URL
  std::optional<std::vector<EtcdMember>> list;
  std::string via;
  bool via_healthy = false;
  tried.clear();
  for (const KnownMember& k : info.members) {
    if (same_url(k.peer_url, self_peer_url)) continue;
    std::string why;
    const EtcdHealth h = etcd.health(k.client_url, why);
    health[k.client_url] = {h, why};
    tried += (tried.empty() ? "" : ", ") + k.name + " (" + (h == EtcdHealth::healthy ? "healthy" : why) + ")";
    if (h == EtcdHealth::down || (list && (via_healthy || h != EtcdHealth::healthy))) continue;
    try {
      list = etcd.member_list(k.client_url);
      via = k.client_url;
      via_healthy = h == EtcdHealth::healthy;
    } catch (const std::exception& e) {
      say("member list from " + k.client_url + ": " + e.what());
    }
  }
  if (!list) return std::nullopt;
  EtcdView view;
  view.via = via;
  for (const EtcdMember& m : *list) {
    ObservedMember om;
    om.member = m;
    om.label = m.name;
    for (const KnownMember& k : info.members)
      for (const std::string& url : m.peer_urls)
        if (om.label.empty() && same_url(url, k.peer_url)) om.label = k.name;
    if (om.label.empty()) om.label = m.peer_urls.empty() ? "ID " + m.id : m.peer_urls.front();
    if (!m.started()) {
      om.health = EtcdHealth::unstarted;
    } else if (m.client_urls.empty()) {
      om.health = EtcdHealth::down;
      om.why = "no client URL";
    } else if (auto it = health.find(m.client_urls.front()); it != health.end()) {
      std::tie(om.health, om.why) = it->second;
    } else {
      om.health = etcd.health(m.client_urls.front(), om.why);
    }
    view.members.push_back(std::move(om));
  }
  return view;
}

// --initial-cluster after the change: etcd's names, the registry's for members not started yet.
std::string initial_cluster(const std::vector<EtcdMember>& members, const ClusterInfo& info, const std::string& self_name,
                            const std::string& self_peer_url) {
  std::string out;
  for (const EtcdMember& m : members) {
    for (const std::string& url : m.peer_urls) {
      std::string name = m.name;
      if (same_url(url, self_peer_url)) name = self_name;
      for (const KnownMember& k : info.members)
        if (name.empty() && same_url(k.peer_url, url)) name = k.name;
      if (name.empty()) name = "member-" + m.id;
      out += (out.empty() ? "" : ",") + name + "=" + url;
    }
  }
  return out;
}

bool has_wal(const std::string& data_dir) {
  struct stat st{};
  return !data_dir.empty() && ::stat((data_dir + "/member/wal").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Registers this member unless the zone config already has it.
void register_self(const RegisterOptions& o, ControlApi& api, const ClusterInfo& info) {
  for (const KnownMember& k : info.members)
    if (k.name == o.member && !k.registered) return;
  api.put_member(o.member, registration_body(o));
  say(o.member + " registered in " + api.base().substr(10));
}

// Adds the member, retrying while etcd says its cluster is not ready for an add.
std::pair<EtcdMember, std::vector<EtcdMember>> add_member(const EtcdGateway& etcd, const std::string& via,
                                                          const std::string& peer_url) {
  const Clock::time_point until =
      after_seconds(unhealthy_retry_s);
  for (;;) {
    try {
      return etcd.member_add(via, peer_url);
    } catch (const EtcdError& e) {
      const std::string what = e.what();
      const bool not_ready = what.find("unhealthy cluster") != std::string::npos ||
                             what.find("not enough started members") != std::string::npos;
      if (!not_ready || Clock::now() > until) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

// The membership lock (EtcdGateway::try_lock), held for the length of one change; released when
// destroyed. Empty when etcd would not give one (auth, say): the change goes on without it.
class JoinLock {
 public:
  JoinLock(const EtcdGateway& etcd, const std::string& url, const std::string& who, double wait_s) : etcd_(etcd) {
    try {
      lease_ = etcd.lease_grant(url, lock_ttl_s);
    } catch (const std::exception& e) {
      say(std::string("warning: no membership lock (") + e.what() + "); going on without it");
      return;
    }
    url_ = url;
    const Clock::time_point until =
        after_seconds(wait_s);
    for (bool told = false;; told = true) {
      const std::string holder = etcd.try_lock(url, lock_key, who, lease_);
      if (holder.empty()) return;
      if (Clock::now() > until) throw Refused("another join holds the membership lock: " + holder + "; nothing changed");
      if (!told) say("waiting for " + holder + " to finish its change to the cluster");
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }
  ~JoinLock() {
    if (url_.empty()) return;
    try {
      etcd_.lease_revoke(url_, lease_);
    } catch (const std::exception& e) {
      say(std::string("warning: the membership lock stays until its lease ends (") + std::to_string(lock_ttl_s) +
          " s): " + e.what());
    }
  }
  JoinLock(const JoinLock&) = delete;
  JoinLock& operator=(const JoinLock&) = delete;

  static constexpr int lock_ttl_s = 60;
  static constexpr const char* lock_key = "dnsd/register/membership-lock";

 private:
  const EtcdGateway& etcd_;
  std::string url_;
  std::string lease_;
};

int join(const RegisterOptions& o, ControlApi& api, ClusterInfo info, const std::string& self_peer_url) {
  JoinStrategy strategy = JoinStrategy::replace;
  parse_join_strategy(o.join_strategy, strategy);
  std::map<std::string, std::string> addresses;
  for (const KnownMember& k : info.members)
    if (!k.address.empty()) addresses[ascii_lower(k.host)] = k.address;
  const EtcdGateway etcd({o.etcd_ca_file, o.etcd_cert_file, o.etcd_key_file}, addresses, etcd_timeout_s);

  const Clock::time_point settle_until =
      after_seconds(election_wait_s);
  bool told = false;
  std::unique_ptr<JoinLock> lock;
  for (int attempt = 1;; ++attempt) {
    std::string tried;
    const std::optional<EtcdView> view = observe(etcd, info, self_peer_url, tried);
    if (!view) {
      if (info.gate == "none" && attempt == 1) {
        say("no member answers etcd's API (" + (tried.empty() ? std::string("none registered") : tried) +
            "): bootstrapping");
        return -1;  // the caller bootstraps
      }
      throw Refused("the cluster has formed, but no member answers etcd's API: tried " +
                    (tried.empty() ? std::string("none") : tried));
    }
    JoinInput in;
    in.strategy = strategy;
    in.limit = o.cluster_size >= 0 ? size_t(o.cluster_size) : info.expected_size;
    in.peer_url = self_peer_url;
    in.data_dir_given = !o.data_dir.empty();
    in.has_wal = has_wal(o.data_dir);
    in.members = view->members;
    const JoinPlan plan = plan_join(in);
    std::vector<EtcdMember> after;
    for (const ObservedMember& m : view->members) after.push_back(m.member);
    const bool electing = std::any_of(view->members.begin(), view->members.end(),
                                      [](const ObservedMember& m) { return m.health == EtcdHealth::no_quorum; });
    if (plan.kind == JoinPlan::Kind::refuse && electing && Clock::now() < settle_until) {
      // Right after a member dies the others have no leader for a moment: look again before refusing.
      if (!std::exchange(told, true)) say("members are up without quorum (a leader election?): looking again for " +
                            std::to_string(int(election_wait_s)) + " s before refusing");
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    switch (plan.kind) {
      case JoinPlan::Kind::refuse:
        throw Refused(plan.message);
      case JoinPlan::Kind::restart:
      case JoinPlan::Kind::prepared:
        say(plan.message);
        register_self(o, api, info);
        break;
      case JoinPlan::Kind::change: {
        if (!lock) {
          // One change at a time: with the lock held, read the list again and decide afresh (another
          // run may have changed it while this one waited).
          char hostname[256] = "?";
          gethostname(hostname, sizeof hostname - 1);
          lock = std::make_unique<JoinLock>(etcd, view->via, "dnsd register " + o.member + " (pid " +
                                            std::to_string(getpid()) + " on " + hostname + ")", std::min(o.timeout_s, 60.0));
          info = read_cluster(api.cluster());  // the registry too may have changed meanwhile
          continue;
        }
        say(plan.message + " (member list from " + view->via + ")");
        bool changed = false;
        try {
          for (const ObservedMember& r : plan.remove) {
            etcd.member_remove(view->via, r.member.id);
            changed = true;
            say("removed " + r.label + " (ID " + r.member.id + ") from etcd");
            for (const KnownMember& k : info.members)
              for (const std::string& url : r.member.peer_urls)
                if (same_url(url, k.peer_url) && k.name != o.member) {
                  if (k.registered) api.delete_member(k.name), say("deleted " + k.name + " from dnsd's registry");
                  else say("warning: " + k.name + " is in the zone config: remove it there");
                }
          }
          std::tie(std::ignore, after) = add_member(etcd, view->via, self_peer_url);
        } catch (const EtcdError& e) {
          // Another run got there first (the member to remove is gone, or this peer URL was added): it
          // is changing the cluster; this one stops without a change rather than race it.
          if (!changed && (e.code == 5 || e.code == 9))
            throw Refused(std::string("etcd: ") + e.what() + ": another join changed the member list meanwhile; " +
                          "nothing changed here, run again once it has finished");
          throw Refused(std::string(changed ? "after the removal, " : "") + "etcd refused the change: " + e.what());
        }
        const auto added = std::find_if(after.begin(), after.end(), [&](const EtcdMember& m) {
          return !m.peer_urls.empty() && same_url(m.peer_urls.front(), self_peer_url);
        });
        say("added " + self_peer_url + " to etcd" + (added != after.end() ? " (ID " + added->id + ")" : ""));
        try {
          register_self(o, api, info);
        } catch (const std::exception& e) {
          if (added != after.end()) {
            // DNS must serve a joining member (etcd loops on "no such host" otherwise): undo the add.
            try {
              etcd.member_remove(view->via, added->id);
              say("the member add is undone");
            } catch (const std::exception& undo) {
              say(std::string("cannot undo the member add: ") + undo.what() + "; run `etcdctl member remove " +
                  added->id + "`");
            }
          }
          throw;
        }
        break;
      }
    }
    Settings kv = own_settings(o, info);
    kv.emplace_back("initial-cluster", initial_cluster(after, info, o.member, self_peer_url));
    kv.emplace_back("initial-cluster-state", "existing");
    print_settings(o.output, kv);
    print_tls_note(o.output, info);
    return 0;
  }
}

}  // namespace

int run_register(const RegisterOptions& o) {
  std::signal(SIGPIPE, SIG_IGN);  // TLS writes go through write(): a closed connection must be an error, not death
  try {
    if (o.output != "flags" && o.output != "env" && o.output != "envfile" && o.output != "dropin")
      throw std::runtime_error("-o must be flags, env, envfile or dropin");
    if (JoinStrategy s; !parse_join_strategy(o.join_strategy, s))
      throw std::runtime_error("--join-strategy must be prepare, add, replace or prune");
    if (o.zone.empty() || o.member.empty() || o.host.empty() || o.control.empty() || o.token_file.empty())
      throw std::runtime_error("--control, --token-file, --zone, --member and --host are required");
    const Clock::time_point deadline =
        after_seconds(o.timeout_s);
    ControlApi api(o, deadline);
    const ClusterInfo info = read_cluster(api.cluster());
    if (info.gate == "closed") return bootstrap(o, api, deadline);
    const std::string self_peer_url = member_url(info.peer_tls, o.host, o.peer_port ? o.peer_port : info.peer_port);
    const int rc = join(o, api, info, self_peer_url);
    return rc >= 0 ? rc : bootstrap(o, api, deadline);
  } catch (const std::exception& e) {
    say(e.what());
    return 1;
  }
}

}  // namespace dnsd
