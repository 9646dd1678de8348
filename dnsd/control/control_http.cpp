// The control endpoint (see control_http.hpp). A connection is a small state machine: reading the
// header block, reading the body, writing the reply, then closed; one deadline covers all of it.
#include "control_http.hpp"

#include <event2/bufferevent_ssl.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "endpoint.hpp"
#include "json.hpp"
#include "log.hpp"
#include "names.hpp"

namespace dnsd {

HttpReply http_error(int status, const std::string& message, const std::string& field) {
  return {status, json_error_body(message, field)};
}

namespace {

constexpr timeval accept_pause{0, 100000};  // after EMFILE: try accepting again in 100 ms

const char* status_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

HttpHead parse_http_head(std::string_view block, size_t max_body) {
  HttpHead h;
  auto refuse = [&h](int status, std::string message) {
    h.error = status;
    h.message = std::move(message);
    return h;
  };
  size_t eol = block.find("\r\n");
  const std::string_view line = block.substr(0, eol);
  const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return refuse(400, "malformed request line");
  const std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || target.empty() || target.front() != '/') return refuse(400, "malformed request line");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return refuse(505, "only HTTP/1.0 and HTTP/1.1");
  h.request.method = std::string(method);
  h.request.path = std::string(target.substr(0, target.find('?')));
  bool have_length = false;
  while (eol != std::string_view::npos) {
    const size_t start = eol + 2;
    eol = block.find("\r\n", start);
    const std::string_view header = block.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
    if (header.empty()) continue;
    const size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0 || header.front() == ' ' || header.front() == '\t')
      return refuse(400, "malformed header line");
    const std::string_view name = header.substr(0, colon), value = trim(header.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      // Two lengths are how requests get smuggled past a proxy: refused, equal or not (RFC 9112 §6.3).
      if (have_length) return refuse(400, "more than one Content-Length header");
      have_length = true;
      size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) return refuse(400, "bad Content-Length");
      if (n > max_body) return refuse(413, "the body is over " + std::to_string(max_body) + " bytes");
      h.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      return refuse(411, "send the body with a Content-Length (no chunked encoding)");
    } else if (iequals(name, "Authorization") && h.request.authorization.empty()) {
      h.request.authorization = std::string(value);
    } else if (iequals(name, "Expect") && iequals(value, "100-continue")) {
      h.expect_continue = true;
    }
  }
  return h;
}


struct ControlHttp::Connection {
  enum class State { headers, body, writing };

  ControlHttp* owner = nullptr;
  Connections::iterator self;
  std::string source;  // the client's address bytes: its per-source slot
  BufferEventPtr bev;
  EventPtr deadline;
  State state = State::headers;
  HttpHead head;

  static void on_read(bufferevent*, void* arg) noexcept {
    auto* c = static_cast<Connection*>(arg);
    c->owner->advance(c->self);
  }
  static void on_write(bufferevent* bev, void* arg) noexcept {
    auto* c = static_cast<Connection*>(arg);
    if (c->state == State::writing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) c->owner->close(c->self);
  }
  static void on_event(bufferevent*, short what, void* arg) noexcept {
    auto* c = static_cast<Connection*>(arg);
    if (what & BEV_EVENT_CONNECTED) return;  // the TLS handshake is done
    c->owner->close(c->self);               // EOF, error
  }
  static void on_deadline(evutil_socket_t, short, void* arg) noexcept {
    auto* c = static_cast<Connection*>(arg);
    ++c->owner->timed_out_;
    c->owner->close(c->self);
  }
};

ControlHttp::ControlHttp(event_base* base, HttpLimits limits) : base_(base), limits_(limits) {
  resume_.reset(evtimer_new(
      base_, [](evutil_socket_t, short, void* self) { evconnlistener_enable(static_cast<ControlHttp*>(self)->listener_.get()); },
      this));
  if (!resume_) throw std::runtime_error("cannot create the control endpoint's timer");
}

ControlHttp::~ControlHttp() {
  listener_.reset();
  const bool open = !connections_.empty();
  connections_.clear();  // each frees its bufferevent (and socket) and its deadline
  // A bufferevent with a deferred callback still queued (BEV_OPT_DEFER_CALLBACKS) is freed by that
  // callback, which holds a reference: once the loop has stopped it would never run, and the
  // connection's memory would be lost at exit. One pass of the loop runs them.
  if (open) event_base_loop(base_, EVLOOP_NONBLOCK);
}

void ControlHttp::route(Matcher match, Handler handler, bool read_only) {
  routes_.push_back({std::move(match), std::move(handler), read_only});
}

void ControlHttp::route(std::string path, Handler handler, bool read_only) {
  route([path = std::move(path)](std::string_view p) { return p == path; }, std::move(handler), read_only);
}

void ControlHttp::enable_tls(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  tls_ = server_tls_context(cert_file, key_file, client_ca_file);
}

Result<void> ControlHttp::bind(const std::string& address, uint16_t port) {
  const std::optional<Endpoint> ep = make_endpoint(address, port);
  if (!ep) return io_error("control endpoint: '" + address + "' is not an address");
  listener_.reset(evconnlistener_new_bind(base_, &ControlHttp::on_accept, this,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 128,
                                          reinterpret_cast<const sockaddr*>(&ep->addr), int(ep->len)));
  if (!listener_) return io_error("cannot bind the control endpoint to " + ep->text + ": " + std::strerror(errno));
  evconnlistener_set_error_cb(listener_.get(), &ControlHttp::on_accept_error);
  return {};
}

void ControlHttp::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* addr, int, void* self) noexcept {
  auto* http = static_cast<ControlHttp*>(self);
  try {
    http->accept(fd, addr);
  } catch (const std::exception& e) {
    evutil_closesocket(fd);  // out of memory, say: drop this client, keep serving
    spdlog::error("control: cannot take a connection ({})", e.what());
  }
}

void ControlHttp::on_accept_error(evconnlistener* listener, void* self) noexcept {
  auto* http = static_cast<ControlHttp*>(self);
  const int err = EVUTIL_SOCKET_ERROR();
  ++http->accept_errors_;
  // Out of descriptors (or memory): accepting again at once would spin. Pause, then try again.
  evconnlistener_disable(listener);
  evtimer_add(http->resume_.get(), &accept_pause);
  const std::time_t now = std::time(nullptr);
  if (now != http->last_accept_error_log_) {
    http->last_accept_error_log_ = now;
    spdlog::error("control: cannot accept connections ({}): paused for 100 ms", evutil_socket_error_to_string(err));
  }
}

void ControlHttp::accept(evutil_socket_t fd, sockaddr* addr) {
  std::string source(address_bytes(addr));
  size_t& from_source = per_source_[source];
  // Over a cap the connection is closed at once: a crowd from a few sources cannot starve the rest.
  if (connections_.size() >= limits_.max_connections || from_source >= limits_.max_connections_per_source) {
    if (from_source == 0) per_source_.erase(source);
    evutil_closesocket(fd);
    ++refused_;
    return;
  }
  auto c = std::make_unique<Connection>();
  c->owner = this;
  c->source = std::move(source);
  evutil_make_socket_nonblocking(fd);
  if (tls_) {
    // The bufferevent owns the session (BEV_OPT_CLOSE_ON_FREE), on failure too: libevent frees it.
    SSL* ssl = SSL_new(tls_.get());
    c->bev.reset(ssl ? bufferevent_openssl_socket_new(base_, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                      BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                     : nullptr);
  } else {
    c->bev.reset(bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  }
  if (!c->bev) {
    evutil_closesocket(fd);
    if (from_source == 0) per_source_.erase(c->source);
    return;
  }
  ++from_source;
  Connection* raw = c.get();
  raw->self = connections_.insert(connections_.end(), std::move(c));
  raw->deadline.reset(evtimer_new(base_, &Connection::on_deadline, raw));
  const timeval deadline{long(limits_.request_timeout_ms / 1000), long(limits_.request_timeout_ms % 1000) * 1000};
  if (!raw->deadline || evtimer_add(raw->deadline.get(), &deadline) != 0) return close(raw->self);
  bufferevent_setcb(raw->bev.get(), &Connection::on_read, &Connection::on_write, &Connection::on_event, raw);
  bufferevent_enable(raw->bev.get(), EV_READ);
}

void ControlHttp::close(Connections::iterator it) noexcept {
  if (auto s = per_source_.find((*it)->source); s != per_source_.end() && --s->second == 0) per_source_.erase(s);
  connections_.erase(it);  // frees the bufferevent (closing the socket) and the deadline
}

void ControlHttp::advance(Connections::iterator it) {
  Connection& c = **it;
  evbuffer* in = bufferevent_get_input(c.bev.get());
  if (c.state == Connection::State::headers) {
    const evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, nullptr);
    const size_t have = evbuffer_get_length(in);
    if (end.pos < 0 || size_t(end.pos) + 4 > limits_.max_header_bytes) {
      if (have + 4 > limits_.max_header_bytes) respond(c, http_error(431, "the headers are over 8 KiB"));
      return;  // more to come, within the deadline
    }
    std::string block(size_t(end.pos), '\0');
    evbuffer_remove(in, block.data(), block.size());
    evbuffer_drain(in, 4);
    c.head = parse_http_head(block, limits_.max_body_bytes);
    if (c.head.error) return respond(c, http_error(c.head.error, c.head.message));
    c.state = Connection::State::body;
    if (c.head.expect_continue && c.head.content_length > evbuffer_get_length(in))
      bufferevent_write(c.bev.get(), "HTTP/1.1 100 Continue\r\n\r\n", 25);
  }
  if (c.state != Connection::State::body || evbuffer_get_length(in) < c.head.content_length) return;
  HttpRequest& request = c.head.request;
  request.peer = address_text(c.source);
  request.body.resize(c.head.content_length);
  evbuffer_remove(in, request.body.data(), request.body.size());
  HttpReply reply;
  try {
    reply = dispatch(request);
  } catch (const std::exception& e) {
    spdlog::error("control: request failed ({})", e.what());
    reply = http_error(500, "internal error");
  }
  respond(c, reply);
}

HttpReply ControlHttp::dispatch(const HttpRequest& request) const {
  for (const Route& route : routes_) {
    if (!route.match(request.path)) continue;
    if (route.read_only && request.method != "GET" && request.method != "HEAD")
      return http_error(405, "only GET is allowed here");
    return route.handler(request);
  }
  return http_error(404, "no such path");
}

void ControlHttp::respond(Connection& c, const HttpReply& reply) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + status_reason(reply.status) +
                    "\r\nContent-Type: " + reply.content_type + "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  if (c.head.request.method != "HEAD") out += reply.body;
  c.state = Connection::State::writing;
  bufferevent_disable(c.bev.get(), EV_READ);
  if (bufferevent_write(c.bev.get(), out.data(), out.size()) != 0) close(c.self);
  // on_write closes the connection once everything is written; the deadline still bounds it.
}

std::string ControlHttp::metrics() const {
  return "# HELP dnsd_control_connections Control endpoint connections open.\n# TYPE dnsd_control_connections gauge\n"
         "dnsd_control_connections " + std::to_string(connections_.size()) + "\n"
         "# HELP dnsd_control_refused_total Control connections closed at once by the connection caps.\n"
         "# TYPE dnsd_control_refused_total counter\n"
         "dnsd_control_refused_total " + std::to_string(refused_) + "\n"
         "# HELP dnsd_control_timeouts_total Control connections closed at the request deadline.\n"
         "# TYPE dnsd_control_timeouts_total counter\n"
         "dnsd_control_timeouts_total " + std::to_string(timed_out_) + "\n"
         "# HELP dnsd_control_accept_errors_total Failed accepts on the control endpoint (out of descriptors).\n"
         "# TYPE dnsd_control_accept_errors_total counter\n"
         "dnsd_control_accept_errors_total " + std::to_string(accept_errors_) + "\n";
}

}  // namespace dnsd
