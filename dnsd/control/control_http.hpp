// The control endpoint: a small HTTP/1.1 server (one request per connection) on the control thread's
// event base that routes each request to the service that registered its path. Services answer
// HttpReply values; this file owns the wire, TLS, and what a crowd of slow or hostile clients may
// hold: a connection cap in all and per source, one deadline for a whole request (headers and body
// together, not per read), bounded headers and bodies, and an accept loop that pauses instead of
// spinning when the process runs out of file descriptors (docs/ARCHITECTURE.md, "Limits").
// Control plane: control thread only.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "openssl.hpp"
#include "raii.hpp"
#include "result.hpp"

namespace dnsd {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE, or what the client sent
  std::string path;    // without the query string
  std::string authorization;  // the Authorization header, "" when absent
  std::string peer;           // the client's address, as text (for log lines)
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// A JSON error reply: {"error": message, "field": field}.
HttpReply http_error(int status, const std::string& message, const std::string& field = "");

// What a request's header block (request line and headers, without the blank line) says, or the
// status that refuses it: malformed lines 400, two Content-Length headers 400 (RFC 9112 §6.3: how
// requests are smuggled), a body over max_body 413, chunked bodies 411, another HTTP version 505.
struct HttpHead {
  int error = 0;  // an HTTP status when the block is refused
  std::string message;
  HttpRequest request;  // method, path, authorization; no body yet
  size_t content_length = 0;
  bool expect_continue = false;
};
HttpHead parse_http_head(std::string_view block, size_t max_body);

struct HttpLimits {
  size_t max_connections = 512;        // in all; 20 sources at their cap stay well under it
  size_t max_connections_per_source = 16;
  uint32_t request_timeout_ms = 10000;  // accept to the last byte of the request
  size_t max_header_bytes = 8192;
  size_t max_body_bytes = 65536;
};

class ControlHttp {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  using Matcher = std::function<bool(std::string_view path)>;

  ControlHttp(event_base* base, HttpLimits limits = {});
  ~ControlHttp();
  ControlHttp(const ControlHttp&) = delete;
  ControlHttp& operator=(const ControlHttp&) = delete;

  // Requests whose path `match` accepts go to `handler`; routes are tried in the order added and the
  // first match wins. read_only: methods other than GET and HEAD get 405 before the handler runs.
  void route(Matcher match, Handler handler, bool read_only = true);
  // The same for one exact path.
  void route(std::string path, Handler handler, bool read_only = true);

  // Serves HTTPS from now on; with a client CA every client must present a certificate it signed.
  // Throws std::runtime_error naming the file that cannot be loaded.
  void enable_tls(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file);
  // Binds ADDRESS:PORT; an io error names the address and the system's reason.
  Result<void> bind(const std::string& address, uint16_t port);

  // Prometheus text: connections open, refused by the caps, closed at the deadline.
  std::string metrics() const;
  // The answer to one request, as routed (also what tests and fuzzing call).
  HttpReply dispatch(const HttpRequest& request) const;

 private:
  struct Route {
    Matcher match;
    Handler handler;
    bool read_only;
  };
  struct Connection;
  using Connections = std::list<std::unique_ptr<Connection>>;

  static void on_accept(evconnlistener* listener, evutil_socket_t fd, sockaddr* addr, int len, void* self) noexcept;
  static void on_accept_error(evconnlistener* listener, void* self) noexcept;
  void accept(evutil_socket_t fd, sockaddr* addr);
  void close(Connections::iterator it) noexcept;
  void respond(Connection& c, const HttpReply& reply);
  void advance(Connections::iterator it);

  event_base* base_;
  HttpLimits limits_;
  std::vector<Route> routes_;
  SslCtxPtr tls_;
  ListenerPtr listener_;
  EventPtr resume_;  // re-enables accepting after a pause (EMFILE)
  Connections connections_;
  std::map<std::string, size_t> per_source_;
  std::time_t last_accept_error_log_ = 0;
  uint64_t refused_ = 0, timed_out_ = 0, accept_errors_ = 0;
};

}  // namespace dnsd
