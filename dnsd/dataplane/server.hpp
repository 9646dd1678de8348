// The DNS workers: each with its own SO_REUSEPORT UDP and TCP sockets on every listen address. A
// worker's TCP side runs on its own event base and thread; each of its UDP sockets has a thread of its
// own blocking in recvmmsg (server_udp.hpp). They share only the snapshot slot and the handoff mailbox.
// Data plane: Server is built and started by main on the main thread; workers run on their own threads.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "endpoint.hpp"
#include "handoff.hpp"
#include "counters.hpp"
#include "raii.hpp"
#include "result.hpp"
#include "server_tcp.hpp"
#include "snapshot.hpp"

namespace dnsd {

struct ServerOptions {
  std::vector<Endpoint> listen;
  unsigned workers = 1;
  uint32_t tcp_idle_timeout_ms = 10000;
  uint32_t tcp_message_timeout_ms = 5000;  // from a message's first byte to its last
  uint32_t tcp_max_connections = 1000;  // per worker
  uint32_t tcp_max_per_source = 100;    // per worker and client address
  size_t tcp_output_budget = 32u << 20;  // per worker: replies queued for clients that do not read
};

class UdpSocket;

class Worker {
 public:
  static constexpr size_t max_query = 65535;

  Worker(SnapshotSlot& slot, const ServerOptions& options, Mailbox<Handoff>& handoff);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Adds this worker's sockets (already bound and listening; pktinfo when bound to a wildcard
  // address). Fails when libevent cannot take them.
  Result<void> add_sockets(Fd udp, Fd tcp, bool pktinfo);
  void start();
  void stop() noexcept;  // thread-safe: breaks the loop; start()'s thread is joined

  // The snapshot TCP answers from: reloaded only when the slot's generation changed.
  const Snapshot* snapshot() noexcept;
  event_base* base() const noexcept { return base_.get(); }
  Counters& counters() noexcept { return counters_; }  // TCP's; each UDP socket counts its own
  std::vector<const Counters*> all_counters() const;
  const ServerOptions& options() const noexcept { return options_; }
  // Scratch buffers reused by every TCP message of this worker.
  uint8_t* query_buffer() noexcept { return query_buf_.data(); }
  uint8_t* reply_buffer() noexcept { return reply_buf_.data(); }

  // This worker's TCP connections (server_tcp.hpp).
  TcpTable& tcp() noexcept { return tcp_; }

  // Messages for the control thread (UPDATE, TSIG), and its replies to this worker's TCP clients:
  // delivered on this worker's thread to the connection, if it is still open.
  Mailbox<Handoff>& handoff() noexcept { return handoff_; }
  void post_tcp_reply(TcpReply reply);

 private:
  SnapshotSlot& slot_;
  const ServerOptions& options_;
  EventBasePtr base_;
  Counters counters_;
  uint64_t generation_ = 0;
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<uint8_t> query_buf_;
  std::vector<uint8_t> reply_buf_;
  std::vector<std::unique_ptr<UdpSocket>> udp_;
  std::vector<std::unique_ptr<TcpListener>> listeners_;
  TcpTable tcp_{options_};
  Mailbox<Handoff>& handoff_;
  Mailbox<TcpReply> tcp_replies_{256};
  EventPtr tcp_replies_event_;
  std::thread thread_;
};

class Server {
 public:
  Server(SnapshotSlot& slot, ServerOptions options);
  ~Server();

  // Binds every listen address for every worker. A port held by another process is an error, never
  // shared through SO_REUSEPORT. Port 0 picks a free port (the same for all workers). The error names
  // the address.
  Result<void> bind();
  void start();
  void stop() noexcept;
  std::vector<const Counters*> counters() const;
  const std::vector<Endpoint>& bound() const noexcept { return options_.listen; }
  Mailbox<Handoff>& handoff() noexcept { return handoff_; }

 private:
  SnapshotSlot& slot_;
  ServerOptions options_;
  Mailbox<Handoff> handoff_{256};
  std::vector<std::unique_ptr<Worker>> workers_;
};

// Number of CPUs this process may run on (its affinity mask), at least 1: `workers: auto`.
unsigned usable_cpus();

}  // namespace dnsd
