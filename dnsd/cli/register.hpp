// `dnsd register`: the sidekick in the same binary. Registers a member through the control API and
// prints the etcd configuration for it. Before its cluster has formed it bootstraps (optionally
// waiting for the bootstrap gate); once formed it joins through etcd's v3 JSON gateway with a join
// strategy behind the quorum guard, or recognises a restart (docs/ARCHITECTURE.md, "Life after
// bootstrap"). Runs in its own process; blocking I/O.
#pragma once

#include <string>
#include <vector>

namespace dnsd {

struct RegisterOptions {
  std::string control;  // http://HOST:PORT or https://HOST:PORT
  std::string ca_file;    // https: the CA of the control endpoint's certificate (default: system)
  std::string cert_file;  // https: client certificate, when the endpoint requires one
  std::string key_file;
  std::string token_file;
  std::string zone;
  std::string cluster;  // "" = the unnamed cluster
  std::string member;
  std::string host;
  std::vector<std::string> addresses;
  int peer_port = 0;    // 0 = the cluster's
  int client_port = 0;
  bool wait = false;
  std::string output = "flags";  // flags | env | envfile | dropin
  double timeout_s = 300;        // for reaching dnsd and for --wait
  // Joining a formed cluster.
  std::string join_strategy = "replace";  // prepare | add | replace | prune
  int cluster_size = -1;                  // -1: the cluster's expected_size (0: no limit)
  std::string data_dir;                   // etcd's --data-dir: tells a restart from a member that lost its data
  std::string etcd_ca_file;               // https client URLs: the CA of the members' certificates
  std::string etcd_cert_file;             // and a client certificate, when etcd requires one
  std::string etcd_key_file;
};

// Returns the process exit code; messages go to stderr, the etcd configuration to stdout.
int run_register(const RegisterOptions& options);

}  // namespace dnsd
