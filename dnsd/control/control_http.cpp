// The control endpoint (see control_http.hpp).
#include "control_http.hpp"

#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>

#include "json.hpp"
#include "log.hpp"

namespace dnsd {

HttpReply http_error(int status, const std::string& message, const std::string& field) {
  return {status, json_error_body(message, field)};
}

namespace {
// Bounds for slow or malformed clients: headers and bodies are small on this API.
constexpr int request_timeout_s = 10;
constexpr size_t max_headers_size = 8192;
constexpr size_t max_body_size = 65536;

const char* status_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

void send(evhttp_request* req, const HttpReply& r) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", r.content_type.c_str());
  const EvBufferPtr buf(evbuffer_new());
  if (buf) evbuffer_add(buf.get(), r.body.data(), r.body.size());
  evhttp_send_reply(req, r.status, status_reason(r.status), buf.get());
}

const char* method_name(evhttp_cmd_type cmd) {
  switch (cmd) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_DELETE: return "DELETE";
    default: return "OTHER";
  }
}

}  // namespace

ControlHttp::ControlHttp(event_base* base) : http_(evhttp_new(base)) {
  if (!http_) throw std::runtime_error("cannot create the control HTTP server");
  evhttp_set_timeout(http_.get(), request_timeout_s);
  evhttp_set_max_headers_size(http_.get(), max_headers_size);
  evhttp_set_max_body_size(http_.get(), max_body_size);
  evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
  evhttp_set_gencb(http_.get(), &ControlHttp::on_request, this);
}

void ControlHttp::route(Matcher match, Handler handler, bool read_only) {
  routes_.push_back({std::move(match), std::move(handler), read_only});
}

void ControlHttp::route(std::string path, Handler handler, bool read_only) {
  route([path = std::move(path)](std::string_view p) { return p == path; }, std::move(handler), read_only);
}

void ControlHttp::enable_tls(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  tls_ = server_tls_context(cert_file, key_file, client_ca_file);
  evhttp_set_bevcb(
      http_.get(),
      [](event_base* base, void* arg) -> bufferevent* {
        // The bufferevent owns the session (BEV_OPT_CLOSE_ON_FREE), on failure too: libevent frees it.
        SSL* ssl = SSL_new(static_cast<SSL_CTX*>(arg));
        return ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
                   : nullptr;
      },
      tls_.get());
}

Result<void> ControlHttp::bind(const std::string& address, uint16_t port) {
  if (!evhttp_bind_socket_with_handle(http_.get(), address.c_str(), port))
    return io_error("cannot bind the control endpoint to " + address + ":" + std::to_string(port) + " (in use?)");
  return {};
}

void ControlHttp::on_request(evhttp_request* req, void* self) noexcept {
  try {
    static_cast<ControlHttp*>(self)->handle(req);
  } catch (const std::exception& e) {
    spdlog::error("control: request failed ({})", e.what());
    send(req, http_error(500, "internal error"));
  }
}

void ControlHttp::handle(evhttp_request* req) {
  const char* uri_path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
  HttpRequest r;
  r.method = method_name(evhttp_request_get_command(req));
  r.path = uri_path ? uri_path : "";
  for (const Route& route : routes_) {
    if (!route.match(r.path)) continue;
    if (route.read_only && r.method != "GET" && r.method != "HEAD")
      return send(req, http_error(405, "only GET is allowed here"));
    if (const char* auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization")) r.authorization = auth;
    evbuffer* in = evhttp_request_get_input_buffer(req);
    r.body.resize(evbuffer_get_length(in));
    evbuffer_copyout(in, r.body.data(), r.body.size());
    return send(req, route.handler(r));
  }
  send(req, http_error(404, "no such path"));
}

}  // namespace dnsd
