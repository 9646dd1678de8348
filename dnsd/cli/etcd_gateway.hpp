// etcd's v3 JSON gateway as `dnsd register` uses it (docs/ARCHITECTURE.md, "Life after bootstrap"):
// GET /health and POST /v3/cluster/member/{list,add,remove} on a member's client URL, over http or
// https (with the cluster's CA and a client certificate). Blocking; CLI only.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "etcd_members.hpp"
#include "http_client.hpp"

namespace dnsd {

// What GET /health says about a member.
enum class EtcdHealth {
  healthy,    // 200 {"health":"true"}
  no_quorum,  // 503 {"health":"false"}: up, but its cluster has no quorum (or no leader yet)
  down,       // no answer (connect, TLS, timeout) or anything else
  unstarted,  // etcd lists it without a name: added, never started
};
const char* to_string(EtcdHealth h) noexcept;

// An error etcd answered with: {"error","message","code"} (gRPC codes: 5 not found, 9 failed
// precondition such as "Peer URLs already exists", 14 unavailable).
struct EtcdError : std::runtime_error {
  EtcdError(int http_status, int grpc_code, const std::string& message)
      : std::runtime_error(message), status(http_status), code(grpc_code) {}
  int status;
  int code;
};

struct EtcdTls {
  std::string ca_file;  // empty: the system's trust store
  std::string cert_file;
  std::string key_file;
};

class EtcdGateway {
 public:
  // `addresses` maps a host name to the address to connect to (dnsd's own records for the members,
  // so the CLI does not depend on the machine's resolver); other hosts are resolved.
  EtcdGateway(EtcdTls tls, std::map<std::string, std::string> addresses, double timeout_s);

  // health() never throws: an unreachable member is `down`, with the reason in `why`.
  EtcdHealth health(const std::string& client_url, std::string& why) const;
  // Each throws Unreachable, EtcdError, or std::runtime_error (a reply that is not the gateway's).
  std::vector<EtcdMember> member_list(const std::string& client_url) const;
  // The added member, and the list after the change.
  std::pair<EtcdMember, std::vector<EtcdMember>> member_add(const std::string& client_url, const std::string& peer_url) const;
  void member_remove(const std::string& client_url, const std::string& id) const;

  // A lock in etcd's keyspace that only one `dnsd register` holds while it changes the membership: a
  // key created under a lease (it goes with the lease: a crashed holder's lock lapses after ttl_s).
  // Returns "" when taken, else the current holder's text.
  std::string lease_grant(const std::string& client_url, int ttl_s) const;
  std::string try_lock(const std::string& client_url, const std::string& key, const std::string& holder,
                       const std::string& lease) const;
  void lease_revoke(const std::string& client_url, const std::string& lease) const;

 private:
  HttpTarget target(const std::string& client_url) const;
  std::string post(const std::string& client_url, const std::string& path, const std::string& body) const;

  EtcdTls tls_files_;
  std::map<std::string, std::string> addresses_;
  double timeout_s_;
  mutable std::shared_ptr<SSL_CTX> tls_;  // built on first https use
};

}  // namespace dnsd
