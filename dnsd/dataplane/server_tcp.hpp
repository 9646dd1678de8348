// One worker's TCP side (RFC 7766): a listener, connections with 2-byte length framing and several
// queries per connection answered in order (pipelining), and the table that bounds what clients can
// hold: connections in all and per client address, an idle timeout, a deadline for a whole message
// (a trickle of bytes cannot keep a connection), and the output queued for clients that do not read,
// per connection and per worker. A full table makes room by closing the connection idle the longest
// (as Knot does), else one stuck in a message for more than a second: new clients are served while
// the table is full of idle or trickling connections.
// Data plane: runs on its worker's thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "raii.hpp"

namespace dnsd {

class Worker;
class TcpConnection;
struct ServerOptions;

class TcpListener {
 public:
  TcpListener(Worker& worker, Fd fd);
  bool arm();

 private:
  static void on_accept(evconnlistener* l, evutil_socket_t fd, sockaddr* addr, int len, void* self) noexcept;
  static void on_accept_error(evconnlistener* l, void* self) noexcept;
  Worker& worker_;
  Fd fd_;
  ListenerPtr listener_;
  EventPtr resume_;  // re-enables accepting after a pause (EMFILE)
};

class TcpTable {
 public:
  using List = std::list<std::unique_ptr<TcpConnection>>;

  explicit TcpTable(const ServerOptions& options) : options_(options) {}
  ~TcpTable();

  // Whether a new connection from `source` (address bytes) may be taken. When the table is full the
  // connection idle the longest is closed to make room; when none is idle, the newcomer is refused.
  bool admit(const std::string& source) noexcept;
  List::iterator adopt(std::unique_ptr<TcpConnection> c);
  void release(List::iterator it) noexcept;  // frees the connection
  void touch(List::iterator it) noexcept;    // now the most recently active
  TcpConnection* find(uint64_t id) noexcept;
  size_t size() const noexcept { return connections_.size(); }
  void clear() noexcept;

  // Output queued for clients across the worker's connections (kept by each connection's buffer).
  void output_changed(long delta) noexcept;
  bool output_over_budget() const noexcept;

 private:
  const ServerOptions& options_;
  List connections_;  // least recently active first
  std::unordered_map<std::string, uint32_t> per_source_;
  std::unordered_map<uint64_t, TcpConnection*> by_id_;
  uint64_t next_id_ = 0;
  size_t output_bytes_ = 0;
  size_t output_peak_ = 0;  // since memory was last given back
};

class TcpConnection {
 public:
  // The connection state machine: reading queries, or finishing (replies still being written or
  // still expected from the control thread) before closing.
  enum class State { reading, closing };

  TcpConnection(Worker& worker, evutil_socket_t fd, std::string source);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;
  bool arm(TcpTable::List::iterator self);
  uint64_t id() const noexcept { return id_; }
  void set_id(uint64_t id) noexcept { id_ = id; }
  const std::string& source() const noexcept { return source_; }
  size_t output_bytes() const noexcept;
  // Nothing in flight: no partial query, no reply queued or expected. Such a connection may be
  // closed to make room for a new client.
  bool idle() const noexcept;
  // A message started long ago and still incomplete (a real client's arrives within milliseconds):
  // when no connection is idle, such a one is closed to make room too.
  bool stalled(std::chrono::steady_clock::time_point now) const noexcept;
  // Writes a reply the control thread produced (framed here), also while closing.
  void deliver(const std::vector<std::vector<uint8_t>>& messages) noexcept;

 private:
  static void on_read(bufferevent* bev, void* self) noexcept;
  static void on_write(bufferevent* bev, void* self) noexcept;
  static void on_event(bufferevent* bev, short what, void* self) noexcept;
  static void on_deadline(evutil_socket_t, short, void* self) noexcept;
  static void on_output(evbuffer* buffer, const evbuffer_cb_info* info, void* self) noexcept;
  void advance() noexcept;  // answers every complete query in the input buffer
  void hand_over_tcp(const uint8_t* query, size_t len) noexcept;  // UPDATE, TSIG: to the control thread
  void finish_or_close() noexcept;  // closing: closes once nothing is left to write or expected
  void close() noexcept;            // frees this object

  Worker& worker_;
  BufferEventPtr bev_;
  evbuffer_cb_entry* output_cb_ = nullptr;  // removed before the buffer goes: it points at this
  EventPtr deadline_;  // a partial message must complete by then; a closing connection must finish
  bool deadline_armed_ = false;
  std::chrono::steady_clock::time_point partial_since_{};  // when the incomplete message began
  State state_ = State::reading;
  std::string source_;  // the client's address bytes: its per-source slot
  uint32_t pending_replies_ = 0;  // messages handed to the control thread, replies not yet delivered
  uint64_t id_ = 0;
  TcpTable::List::iterator self_;
};

}  // namespace dnsd
