// One HTTP/1.1 client connection on the control thread's event base, for the health probes and their
// fetches (prober.hpp): a non-blocking socket (OpenSSL on the socket for https), one request written
// and one reply read per exchange, parsed by HttpReplyParser; the connection may be kept for the next
// exchange (keep-alive). Control plane: control thread only.
#pragma once

#include <event2/util.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "http_reply.hpp"
#include "openssl.hpp"
#include "raii.hpp"

namespace dnsd {

class HttpConnection {
 public:
  // Who hears how an exchange ended. Its calls come from the event loop (or from exchange() itself),
  // and the connection may be closed, reused or destroyed inside them.
  class Owner {
   public:
    // The exchange ended: error empty when reply() holds a complete reply; else why not. The
    // connection is idle (kept) when the reply allows it, else closed.
    virtual void exchange_ended(const std::string& error) = 0;
    // A kept connection ended before any byte of the reply (the member closed it as the request went
    // out): the request may go again on a new connection. The connection is closed.
    virtual void exchange_dropped() = 0;
    // The resolver for hosts that are not numeric addresses.
    virtual evdns_base* resolver() = 0;

   protected:
    ~Owner() = default;
  };

  // Where a new connection goes: a numeric address, or `host` resolved when `address` is empty;
  // https when `tls` is set (its certificate checked against `server_name` when `verify`).
  struct Peer {
    const std::string& host;
    const std::string& address;
    uint16_t port = 0;
    SSL_CTX* tls = nullptr;
    const std::string& server_name;
    bool verify = true;
  };

  HttpConnection(event_base* base, Owner& owner, size_t max_body) : base_(base), owner_(owner), reply_(max_body) {}
  ~HttpConnection() { close(); }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Whether a kept connection waits for the next request (exchange() then sends it on this one).
  bool idle() const noexcept { return phase_ == Phase::idle; }
  // Sends `request` (kept by the caller until the exchange ends) on the kept connection when there is
  // one, else on a new connection to `peer`, resuming `session` (DER) over https when it is not
  // empty; the owner hears how it ended, possibly before this returns.
  void exchange(const std::string& request, const Peer& peer, const std::string& session);
  // Closes the socket and the TLS session (and stops a lookup); an exchange in flight is abandoned
  // without a word to the owner.
  void close() noexcept;
  // Watches the socket on `base` from now on (the prober moves a connection between the control
  // loop's base and its batched one between exchanges; prober.cpp).
  void rebase(event_base* base);
  // The reply of the last exchange, complete when it ended without an error.
  const HttpReplyParser& reply() const noexcept { return reply_; }
  // Frees the last reply's memory (its body may be large) once it has been read.
  void forget_reply() { reply_.release(); }
  // The TLS connection (https), while open.
  SSL* ssl() const noexcept { return ssl_.get(); }
  // What the exchange in flight waits for, as a timeout's reason: "timeout (connecting)", ...
  const char* timeout_reason() const noexcept;

 private:
  enum class Phase { closed, resolving, connecting, handshake, sending, receiving, idle };
  static void on_io(evutil_socket_t, short what, void* arg) noexcept;
  static void on_resolved(int result, evutil_addrinfo* res, void* arg) noexcept;
  void open(const Peer& peer, const std::string& session);
  void connect_to(const sockaddr* addr, socklen_t len);
  void connected();
  // Runs the exchange as far as the socket allows; `what` is the event that woke it.
  void drive(short what);
  void want_write(bool on);
  void ended(const std::string& error);
  void dropped();
  // A kept connection that ended before any byte of the reply.
  bool dropped_before_reply() const noexcept { return received_ == 0 && reused_; }

  event_base* base_;
  Owner& owner_;
  int fd_ = -1;
  SslPtr ssl_;
  std::string server_name_;
  bool verify_ = true;
  uint16_t port_ = 0;
  EventPtr read_event_, write_event_;  // assigned to each new socket
  bool writing_ = false;               // write_event_ is pending
  Phase phase_ = Phase::closed;
  evdns_getaddrinfo_request* resolving_ = nullptr;
  const std::string* out_ = nullptr;  // the request
  size_t sent_ = 0;
  size_t received_ = 0;  // bytes of this exchange's reply so far
  bool reused_ = false;  // the exchange runs on a connection kept from an earlier one
  HttpReplyParser reply_;
};

}  // namespace dnsd
