// `dnsd verify`: would etcd bootstrap from this DNS server? Does, against one server and no system
// resolver, the lookups etcd of a version does for --discovery-srv (and etcdctl for its endpoints),
// holds every reply to the rules Go's resolver (go1.19, as in etcd 3.4.23) enforces, and reports an
// error exactly where real etcd fails, a warning where it survives (docs/ARCHITECTURE.md, "dnsd
// verify"). Works against any DNS server. Runs in its own process; blocking I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dnsd {

struct VerifyOptions {
  std::string server;           // ADDR, ADDR:PORT or [V6]:PORT (port 53 by default)
  std::string domain;           // --discovery-srv
  std::string name;             // --discovery-srv-name ("" = none)
  std::string version = "3.4";  // 3.4 | 3.5
  int expect_size = -1;         // -1: not checked
  std::string member, peer_url;  // --member NAME --peer-url URL: this member must find itself
  std::string output = "text";  // text | json
};

// What the lookups found: the peer URLs as etcd writes them (with the address each resolved to), the
// initial cluster etcd would build, the client endpoints, and the findings.
struct Discovery {
  std::vector<std::string> peers, peer_addresses, cluster, clients;
  std::vector<std::string> errors, warnings;  // errors: etcd would not bootstrap
};

class Snapshot;
// What `verify` would find if a server answered from `snap` (no network; `dnsd check`). server is
// not used; member/peer_url are ignored.
Discovery verify_offline(const Snapshot& snap, const VerifyOptions& options);

// Prints the report to stdout. Exit 0: etcd would bootstrap; 1: it would not; 2: a usage error, or
// the server cannot be reached.
int run_verify(const VerifyOptions& options);

// What Go's resolver sees in one reply's bytes, before parsing it (exposed for tests).
struct WireFacts {
  bool readable = false;    // the sections can be walked to the end
  bool tc = false, aa = false;
  uint8_t rcode = 0;
  size_t answer_end = 0;    // offset after the answer section: Go parses no further
  std::vector<std::string> compressed_srv_targets;  // owner names of SRV records with a compressed target
};
WireFacts wire_facts(const uint8_t* msg, size_t len);

// The most Go reads of a UDP reply (go1.19's maxDNSPacketSize).
constexpr size_t go_udp_read = 1232;

}  // namespace dnsd
