// A minimal HTTP server answering every GET with etcd's healthy /health body: the stand-in for
// thousands of etcd members in tests/bench/probe_scale.sh. With CERT and KEY it answers over TLS
// (session tickets on, as etcd's Go server has them).
// Usage: http_responder ADDRESS PORT [CERT KEY]
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: %s ADDRESS PORT [CERT KEY]\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);  // TLS writes to a probe connection dnsd closed: an error, not death
  event_base* base = event_base_new();
  evhttp* http = evhttp_new(base);
  SSL_CTX* tls = nullptr;
  if (argc == 5) {
    tls = SSL_CTX_new(TLS_server_method());
    if (!tls || SSL_CTX_use_certificate_chain_file(tls, argv[3]) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls, argv[4], SSL_FILETYPE_PEM) != 1) {
      std::fprintf(stderr, "cannot load %s and %s\n", argv[3], argv[4]);
      return 1;
    }
    evhttp_set_bevcb(
        http,
        [](event_base* b, void* ctx) {
          return bufferevent_openssl_socket_new(b, -1, SSL_new(static_cast<SSL_CTX*>(ctx)), BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE);
        },
        tls);
  }
  evhttp_set_gencb(
      http,
      [](evhttp_request* req, void*) {
        evbuffer* body = evbuffer_new();
        evbuffer_add_printf(body, "{\"health\":\"true\",\"reason\":\"\"}");
        evhttp_send_reply(req, 200, "OK", body);
        evbuffer_free(body);
      },
      nullptr);
  if (evhttp_bind_socket(http, argv[1], uint16_t(std::atoi(argv[2]))) != 0) {
    std::fprintf(stderr, "cannot bind %s:%s\n", argv[1], argv[2]);
    return 1;
  }
  event_base_dispatch(base);
  evhttp_free(http);
  event_base_free(base);
  if (tls) SSL_CTX_free(tls);
}
