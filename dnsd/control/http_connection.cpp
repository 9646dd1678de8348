// One HTTP/1.1 client connection (see http_connection.hpp). The request and the reply go straight
// through the non-blocking socket (send/recv, or SSL_write/SSL_read on it). The socket's read event
// stays armed for the connection's life; a write event is armed only while a write or a TLS step waits
// for room. A reply that allows it leaves the connection idle for the next exchange; a member that
// closes an idle connection (or says what nobody asked) closes it here.
#include "http_connection.hpp"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "names.hpp"

namespace dnsd {

namespace {

// OpenSSL's reasons for the last failed call on `ssl` (the error queue, then the certificate check's
// verdict), or the system's when the queue is empty.
std::string tls_error(SSL* ssl, int ret, int err) {
  std::string out;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  if (const long verify = SSL_get_verify_result(ssl); verify != X509_V_OK && out.find("verify failed") != std::string::npos)
    out += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  if (out.empty()) out = ret == 0 || err == 0 ? "connection closed" : std::strerror(err);
  return "TLS: " + out;
}

}  // namespace

void HttpConnection::exchange(const std::string& request, const Peer& peer, const std::string& session) {
  out_ = &request;
  sent_ = 0;
  received_ = 0;
  reply_.reset();
  reused_ = phase_ == Phase::idle;
  if (!reused_) return open(peer, session);
  phase_ = Phase::sending;
  drive(EV_WRITE);
}

void HttpConnection::close() noexcept {
  if (resolving_) {
    evdns_getaddrinfo_request* request = resolving_;
    resolving_ = nullptr;
    evdns_getaddrinfo_cancel(request);
  }
  if (read_event_) event_del(read_event_.get());
  if (write_event_) event_del(write_event_.get());
  writing_ = false;
  ssl_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  phase_ = Phase::closed;
}

const char* HttpConnection::timeout_reason() const noexcept {
  switch (phase_) {
    case Phase::resolving: return "timeout (resolving the host)";
    case Phase::connecting: return "timeout (connecting)";
    case Phase::handshake: return "timeout (TLS handshake)";
    default: return "timeout (no reply)";
  }
}

void HttpConnection::open(const Peer& peer, const std::string& session) {
  close();
  port_ = peer.port;
  if (peer.tls) {
    server_name_ = peer.server_name;
    verify_ = peer.verify;
    ssl_.reset(SSL_new(peer.tls));
    if (!ssl_) return ended("cannot create a TLS session");
    if (!session.empty()) {  // the server decides whether it resumes
      const auto* der = reinterpret_cast<const unsigned char*>(session.data());
      if (const SslSessionPtr resume{d2i_SSL_SESSION(nullptr, &der, long(session.size()))}) SSL_set_session(ssl_.get(), resume.get());
    }
  }
  const std::string& to = peer.address.empty() ? peer.host : peer.address;
  sockaddr_storage addr{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, to.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port_);
    connect_to(reinterpret_cast<sockaddr*>(v4), sizeof *v4);
  } else if (inet_pton(AF_INET6, to.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port_);
    connect_to(reinterpret_cast<sockaddr*>(v6), sizeof *v6);
  } else {
    evutil_addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    phase_ = Phase::resolving;
    // The callback may run before this returns (then there is no request to keep).
    evdns_getaddrinfo_request* request =
        evdns_getaddrinfo(owner_.resolver(), to.c_str(), nullptr, &hints, &HttpConnection::on_resolved, this);
    if (phase_ == Phase::resolving) resolving_ = request;
  }
}

void HttpConnection::on_resolved(int result, evutil_addrinfo* res, void* arg) noexcept {
  if (result == EVUTIL_EAI_CANCEL) return;  // close() cancelled it: the connection may be gone
  auto* c = static_cast<HttpConnection*>(arg);
  c->resolving_ = nullptr;
  if (result != 0 || !res) {
    if (res) evutil_freeaddrinfo(res);
    return c->ended(std::string("cannot resolve the member's host: ") + evutil_gai_strerror(result));
  }
  sockaddr_storage addr{};
  const socklen_t len = socklen_t(std::min<size_t>(res->ai_addrlen, sizeof addr));
  std::memcpy(&addr, res->ai_addr, len);
  evutil_freeaddrinfo(res);
  if (addr.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(c->port_);
  else reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(c->port_);
  c->connect_to(reinterpret_cast<sockaddr*>(&addr), len);
}

void HttpConnection::rebase(event_base* base) {
  if (base == base_) return;
  base_ = base;
  if (fd_ < 0 || !read_event_) return;  // the next socket is watched there
  event_del(read_event_.get());
  event_del(write_event_.get());
  event_assign(read_event_.get(), base_, fd_, EV_READ | EV_PERSIST, &HttpConnection::on_io, this);
  event_assign(write_event_.get(), base_, fd_, EV_WRITE, &HttpConnection::on_io, this);
  event_add(read_event_.get(), nullptr);
  if (writing_) event_add(write_event_.get(), nullptr);
}

void HttpConnection::connect_to(const sockaddr* addr, socklen_t len) {
  fd_ = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return ended(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!read_event_) {
    read_event_.reset(event_new(base_, fd_, EV_READ | EV_PERSIST, &HttpConnection::on_io, this));
    write_event_.reset(event_new(base_, fd_, EV_WRITE, &HttpConnection::on_io, this));
  } else {
    event_assign(read_event_.get(), base_, fd_, EV_READ | EV_PERSIST, &HttpConnection::on_io, this);
    event_assign(write_event_.get(), base_, fd_, EV_WRITE, &HttpConnection::on_io, this);
  }
  if (!read_event_ || !write_event_ || event_add(read_event_.get(), nullptr) != 0)
    return ended("cannot watch the connection");
  if (::connect(fd_, addr, len) == 0) return connected();
  if (errno != EINPROGRESS) return ended(std::string("connect: ") + std::strerror(errno));
  phase_ = Phase::connecting;
  want_write(true);
}

void HttpConnection::connected() {
  if (!ssl_) {
    phase_ = Phase::sending;
    return drive(EV_WRITE);
  }
  SSL* ssl = ssl_.get();
  if (!is_ip_address(server_name_)) SSL_set_tlsext_host_name(ssl, server_name_.c_str());
  // The member's certificate must be valid for its host name (or the configured server_name).
  if (verify_) verify_peer_name(ssl, server_name_);
  SSL_set_read_ahead(ssl, 1);  // a record in one read, not its header and then its body
  // Between exchanges a kept connection holds no record buffers (32 KiB each otherwise: 10,000
  // members would keep 330 MB).
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_fd(ssl, fd_);
  SSL_set_connect_state(ssl);
  phase_ = Phase::handshake;
  drive(EV_WRITE);
}

void HttpConnection::on_io(evutil_socket_t, short what, void* arg) noexcept {
  auto* c = static_cast<HttpConnection*>(arg);
  if (what & EV_WRITE) c->writing_ = false;
  c->drive(what);
}

void HttpConnection::want_write(bool on) {
  if (on == writing_) return;
  if (on) event_add(write_event_.get(), nullptr);
  else event_del(write_event_.get());
  writing_ = on;
}

void HttpConnection::drive(short what) {
  SSL* ssl = ssl_.get();
  for (;;) {
    switch (phase_) {
      case Phase::closed:
      case Phase::resolving: return;
      case Phase::connecting: {
        if (!(what & EV_WRITE)) return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err == EINPROGRESS) return;
        if (err != 0) return ended(std::string("connect: ") + std::strerror(err));
        return connected();
      }
      case Phase::handshake: {
        ERR_clear_error();
        const int r = SSL_do_handshake(ssl);
        const int err = errno;
        if (r == 1) {
          phase_ = Phase::sending;
          break;
        }
        const int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return want_write(e == SSL_ERROR_WANT_WRITE);
        return ended(tls_error(ssl, r, err));
      }
      case Phase::sending: {
        const char* data = out_->data() + sent_;
        const size_t size = out_->size() - sent_;
        if (ssl) {
          ERR_clear_error();
          const int r = SSL_write(ssl, data, int(size));  // all of it, or retried with the same bytes
          const int err = errno;
          if (r <= 0) {
            const int e = SSL_get_error(ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return want_write(e == SSL_ERROR_WANT_WRITE);
            return ended(tls_error(ssl, r, err));
          }
          sent_ += size_t(r);
        } else {
          const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return want_write(true);
          if (n < 0) return ended(std::string("send: ") + std::strerror(errno));
          sent_ += size_t(n);
        }
        if (sent_ < out_->size()) return want_write(true);
        want_write(false);
        phase_ = Phase::receiving;
        // The reply comes with the read event; TLS may hold bytes already read (with the handshake).
        if (!ssl || !SSL_has_pending(ssl)) return;
        break;
      }
      case Phase::receiving:
      case Phase::idle: {
        char buf[16384];
        ssize_t n;
        if (ssl) {
          ERR_clear_error();
          const int r = SSL_read(ssl, buf, sizeof buf);
          const int err = errno;
          n = r;
          if (r <= 0) {
            const int e = SSL_get_error(ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return want_write(e == SSL_ERROR_WANT_WRITE);
            if (e != SSL_ERROR_ZERO_RETURN && !(e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && r == 0)) {
              if (phase_ == Phase::idle) return close();
              if (e == SSL_ERROR_SYSCALL && dropped_before_reply()) return dropped();
              return ended(tls_error(ssl, r, err));
            }
            n = 0;  // close_notify, or the connection's end
          }
        } else {
          n = ::recv(fd_, buf, sizeof buf, 0);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
          if (n < 0) {
            if (phase_ == Phase::idle) return close();
            if (errno == ECONNRESET && dropped_before_reply()) return dropped();
            return ended(std::string("recv: ") + std::strerror(errno));
          }
        }
        // An idle connection that the member closed (or that says what nobody asked) is done with.
        if (phase_ == Phase::idle) return close();
        received_ += size_t(n);
        if (n == 0 && dropped_before_reply()) return dropped();
        const HttpReplyParser::State s = n == 0 ? reply_.end() : reply_.feed(std::string_view(buf, size_t(n)));
        if (s == HttpReplyParser::State::done) return ended("");
        if (s == HttpReplyParser::State::error) {
          const bool closed = n == 0 && reply_.error().find("before a reply") != std::string::npos;
          return ended(closed ? "connection closed before a reply" : "invalid HTTP reply: " + reply_.error());
        }
        break;  // more to read: read until the socket has nothing (TLS: until OpenSSL wants more)
      }
    }
  }
}

void HttpConnection::ended(const std::string& error) {
  if (error.empty() && reply_.keep_alive()) phase_ = Phase::idle;
  else close();
  owner_.exchange_ended(error);
}

void HttpConnection::dropped() {
  close();
  owner_.exchange_dropped();
}

}  // namespace dnsd
