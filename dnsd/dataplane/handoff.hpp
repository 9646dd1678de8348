// Messages the workers do not answer themselves (DNS UPDATE and TSIG-signed messages: they need keys,
// ldns and the durable state) go to the control thread through a Mailbox; its replies to TCP clients
// come back through the worker's own Mailbox. UDP replies are sent by the control thread directly
// from the socket the message arrived on.
// Data plane: push() runs on any thread and never blocks on the other side; a full mailbox refuses,
// so a flood of UPDATEs costs at most `capacity` queued messages and never slows the queries.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "query.hpp"
#include "raii.hpp"

namespace dnsd {

class Worker;

struct Handoff {
  std::vector<uint8_t> message;
  Transport transport = Transport::udp;
  int udp_fd = -1;  // UDP: the socket it arrived on; the reply leaves from it
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  std::vector<uint8_t> reply_control;  // UDP: IP_PKTINFO/IPV6_PKTINFO for the reply's source address
  Worker* worker = nullptr;            // TCP: the worker holding the connection ...
  uint64_t connection = 0;             // ... and the connection's id there
  std::string source;                  // the client's address bytes (4 or 16; both transports)
};

// The control thread's answer to one handed-over TCP message: zero or more messages (a zone transfer
// is many), written in order.
struct TcpReply {
  uint64_t connection = 0;
  std::vector<std::vector<uint8_t>> messages;
};

// A bounded queue with an eventfd that is readable while items wait.
template <typename T>
class Mailbox {
 public:
  explicit Mailbox(size_t capacity);
  size_t capacity() const noexcept { return capacity_; }
  int fd() const noexcept { return fd_.get(); }
  bool push(T item) { return push(std::move(item), capacity_); }
  // The same, refused once `limit` items wait: UDP, which anyone can spoof, may fill a part of the
  // mailbox only, so that a flood of it never crowds out messages over TCP.
  bool push(T item, size_t limit);
  std::vector<T> take();      // everything waiting; clears the eventfd

 private:
  const size_t capacity_;
  Fd fd_;
  std::mutex mutex_;
  std::vector<T> items_;
};

// Sends one UDP reply as the worker would (from the right source address). False when it failed.
bool send_udp_reply(const Handoff& h, const uint8_t* reply, size_t len) noexcept;

extern template class Mailbox<Handoff>;
extern template class Mailbox<TcpReply>;

}  // namespace dnsd
