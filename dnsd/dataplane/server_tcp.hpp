// One worker's TCP side (RFC 7766): a listener, and connections with 2-byte length framing, several
// queries per connection answered in order (pipelining), an idle timeout and a connection cap.
// Data plane: runs on its worker's thread only.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <vector>

#include "raii.hpp"

namespace dnsd {

class Worker;

class TcpListener {
 public:
  TcpListener(Worker& worker, Fd fd);
  bool arm();

 private:
  static void on_accept(evconnlistener* l, evutil_socket_t fd, sockaddr* addr, int len, void* self) noexcept;
  Worker& worker_;
  Fd fd_;
  ListenerPtr listener_;
};

class TcpConnection {
 public:
  // The connection state machine: reading queries, or draining replies before closing.
  enum class State { reading, closing };

  TcpConnection(Worker& worker, evutil_socket_t fd, std::string source);
  bool arm(std::list<std::unique_ptr<TcpConnection>>::iterator self);
  uint64_t id() const noexcept { return id_; }
  void set_id(uint64_t id) noexcept { id_ = id; }
  // Writes a reply the control thread produced (framed here); dropped when the connection is closing.
  void deliver(const std::vector<uint8_t>& message) noexcept;

 private:
  static void on_read(bufferevent* bev, void* self) noexcept;
  static void on_write(bufferevent* bev, void* self) noexcept;
  static void on_event(bufferevent* bev, short what, void* self) noexcept;
  void advance() noexcept;  // answers every complete query in the input buffer
  void hand_over_tcp(const uint8_t* query, size_t len) noexcept;  // UPDATE, TSIG: to the control thread
  void close() noexcept;    // frees this object

  Worker& worker_;
  BufferEventPtr bev_;
  State state_ = State::reading;
  std::string source_;  // the client's address bytes: its per-source slot
  uint64_t id_ = 0;
  std::list<std::unique_ptr<TcpConnection>>::iterator self_;
};

}  // namespace dnsd
