// One worker's UDP socket, served by a thread of its own: a blocking recvmmsg waits for a batch, each
// packet is answered, one sendmmsg sends the replies. No event loop sits in between: an epoll round
// trip per batch (and the epoll callback on every packet) cost about 10% more CPU per answer on
// loopback than a bare recvmmsg/sendmmsg loop (tests/bench/compare.sh).
// Data plane: the thread owns its buffers, counters, RRL table and snapshot reference; it shares
// only the snapshot slot and the handoff mailbox.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "handoff.hpp"
#include "counters.hpp"
#include "raii.hpp"
#include "rrl.hpp"
#include "snapshot.hpp"

namespace dnsd {

class UdpSocket {
 public:
  static constexpr size_t batch = 32;
  static constexpr size_t reply_cap = 1232;
  // A UDP query over this is dropped (MSG_TRUNC): real ones are far smaller, and small slots keep the
  // batch in cache. The slot stride is not a power of two, so slots do not share cache sets.
  static constexpr size_t max_query = 4096;
  static constexpr size_t slot = max_query + 64;
  // A blocked read wakes up this often to notice stop(), should the wake-up by shutdown() be missed.
  static constexpr long wake_ms = 500;

  // pktinfo: the socket is bound to a wildcard address, so each reply must leave from the address
  // its query was sent to (IP_PKTINFO / IPV6_PKTINFO), or clients drop it as coming from a stranger.
  // share: how many workers split the RRL rate.
  UdpSocket(Fd fd, bool pktinfo, SnapshotSlot& snapshots, Mailbox<Handoff>& handoff, unsigned share);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  void start();
  void stop() noexcept;  // thread-safe; joins the thread
  const Counters& counters() const noexcept { return counters_; }

 private:
  void run() noexcept;
  bool serve_batch() noexcept;  // false when the socket has been shut down
  void hand_over_udp(const uint8_t* msg, size_t len, const sockaddr_storage& peer, const msghdr& in) noexcept;

  Fd fd_;
  bool pktinfo_;
  SnapshotSlot& slot_;
  Mailbox<Handoff>& handoff_;
  uint64_t generation_ = 0;
  std::shared_ptr<const Snapshot> snapshot_;
  Counters counters_;
  Rrl rrl_;
  Rrl handoff_limit_;  // messages for the control thread, per source (not configurable: see handoff_rate)
  std::vector<uint8_t> queries_;
  std::vector<uint8_t> replies_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace dnsd
