// Owners for every C handle dnsd uses: unique_ptr with a deleter, so no naked *_free() elsewhere.
// Shared by both planes; each alias pulls in only the headers of its library.
#pragma once

#include <unistd.h>

#include <memory>

#ifdef DNSD_WITH_LDNS
#include "ldns.hpp"
#endif
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

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
using EventPtr = CPtr<event, event_free>;
using BufferEventPtr = CPtr<bufferevent, bufferevent_free>;
using ListenerPtr = CPtr<evconnlistener, evconnlistener_free>;
using HttpPtr = CPtr<evhttp, evhttp_free>;

#ifdef DNSD_WITH_LDNS
using RrPtr = CPtr<ldns_rr, ldns_rr_free>;
using RdfPtr = CPtr<ldns_rdf, ldns_rdf_deep_free>;
using PktPtr = CPtr<ldns_pkt, ldns_pkt_free>;
#endif

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
