// The CLI's blocking HTTP/1.1 client (see http_client.hpp).
#include "http_client.hpp"

#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "http_reply.hpp"
#include "openssl.hpp"
#include "raii.hpp"

namespace dnsd {

namespace {

using Clock = std::chrono::steady_clock;
using AddrInfoPtr = CPtr<addrinfo, freeaddrinfo>;
constexpr size_t max_reply = 4 << 20;  // a member list of thousands fits; a hostile server does not fill memory

std::string tls_error() {
  const unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return e ? buf : "TLS failure";
}

}  // namespace

HttpTarget parse_http_url(const std::string& url, const std::string& what) {
  const bool tls = url.rfind("https://", 0) == 0;
  if (!tls && url.rfind("http://", 0) != 0)
    throw std::runtime_error(what + " must be http://HOST:PORT or https://HOST:PORT, not '" + url + "'");
  std::string rest = url.substr(tls ? 8 : 7);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  HttpTarget t;
  t.tls = tls;
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') {
    t.host = rest;
    t.port = tls ? "443" : "80";
  } else {
    t.host = rest.substr(0, colon);
    t.port = rest.substr(colon + 1);
  }
  if (t.host.size() > 1 && t.host.front() == '[') t.host = t.host.substr(1, t.host.size() - 2);
  if (t.host.empty() || t.port.empty()) throw std::runtime_error(what + " has no host or port: '" + url + "'");
  return t;
}

HttpResult http_exchange(const HttpTarget& t, const std::string& method, const std::string& path,
                         const std::string& headers, const std::string& body, double timeout_s) {
  const Clock::time_point deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = t.address.empty() ? 0 : AI_NUMERICHOST;
  addrinfo* found = nullptr;
  const std::string& connect_to = t.address.empty() ? t.host : t.address;
  if (int rc = getaddrinfo(connect_to.c_str(), t.port.c_str(), &hints, &found); rc != 0)
    throw Unreachable("cannot resolve " + connect_to + ": " + gai_strerror(rc));
  const AddrInfoPtr res(found);
  Fd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw Unreachable(std::string("socket: ") + std::strerror(errno));
  // Every blocking step (connect included, on Linux) gives up after the timeout.
  timeval tv{};
  tv.tv_sec = time_t(timeout_s);
  tv.tv_usec = suseconds_t((timeout_s - double(tv.tv_sec)) * 1e6);
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), res->ai_addr, res->ai_addrlen) != 0) {
    const int err = errno;
    throw Unreachable("cannot connect to " + connect_to + ":" + t.port + ": " +
                      (err == EINPROGRESS ? "timed out" : std::strerror(err)));
  }
  SslPtr ssl;
  if (t.tls) {
    ssl.reset(SSL_new(t.ctx.get()));
    if (!ssl) throw std::runtime_error("cannot create a TLS session");
    verify_peer_name(ssl.get(), t.host);  // the certificate must be valid for the URL's host
    SSL_set_fd(ssl.get(), fd.get());
    if (SSL_connect(ssl.get()) != 1) throw std::runtime_error("TLS with " + t.label() + ": " + tls_error());
  }
  auto send_some = [&](const char* p, size_t n) -> ssize_t {
    return ssl ? SSL_write(ssl.get(), p, int(n)) : ::send(fd.get(), p, n, MSG_NOSIGNAL);
  };
  auto recv_some = [&](char* p, size_t n) -> ssize_t {
    return ssl ? SSL_read(ssl.get(), p, int(n)) : ::recv(fd.get(), p, n, 0);
  };
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + t.host + "\r\nConnection: close\r\n" + headers;
  if (!body.empty() || method == "PUT" || method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  for (size_t sent = 0; sent < req.size();) {
    const ssize_t n = send_some(req.data() + sent, req.size() - sent);
    if (n <= 0) throw Unreachable("connection to " + t.label() + " lost while sending");
    sent += size_t(n);
  }
  HttpReplyParser reply(max_reply);
  char buf[8192];
  for (;;) {
    if (Clock::now() > deadline) throw Unreachable("no reply from " + t.label() + " within " + std::to_string(int(timeout_s)) + " s");
    const ssize_t n = recv_some(buf, sizeof buf);
    if (n < 0 && !ssl) {
      const int err = errno;
      throw Unreachable(err == EAGAIN || err == EWOULDBLOCK ? "no reply from " + t.label() + " in time"
                                                             : "connection to " + t.label() + " lost while reading");
    }
    // n <= 0: the end of the stream (TLS: close_notify, or an error the reply check reports).
    const HttpReplyParser::State state = n <= 0 ? reply.end() : reply.feed(std::string_view(buf, size_t(n)));
    if (state == HttpReplyParser::State::error) throw Unreachable("a bad reply from " + t.label() + ": " + reply.error());
    if (state == HttpReplyParser::State::done) return {reply.status(), reply.body()};
  }
}

}  // namespace dnsd
