// TCP serving (see server_tcp.hpp).
#include "server_tcp.hpp"

#include <event2/buffer.h>
#include <malloc.h>
#include <netinet/in.h>

#include <atomic>

#include "endpoint.hpp"
#include "log.hpp"
#include "query.hpp"
#include "server.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {
// Stop reading from a client that does not read its replies once this much is queued for it.
constexpr size_t output_high_water = 256 * 1024;
// Memory freed by clients that left is given back to the system once the worker held this much.
constexpr size_t trim_after_peak = 8 * 1024 * 1024;
constexpr timeval accept_pause{0, 100000};  // after EMFILE: try accepting again in 100 ms
constexpr uint32_t max_pending_replies = 16;  // per connection: messages with the control thread

timeval to_tv(uint32_t ms) { return {long(ms / 1000), long(ms % 1000) * 1000}; }

// A failed accept is logged at most once a second, whichever worker meets it.
void log_accept_error(int err) noexcept {
  static std::atomic<std::time_t> last{0};
  const std::time_t now = std::time(nullptr);
  if (last.exchange(now) == now) return;
  try {
    spdlog::error("server: cannot accept TCP connections ({}): paused for 100 ms", evutil_socket_error_to_string(err));
  } catch (...) {
  }
}
}  // namespace

// --- the listener ---------------------------------------------------------------------------------

TcpListener::TcpListener(Worker& worker, Fd fd) : worker_(worker), fd_(std::move(fd)) {}

bool TcpListener::arm() {
  listener_.reset(evconnlistener_new(worker_.base(), &TcpListener::on_accept, this, LEV_OPT_CLOSE_ON_EXEC, 0,
                                     fd_.get()));
  resume_.reset(evtimer_new(
      worker_.base(), [](evutil_socket_t, short, void* self) { evconnlistener_enable(static_cast<TcpListener*>(self)->listener_.get()); },
      this));
  if (!listener_ || !resume_) return false;
  evconnlistener_set_error_cb(listener_.get(), &TcpListener::on_accept_error);
  return true;
}

void TcpListener::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* addr, int, void* self) noexcept {
  Worker& w = static_cast<TcpListener*>(self)->worker_;
  try {
    std::string source(address_bytes(addr));  // the key of the per-source connection cap
    // Over a cap the connection is closed at once: new clients must not starve the ones served.
    if (!w.tcp().admit(source)) {
      evutil_closesocket(fd);
      bump(w.counters().tcp_refused);
      return;
    }
    bump(w.counters().tcp_connections);
    auto it = w.tcp().adopt(std::make_unique<TcpConnection>(w, fd, std::move(source)));
    if (!(*it)->arm(it)) w.tcp().release(it);
  } catch (...) {
    evutil_closesocket(fd);  // out of memory: drop this client, keep serving
  }
}

void TcpListener::on_accept_error(evconnlistener* l, void* self) noexcept {
  auto* listener = static_cast<TcpListener*>(self);
  bump(listener->worker_.counters().tcp_accept_errors);
  // Out of descriptors (or memory): accepting again at once would spin at 100% CPU. Pause.
  evconnlistener_disable(l);
  evtimer_add(listener->resume_.get(), &accept_pause);
  log_accept_error(EVUTIL_SOCKET_ERROR());
}

// --- the table ------------------------------------------------------------------------------------

TcpTable::~TcpTable() { clear(); }

void TcpTable::clear() noexcept {
  connections_.clear();
  by_id_.clear();
  per_source_.clear();
}

bool TcpTable::admit(const std::string& source) noexcept {
  if (auto it = per_source_.find(source); it != per_source_.end() && it->second >= options_.tcp_max_per_source)
    return false;
  if (connections_.size() < options_.tcp_max_connections) return true;
  // Full: close the connection idle the longest (the table is kept in order of activity), else the
  // first one stuck in a message.
  for (auto it = connections_.begin(); it != connections_.end(); ++it)
    if ((*it)->idle()) {
      release(it);
      return true;
    }
  const auto now = std::chrono::steady_clock::now();
  for (auto it = connections_.begin(); it != connections_.end(); ++it)
    if ((*it)->stalled(now)) {
      release(it);
      return true;
    }
  return false;
}

TcpTable::List::iterator TcpTable::adopt(std::unique_ptr<TcpConnection> c) {
  auto it = connections_.insert(connections_.end(), std::move(c));
  (*it)->set_id(++next_id_);
  by_id_[next_id_] = it->get();
  ++per_source_[(*it)->source()];
  return it;
}

void TcpTable::release(List::iterator it) noexcept {
  if (auto s = per_source_.find((*it)->source()); s != per_source_.end() && --s->second == 0) per_source_.erase(s);
  by_id_.erase((*it)->id());
  output_changed(-long((*it)->output_bytes()));  // freed with the connection, unwritten
  connections_.erase(it);
  // Clients that never read leave a lot of freed memory in this thread's arena: give it back.
  if (output_bytes_ == 0 && output_peak_ >= trim_after_peak) {
    output_peak_ = 0;
    malloc_trim(0);
  }
}

void TcpTable::touch(List::iterator it) noexcept { connections_.splice(connections_.end(), connections_, it); }

TcpConnection* TcpTable::find(uint64_t id) noexcept {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void TcpTable::output_changed(long delta) noexcept {
  output_bytes_ = delta < 0 && size_t(-delta) > output_bytes_ ? 0 : size_t(long(output_bytes_) + delta);
  if (output_bytes_ > output_peak_) output_peak_ = output_bytes_;
}

bool TcpTable::output_over_budget() const noexcept { return output_bytes_ >= options_.tcp_output_budget; }

// --- a connection ---------------------------------------------------------------------------------

TcpConnection::TcpConnection(Worker& worker, evutil_socket_t fd, std::string source)
    : worker_(worker), bev_(bufferevent_socket_new(worker.base(), fd, BEV_OPT_CLOSE_ON_FREE)), source_(std::move(source)) {
  if (!bev_) evutil_closesocket(fd);
}

TcpConnection::~TcpConnection() {
  if (output_cb_) evbuffer_remove_cb_entry(bufferevent_get_output(bev_.get()), output_cb_);
}

bool TcpConnection::arm(TcpTable::List::iterator self) {
  self_ = self;
  if (!bev_) return false;
  deadline_.reset(evtimer_new(worker_.base(), &TcpConnection::on_deadline, this));
  if (!deadline_) return false;
  bufferevent_setcb(bev_.get(), &TcpConnection::on_read, &TcpConnection::on_write, &TcpConnection::on_event, this);
  output_cb_ = evbuffer_add_cb(bufferevent_get_output(bev_.get()), &TcpConnection::on_output, this);
  // One timeout for idle reads and for stalled writes (RFC 7766 §6.2.3).
  const timeval tv = to_tv(worker_.options().tcp_idle_timeout_ms);
  bufferevent_set_timeouts(bev_.get(), &tv, &tv);
  return bufferevent_enable(bev_.get(), EV_READ) == 0;
}

size_t TcpConnection::output_bytes() const noexcept {
  return bev_ ? evbuffer_get_length(bufferevent_get_output(bev_.get())) : 0;
}

bool TcpConnection::stalled(std::chrono::steady_clock::time_point now) const noexcept {
  return state_ == State::reading && deadline_armed_ && now - partial_since_ > std::chrono::seconds(1);
}

bool TcpConnection::idle() const noexcept {
  return state_ == State::reading && pending_replies_ == 0 && output_bytes() == 0 &&
         evbuffer_get_length(bufferevent_get_input(bev_.get())) == 0;
}

void TcpConnection::on_output(evbuffer*, const evbuffer_cb_info* info, void* self) noexcept {
  static_cast<TcpConnection*>(self)->worker_.tcp().output_changed(long(info->n_added) - long(info->n_deleted));
}

void TcpConnection::on_read(bufferevent*, void* self) noexcept { static_cast<TcpConnection*>(self)->advance(); }

void TcpConnection::on_write(bufferevent*, void* self) noexcept {
  auto* c = static_cast<TcpConnection*>(self);
  if (c->state_ == State::closing) return c->finish_or_close();  // everything queued has been written
  if (c->output_bytes() < output_high_water / 2) {
    bufferevent_enable(c->bev_.get(), EV_READ);
    c->advance();  // queries that arrived while reading was paused
  }
}

void TcpConnection::on_event(bufferevent*, short what, void* self) noexcept {
  auto* c = static_cast<TcpConnection*>(self);
  // A client that half-closes after its last query still gets every reply, those the control thread
  // has yet to send included.
  if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && c->state_ == State::reading) {
    c->state_ = State::closing;
    bufferevent_disable(c->bev_.get(), EV_READ);
    const timeval tv = to_tv(c->worker_.options().tcp_idle_timeout_ms);
    evtimer_add(c->deadline_.get(), &tv);  // bounded: an expected reply that never comes
    return c->finish_or_close();
  }
  c->close();  // error or timeout
}

void TcpConnection::on_deadline(evutil_socket_t, short, void* self) noexcept {
  auto* c = static_cast<TcpConnection*>(self);
  bump(c->worker_.counters().tcp_deadline_closed);
  c->close();
}

void TcpConnection::finish_or_close() noexcept {
  if (pending_replies_ == 0 && output_bytes() == 0) close();
}

void TcpConnection::advance() noexcept {
  evbuffer* in = bufferevent_get_input(bev_.get());
  bool answered = false;  // activity is a whole message, not a byte: a trickle never looks recent
  while (state_ == State::reading) {
    // A client that does not read its replies stops being read; so does every client with replies
    // queued while the worker as a whole holds more than its budget for slow readers.
    if (output_bytes() >= output_high_water || (output_bytes() > 0 && worker_.tcp().output_over_budget())) {
      bufferevent_disable(bev_.get(), EV_READ);  // resumes from on_write
      break;
    }
    // A connection waits for the control thread's answers before handing over more: one client's
    // pipelined UPDATEs cannot fill the mailbox the others share.
    if (pending_replies_ >= max_pending_replies) {
      bufferevent_disable(bev_.get(), EV_READ);  // resumes from deliver()
      break;
    }
    uint8_t prefix[2];
    if (evbuffer_copyout(in, prefix, 2) != 2) break;
    const size_t len = get16(prefix);
    if (len == 0) return close();  // a zero-length message cannot be a query
    if (evbuffer_get_length(in) < 2 + len) break;
    evbuffer_drain(in, 2);
    answered = true;
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
  if (answered) worker_.tcp().touch(self_);
  // A message started must arrive whole within the message timeout: a trickle of bytes resets the
  // idle timeout, never this deadline.
  // (A message answered with the next one begun restarts the clock: that is progress.)
  const bool partial = evbuffer_get_length(in) > 0;
  if (partial && (!deadline_armed_ || answered) && state_ == State::reading) {
    const timeval tv = to_tv(worker_.options().tcp_message_timeout_ms);
    evtimer_add(deadline_.get(), &tv);
    deadline_armed_ = true;
    partial_since_ = std::chrono::steady_clock::now();
  } else if (!partial && deadline_armed_ && state_ == State::reading) {
    evtimer_del(deadline_.get());
    deadline_armed_ = false;
  }
}

void TcpConnection::hand_over_tcp(const uint8_t* query, size_t len) noexcept {
  try {
    Handoff h;
    h.message.assign(query, query + len);
    h.transport = Transport::tcp;
    h.worker = &worker_;
    h.connection = id_;
    h.source = source_;
    if (worker_.handoff().push(std::move(h))) {
      ++pending_replies_;
      return;
    }
  } catch (...) {
  }
  bump(worker_.counters().dropped);  // the mailbox is full (or memory is): the client will retry
}

void TcpConnection::deliver(const std::vector<std::vector<uint8_t>>& messages) noexcept {
  const bool was_paused = pending_replies_ == max_pending_replies;
  if (pending_replies_ > 0) --pending_replies_;
  for (const std::vector<uint8_t>& message : messages) {
    if (message.empty() || message.size() > max_message) continue;
    uint8_t prefix[2];
    put16(prefix, uint16_t(message.size()));
    evbuffer* out = bufferevent_get_output(bev_.get());
    if (evbuffer_add(out, prefix, 2) != 0 || evbuffer_add(out, message.data(), message.size()) != 0) return close();
  }
  if (state_ == State::closing) return finish_or_close();  // or from on_write, once this is written
  if (was_paused) {
    bufferevent_enable(bev_.get(), EV_READ);  // reading waited for the control thread's answers
    advance();
  }
}

void TcpConnection::close() noexcept { worker_.tcp().release(self_); }  // frees `this`

}  // namespace dnsd
