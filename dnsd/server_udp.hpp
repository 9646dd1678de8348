// One worker's UDP socket: recvmmsg a batch, answer each packet, sendmmsg the replies.
// Data plane: runs on its worker's thread only.
#pragma once

#include <sys/socket.h>

#include <array>
#include <vector>

#include "raii.hpp"

namespace dnsd {

class Worker;

class UdpSocket {
 public:
  // pktinfo: the socket is bound to a wildcard address, so each reply must leave from the address
  // its query was sent to (IP_PKTINFO / IPV6_PKTINFO), or clients drop it as coming from a stranger.
  UdpSocket(Worker& worker, Fd fd, bool pktinfo);
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  // Registers the read event on the worker's base. Returns false when libevent refuses.
  bool arm();
  // How long a read waits for the next batch before the worker returns to its event loop.
  static constexpr long linger_us = 100;

 private:
  static void on_readable(evutil_socket_t fd, short what, void* self) noexcept;
  void drain() noexcept;
  void hand_over_udp(const uint8_t* msg, size_t len, const sockaddr_storage& peer, const msghdr& in) noexcept;

  Worker& worker_;
  Fd fd_;
  bool pktinfo_;
  EventPtr event_;
};

}  // namespace dnsd
