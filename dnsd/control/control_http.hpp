// The control endpoint: an HTTP(S) server on the control thread's event base (libevent evhttp) that
// routes each request to the service that registered its path. Services answer HttpReply values;
// this file owns the wire (headers, status lines, TLS, timeouts and size limits).
// Control plane: control thread only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "raii.hpp"
#include "result.hpp"
#include "openssl.hpp"

namespace dnsd {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE, or OTHER
  std::string path;
  std::string authorization;  // the Authorization header, "" when absent
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// A JSON error reply: {"error": message, "field": field}.
HttpReply http_error(int status, const std::string& message, const std::string& field = "");

class ControlHttp {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  using Matcher = std::function<bool(std::string_view path)>;

  explicit ControlHttp(event_base* base);

  // Requests whose path `match` accepts go to `handler`; routes are tried in the order added and the
  // first match wins. read_only: methods other than GET and HEAD get 405 before the handler runs.
  void route(Matcher match, Handler handler, bool read_only = true);
  // The same for one exact path.
  void route(std::string path, Handler handler, bool read_only = true);

  // Serves HTTPS from now on; with a client CA every client must present a certificate it signed.
  // Throws std::runtime_error naming the file that cannot be loaded.
  void enable_tls(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file);
  // Binds ADDRESS:PORT ("[v6]:port" too); io error naming the address when it cannot.
  Result<void> bind(const std::string& address, uint16_t port);

 private:
  struct Route {
    Matcher match;
    Handler handler;
    bool read_only;
  };
  static void on_request(evhttp_request* req, void* self) noexcept;
  void handle(evhttp_request* req);

  std::vector<Route> routes_;
  HttpPtr http_;
  SslCtxPtr tls_;
};

}  // namespace dnsd
