// A minimal HTTP server answering every GET with etcd's healthy /health body: the stand-in for
// thousands of etcd members in tests/bench/probe_scale.sh. Usage: http_responder ADDRESS PORT
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s ADDRESS PORT\n", argv[0]);
    return 2;
  }
  event_base* base = event_base_new();
  evhttp* http = evhttp_new(base);
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
}
