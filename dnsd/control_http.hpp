// The control endpoint (libevent evhttp): /healthz, /readyz, /metrics. Loopback by default.
// Control plane: runs on the control thread's event base.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <string>

#include "raii.hpp"

struct ssl_ctx_st;

namespace dnsd {

struct ApiRequest {
  std::string method;  // GET, PUT, DELETE...
  std::string path;
  std::string authorization;  // the Authorization header, "" when absent
  std::string body;
};
struct ApiReply {
  int status = 200;
  std::string body;  // JSON
};
// {"error": message, "field": field} (field left out when empty).
ApiReply api_error(int status, const std::string& message, const std::string& field = "");

// A JSON string literal (quotes included) with the escapes RFC 8259 requires.
std::string json_quote(std::string_view s);

class ControlHttp {
 public:
  struct Handlers {
    std::function<bool()> ready;            // zones loaded and listeners up
    std::function<std::string()> metrics;   // Prometheus text
    std::function<std::optional<std::string>(const std::string& zone)> zones;  // JSON; "" = all
    std::function<ApiReply(const ApiRequest&)> api;  // /v1/zones/{zone}/clusters/...
  };

  ControlHttp(event_base* base, Handlers handlers);
  // Binds ADDRESS:PORT ("[v6]:port" too). Returns "" or why it failed.
  std::string bind(const std::string& address, uint16_t port);
  // Serves HTTPS from now on; with a client CA every client must present a certificate it signed.
  // Throws std::runtime_error naming the file that cannot be loaded.
  void enable_tls(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file);

 private:
  static void on_request(evhttp_request* req, void* self) noexcept;
  void handle(evhttp_request* req);

  Handlers handlers_;
  HttpPtr http_;
  std::unique_ptr<ssl_ctx_st, void (*)(ssl_ctx_st*)> tls_{nullptr, nullptr};
};

}  // namespace dnsd
