// Control endpoint (see control_http.hpp).
#include "control_http.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <event2/keyvalq_struct.h>

#include <cstdio>
#include <string_view>

#include "log.hpp"

namespace dnsd {

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

ApiReply api_error(int status, const std::string& message, const std::string& field) {
  std::string body = "{\"error\": " + json_quote(message);
  if (!field.empty()) body += ", \"field\": " + json_quote(field);
  return {status, body + "}\n"};
}

namespace {
// Bounds for slow or malformed clients: headers and bodies are small on this API.
constexpr int request_timeout_s = 10;
constexpr size_t max_headers_size = 8192;
constexpr size_t max_body_size = 65536;

void reply(evhttp_request* req, int code, const char* reason, const std::string& type, const std::string& body) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type.c_str());
  evbuffer* buf = evbuffer_new();
  evbuffer_add(buf, body.data(), body.size());
  evhttp_send_reply(req, code, reason, buf);
  evbuffer_free(buf);
}

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
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

void json_error(evhttp_request* req, int code, const char* reason, const std::string& message) {
  reply(req, code, reason, "application/json", "{\"error\": " + json_quote(message) + "}\n");
}
}  // namespace

ControlHttp::ControlHttp(event_base* base, Handlers handlers) : handlers_(std::move(handlers)), http_(evhttp_new(base)) {
  if (!http_) throw std::runtime_error("cannot create the control HTTP server");
  evhttp_set_timeout(http_.get(), request_timeout_s);
  evhttp_set_max_headers_size(http_.get(), max_headers_size);
  evhttp_set_max_body_size(http_.get(), max_body_size);
  evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
  evhttp_set_gencb(http_.get(), &ControlHttp::on_request, this);
}

void ControlHttp::enable_tls(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) throw std::runtime_error("control: cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1)
    throw std::runtime_error("control: cannot load the certificate '" + cert_file + "'");
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1)
    throw std::runtime_error("control: cannot load the key '" + key_file + "' (or it does not match the certificate)");
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), client_ca_file.c_str(), nullptr) != 1)
      throw std::runtime_error("control: cannot load the client CA '" + client_ca_file + "'");
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  tls_ = std::move(ctx);
  evhttp_set_bevcb(
      http_.get(),
      [](event_base* base, void* arg) -> bufferevent* {
        SSL* ssl = SSL_new(static_cast<SSL_CTX*>(arg));
        return ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
                   : nullptr;
      },
      tls_.get());
}

std::string ControlHttp::bind(const std::string& address, uint16_t port) {
  if (!evhttp_bind_socket_with_handle(http_.get(), address.c_str(), port))
    return "cannot bind the control endpoint to " + address + ":" + std::to_string(port) + " (in use?)";
  return "";
}

void ControlHttp::on_request(evhttp_request* req, void* self) noexcept {
  try {
    static_cast<ControlHttp*>(self)->handle(req);
  } catch (const std::exception& e) {
    spdlog::error("control: request failed ({})", e.what());
    json_error(req, 500, "Internal Server Error", "internal error");
  }
}

void ControlHttp::handle(evhttp_request* req) {
  const std::string_view path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)) ?: "";
  const bool get = evhttp_request_get_command(req) == EVHTTP_REQ_GET || evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    if (!get) return json_error(req, 405, "Method Not Allowed", "only GET is allowed here");
    if (path == "/healthz") return reply(req, 200, "OK", "text/plain", "ok\n");
    if (path == "/readyz")
      return handlers_.ready() ? reply(req, 200, "OK", "text/plain", "ready\n")
                               : reply(req, 503, "Service Unavailable", "text/plain", "not ready\n");
    return reply(req, 200, "OK", "text/plain; version=0.0.4", handlers_.metrics());
  }
  if (path.rfind("/v1/zones/", 0) == 0 && path.find("/clusters/") != std::string_view::npos) {
    ApiRequest r;
    switch (evhttp_request_get_command(req)) {
      case EVHTTP_REQ_GET: r.method = "GET"; break;
      case EVHTTP_REQ_HEAD: r.method = "HEAD"; break;
      case EVHTTP_REQ_PUT: r.method = "PUT"; break;
      case EVHTTP_REQ_POST: r.method = "POST"; break;
      case EVHTTP_REQ_DELETE: r.method = "DELETE"; break;
      default: r.method = "OTHER"; break;
    }
    r.path = std::string(path);
    if (const char* auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization")) r.authorization = auth;
    evbuffer* in = evhttp_request_get_input_buffer(req);
    r.body.resize(evbuffer_get_length(in));
    evbuffer_copyout(in, r.body.data(), r.body.size());
    const ApiReply out = handlers_.api(r);
    return reply(req, out.status, status_reason(out.status), "application/json", out.body);
  }
  if (path == "/v1/zones" || path.rfind("/v1/zones/", 0) == 0) {
    if (!get) return json_error(req, 405, "Method Not Allowed", "only GET is allowed here");
    std::string zone(path == "/v1/zones" ? "" : path.substr(10));
    if (path != "/v1/zones" && zone.empty()) return json_error(req, 404, "Not Found", "no such zone");
    if (auto body = handlers_.zones(zone)) return reply(req, 200, "OK", "application/json", *body);
    return json_error(req, 404, "Not Found", "no such zone");
  }
  json_error(req, 404, "Not Found", "no such path");
}

}  // namespace dnsd
