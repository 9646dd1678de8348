// A small blocking HTTP/1.1 client for the CLI (`dnsd register`): the control API and etcd's v3
// JSON gateway. One request per connection (Connection: close), Content-Length or chunked replies,
// TLS through OpenSSL, and a deadline on every step (connect, handshake, each read and write, the
// whole exchange). Runs in its own process; never linked into the daemon's threads' paths.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace dnsd {

struct HttpTarget {
  std::string host;     // Host header, and the name the server's certificate must match
  std::string port;
  std::string address;  // numeric address to connect to; empty: resolve host
  bool tls = false;
  std::shared_ptr<SSL_CTX> ctx;  // https only
  std::string label() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

struct HttpResult {
  int status = 0;
  std::string body;
};

// The server could not be reached or did not answer in time (worth retrying), as opposed to an
// answer that says no.
struct Unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Splits http[s]://HOST[:PORT][/...] (HOST may be [v6]); the TLS context is the caller's. Throws
// std::runtime_error for anything else, naming `what` (the option it came from).
HttpTarget parse_http_url(const std::string& url, const std::string& what);

// One exchange. `headers` are extra lines, each ending in "\r\n". Throws Unreachable (connect, TLS
// handshake, timeout, a reply that is not HTTP) or std::runtime_error (TLS certificate refused).
HttpResult http_exchange(const HttpTarget& target, const std::string& method, const std::string& path,
                         const std::string& headers, const std::string& body, double timeout_s);

}  // namespace dnsd
