// Owners for C handles: unique_ptr with a deleter, so that no *_free() is called by hand. This file
// holds the template, file descriptors and libevent's handles (both planes use libevent); the control
// plane's ldns and OpenSSL owners live beside their libraries (control/ldns.hpp, control/tls.hpp).
// Shared by both planes; header only.
#pragma once

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <unistd.h>

#include <memory>

namespace dnsd {

template <typename T, void (*Free)(T*)>
struct CDeleter {
  void operator()(T* p) const noexcept {
    if (p) Free(p);
  }
};
template <typename T, void (*Free)(T*)>
using CPtr = std::unique_ptr<T, CDeleter<T, Free>>;

using EventBasePtr = CPtr<event_base, event_base_free>;
using EventConfigPtr = CPtr<event_config, event_config_free>;
using EventPtr = CPtr<event, event_free>;
using EvBufferPtr = CPtr<evbuffer, evbuffer_free>;
using BufferEventPtr = CPtr<bufferevent, bufferevent_free>;
using ListenerPtr = CPtr<evconnlistener, evconnlistener_free>;

struct DnsBaseFree {
  void operator()(evdns_base* dns) const noexcept {
    if (dns) evdns_base_free(dns, 0);  // 0: pending lookups are dropped without their callbacks
  }
};
using DnsBasePtr = std::unique_ptr<evdns_base, DnsBaseFree>;

// A file descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const noexcept { return fd_; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace dnsd
