// `dnsd register`: the sidekick in the same binary. Registers a member through the control API,
// optionally waits until its cluster is complete (the bootstrap gate), then prints the etcd
// configuration for the member. Runs in its own process; blocking I/O.
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
  std::string output = "flags";  // flags | env | dropin
  double timeout_s = 300;        // for reaching dnsd and for --wait
};

// Returns the process exit code; messages go to stderr, the etcd configuration to stdout.
int run_register(const RegisterOptions& options);

}  // namespace dnsd
