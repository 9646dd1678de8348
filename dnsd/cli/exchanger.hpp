// The DNS client of `dnsd verify`: what asks a server the way Go's resolver (go1.19, as in etcd 3.4.23)
// does, and the same questions put to a compiled snapshot in this process (`dnsd check`), behind one
// interface so that both tell the same story. Blocking I/O; its own process.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "counters.hpp"
#include "endpoint.hpp"

namespace dnsd {

class Snapshot;

// The reply to one question: its bytes, whether it came over TCP (after TC), or why none came.
struct Reply {
  std::vector<uint8_t> bytes;
  bool tcp = false;
  std::string failure;  // "" when a reply came
};

// The query Go sends: RD, EDNS0 with a 1232-byte UDP size.
std::vector<uint8_t> go_query(const std::string& name, uint16_t qtype, uint16_t id);

// Where the lookups go: a server over the network, or a snapshot in this process (`dnsd check`).
class Exchanger {
 public:
  virtual ~Exchanger() = default;
  virtual Reply exchange(const std::string& name, uint16_t qtype) = 0;
  virtual std::string text() const = 0;  // names the server in etcd's messages
};

// A server over the network, as Go's resolver asks it: UDP with EDNS0 (1232), the reply matched by ID
// and question (anything else is ignored, and the wait goes on); over TCP when TC is set. Each try
// waits 2 s; two tries.
class Client : public Exchanger {
 public:
  explicit Client(Endpoint server) : server_(std::move(server)) {}
  std::string text() const override { return server_.text; }
  Reply exchange(const std::string& name, uint16_t qtype) override;

 private:
  std::string udp(const std::vector<uint8_t>& q, std::vector<uint8_t>& out);
  std::string tcp(const std::vector<uint8_t>& q, std::vector<uint8_t>& out);

  Endpoint server_;
  std::mt19937 rng_{std::random_device{}()};
};

// A compiled snapshot as the server: each query answered by query_process, as a worker would, over
// UDP and again over TCP when the reply is truncated.
class SnapshotExchanger : public Exchanger {
 public:
  explicit SnapshotExchanger(const Snapshot& snap) : snap_(snap) {}
  std::string text() const override { return "the configured zones"; }
  Reply exchange(const std::string& name, uint16_t qtype) override;

 private:
  const Snapshot& snap_;
  Counters counters_;
};

}  // namespace dnsd
