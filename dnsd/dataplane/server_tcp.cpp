// TCP serving (see server_tcp.hpp).
#include "server_tcp.hpp"

#include <event2/buffer.h>
#include <netinet/in.h>

#include <ctime>

#include "query.hpp"
#include "server.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {
// Stop reading from a client that does not read its replies once this much is queued for it.
constexpr size_t output_high_water = 256 * 1024;
}  // namespace

TcpListener::TcpListener(Worker& worker, Fd fd) : worker_(worker), fd_(std::move(fd)) {}

bool TcpListener::arm() {
  listener_.reset(evconnlistener_new(worker_.base(), &TcpListener::on_accept, this, LEV_OPT_CLOSE_ON_EXEC, 0,
                                     fd_.get()));
  return bool(listener_);
}


void TcpListener::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* addr, int, void* self) noexcept {
  Worker& w = static_cast<TcpListener*>(self)->worker_;
  try {
    std::string source(address_bytes(addr));  // the key of the per-source connection cap
    // Over a cap the connection is closed at once: new clients must not starve the ones served.
    if (!w.tcp_admit(source)) {
      evutil_closesocket(fd);
      bump(w.counters().tcp_refused);
      return;
    }
    bump(w.counters().tcp_connections);
    auto it = w.tcp_adopt(std::make_unique<TcpConnection>(w, fd, source), source);
    if (!(*it)->arm(it)) w.tcp_release(it, source);
  } catch (...) {
    evutil_closesocket(fd);  // out of memory: drop this client, keep serving
  }
}

TcpConnection::TcpConnection(Worker& worker, evutil_socket_t fd, std::string source)
    : worker_(worker), bev_(bufferevent_socket_new(worker.base(), fd, BEV_OPT_CLOSE_ON_FREE)), source_(std::move(source)) {
  if (!bev_) evutil_closesocket(fd);
}

bool TcpConnection::arm(std::list<std::unique_ptr<TcpConnection>>::iterator self) {
  self_ = self;
  if (!bev_) return false;
  bufferevent_setcb(bev_.get(), &TcpConnection::on_read, &TcpConnection::on_write, &TcpConnection::on_event, this);
  // One timeout for idle reads and for stalled writes (RFC 7766 §6.2.3).
  const uint32_t ms = worker_.options().tcp_idle_timeout_ms;
  const timeval tv{long(ms / 1000), long(ms % 1000) * 1000};
  bufferevent_set_timeouts(bev_.get(), &tv, &tv);
  return bufferevent_enable(bev_.get(), EV_READ) == 0;
}

void TcpConnection::on_read(bufferevent*, void* self) noexcept { static_cast<TcpConnection*>(self)->advance(); }

void TcpConnection::on_write(bufferevent*, void* self) noexcept {
  auto* c = static_cast<TcpConnection*>(self);
  if (c->state_ == State::closing) return c->close();  // everything queued has been written
  if (evbuffer_get_length(bufferevent_get_output(c->bev_.get())) < output_high_water / 2) {
    bufferevent_enable(c->bev_.get(), EV_READ);
    c->advance();  // queries that arrived while reading was paused
  }
}

void TcpConnection::on_event(bufferevent*, short what, void* self) noexcept {
  auto* c = static_cast<TcpConnection*>(self);
  // A client that half-closes after its last query still gets every reply.
  if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
      evbuffer_get_length(bufferevent_get_output(c->bev_.get())) > 0) {
    c->state_ = State::closing;
    bufferevent_disable(c->bev_.get(), EV_READ);
    return;
  }
  c->close();  // EOF, error or timeout
}

void TcpConnection::advance() noexcept {
  evbuffer* in = bufferevent_get_input(bev_.get());
  evbuffer* out = bufferevent_get_output(bev_.get());
  while (state_ == State::reading) {
    if (evbuffer_get_length(out) >= output_high_water) {
      bufferevent_disable(bev_.get(), EV_READ);  // resumes from on_write
      return;
    }
    uint8_t prefix[2];
    if (evbuffer_copyout(in, prefix, 2) != 2) return;
    const size_t len = get16(prefix);
    if (len == 0) return close();  // a zero-length message cannot be a query
    if (evbuffer_get_length(in) < 2 + len) return;
    evbuffer_drain(in, 2);
    uint8_t* query = worker_.query_buffer();
    evbuffer_remove(in, query, len);
    uint8_t* reply = worker_.reply_buffer();
    MessageContext context;  // source_ holds the client's address bytes
    context.client_ip = reinterpret_cast<const uint8_t*>(source_.data());
    context.client_ip_len = source_.size();
    context.now = uint32_t(std::time(nullptr));
    const Processed p = query_process(worker_.snapshot(), query, len, reply + 2, max_message, Transport::tcp,
                                      worker_.counters(), &context);
    if (p.verdict == Verdict::drop) continue;
    if (p.verdict == Verdict::hand_over) {
      hand_over_tcp(query, len);
      continue;
    }
    put16(reply, uint16_t(p.size));
    if (bufferevent_write(bev_.get(), reply, p.size + 2) != 0) return close();
  }
}

void TcpConnection::hand_over_tcp(const uint8_t* query, size_t len) noexcept {
  try {
    Handoff h;
    h.message.assign(query, query + len);
    h.transport = Transport::tcp;
    h.worker = &worker_;
    h.connection = id_;
    if (worker_.handoff().push(std::move(h))) return;
  } catch (...) {
  }
  bump(worker_.counters().dropped);  // the mailbox is full (or memory is): the client will retry
}

void TcpConnection::deliver(const std::vector<uint8_t>& message) noexcept {
  if (state_ != State::reading || message.size() > max_message) return;
  uint8_t prefix[2];
  put16(prefix, uint16_t(message.size()));
  evbuffer* out = bufferevent_get_output(bev_.get());
  if (evbuffer_add(out, prefix, 2) != 0 || evbuffer_add(out, message.data(), message.size()) != 0) close();
}

void TcpConnection::close() noexcept {
  const std::string source = std::move(source_);  // `this` is freed by tcp_release
  worker_.tcp_release(self_, source);
}

}  // namespace dnsd
