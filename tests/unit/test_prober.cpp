// Health probes: what decides a probe from etcd's /health reply, and the prober against a responder
// in the test (batched and not). (Probing real members over HTTP and HTTPS is the e2e tier's:
// tests/e2e, health_*.)
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prober.hpp"

using namespace dnsd;

TEST_CASE("the /health reply decides a probe, and says why it failed", "[health]") {
  struct Row {
    int status;
    const char* body;
    const char* error;  // "" = healthy
  };
  const Row rows[] = {
      {200, "{\"health\":\"true\",\"reason\":\"\"}", ""},
      {200, "{ \"health\": true }", ""},
      {200, "ok", ""},  // /readyz and /livez: the status decides
      {200, "{\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}", "unhealthy: {\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}"},
      {503, "{\"health\":\"true\"}", "HTTP status 503"},  // etcd up without quorum
      {0, "", "no HTTP reply"},
  };
  for (const Row& row : rows) {
    INFO(row.status << " " << row.body);
    const Result<void> r = check_health_reply(row.status, row.body);
    CHECK(r.ok() == (*row.error == '\0'));
    if (!r.ok()) CHECK(r.error().message == row.error);
  }
}

namespace {

// An in-process HTTP/1.1 responder on loopback answering etcd's healthy /health, on the test's event
// base (keep-alive, as etcd does). It notes the client port of each POST's connection (the prober's
// fetches), and ends the connection after its reply when close_next is set.
struct Responder {
  explicit Responder(event_base* base) : http(evhttp_new(base)) {
    evhttp_set_gencb(
        http,
        [](evhttp_request* req, void* arg) {
          auto* self = static_cast<Responder*>(arg);
          ++self->requests;
          if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
            char* address = nullptr;
            uint16_t peer = 0;
            self->last_post = evhttp_request_get_connection(req);
            evhttp_connection_get_peer(self->last_post, &address, &peer);
            self->post_ports.push_back(peer);
          }
          if (self->close_next) {
            self->close_next = false;
            evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
          }
          evbuffer* body = evbuffer_new();
          evbuffer_add_printf(body, "{\"health\":\"true\",\"reason\":\"\"}");
          evhttp_send_reply(req, 200, "OK", body);
          evbuffer_free(body);
        },
        this);
    evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    REQUIRE(bound);
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Responder() { evhttp_free(http); }
  evhttp* http;
  uint16_t port = 0;
  size_t requests = 0;
  std::vector<uint16_t> post_ports;
  evhttp_connection* last_post = nullptr;
  bool close_next = false;
};

void run_for(event_base* base, int ms) {
  const timeval tv{0, ms * 1000};
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
}

}  // namespace

TEST_CASE("many probes are batched (their replies polled) and few are not, every probe answered either way", "[health]") {
  // Batching starts at 1,000 probes a second: 30 members every 20 ms are 1,500, 5 of them 250.
  const EventBasePtr base(event_base_new());
  Responder responder(base.get());
  // A member that accepts connections (the kernel does) but never answers: its probes time out.
  const int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(silent, 64) == 0);
  socklen_t len = sizeof a;
  getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len);

  struct Seen {
    size_t ok = 0, failed = 0;
    double max_latency = 0;
    std::string error;
    bool handle_kept = true;  // every result after the first came with the handle the first set
  };
  std::map<std::string, Seen> seen;
  std::map<std::string, std::unique_ptr<int>> handles;  // what the receiver keeps in each target's handle
  Prober prober(base.get(), [&](const std::string& key, const ProbeResult& r, void*& handle) {
    Seen& s = seen[key];
    if (s.ok + s.failed == 0) {
      if (!handles[key]) handles[key] = std::make_unique<int>();
      handle = handles[key].get();
    } else {
      s.handle_kept = s.handle_kept && handle == handles[key].get();
    }
    (r.ok ? s.ok : s.failed) += 1;
    s.max_latency = std::max(s.max_latency, r.latency_s);
    if (!r.ok) s.error = r.error;
  });
  auto spec = [](int i, uint16_t port) {
    ProbeSpec s;
    s.key = "m" + std::to_string(i);
    s.host = "m" + std::to_string(i) + ".lab.example.com";
    s.address = "127.0.0.1";
    s.port = port;
    s.options.scheme = "http";
    s.options.interval_ms = 20;
    s.options.timeout_ms = 100;
    return s;
  };
  std::vector<ProbeSpec> many;
  for (int i = 0; i < 30; ++i) many.push_back(spec(i, responder.port));
  many.push_back(spec(99, ntohs(a.sin_port)));
  prober.set_targets(many);
  run_for(base.get(), 500);
  CHECK(prober.batched());
  CHECK(prober.batched_connections() >= 30);
  for (int i = 0; i < 30; ++i) {
    const Seen& s = seen["m" + std::to_string(i)];
    CHECK(s.ok >= 10);
    CHECK(s.failed == 0);
    CHECK(s.max_latency < 0.095);  // not until the deadline (0.1 s): replies wait at most a poll (2 ms)
    CHECK(s.handle_kept);
  }
  CHECK(seen["m99"].ok == 0);
  CHECK(seen["m99"].failed >= 2);
  CHECK(seen["m99"].error.find("timeout") == 0);

  // Down to 5 members: not batched; the connections kept on the batched base come back with them.
  std::vector<std::string> removed;
  for (int i = 5; i < 30; ++i) removed.push_back("m" + std::to_string(i));
  removed.push_back("m99");
  prober.update_targets(removed, {});
  const size_t before = seen["m0"].ok;
  const size_t gone_before = seen["m7"].ok + seen["m7"].failed;
  CHECK(!prober.batched());
  CHECK(prober.batched_connections() == 0);
  run_for(base.get(), 300);
  for (int i = 0; i < 5; ++i) {
    const Seen& s = seen["m" + std::to_string(i)];
    CHECK(s.failed == 0);
    CHECK(s.handle_kept);
  }
  CHECK(seen["m0"].ok >= before + 5);
  CHECK(seen["m7"].ok + seen["m7"].failed == gone_before);  // removed: no result since

  // And up again: the newcomers start with a null handle, and all are answered.
  handles.clear();
  for (int i = 5; i < 30; ++i) seen.erase("m" + std::to_string(i));
  prober.update_targets({}, std::vector<ProbeSpec>(many.begin() + 5, many.begin() + 30));
  run_for(base.get(), 300);
  CHECK(prober.batched_connections() >= 30);
  for (int i = 0; i < 30; ++i) {
    const Seen& s = seen["m" + std::to_string(i)];
    CHECK(s.ok >= 5);
    CHECK(s.failed == 0);
  }
  for (int i = 5; i < 30; ++i) CHECK(seen["m" + std::to_string(i)].handle_kept);
  CHECK(responder.requests > 600);
  close(silent);
}

TEST_CASE("a fetch's connection is kept for the next fetch to its target, until the target changes", "[health]") {
  const EventBasePtr base(event_base_new());
  Responder responder(base.get()), moved(base.get());
  Prober prober(base.get(), [](const std::string&, const ProbeResult&, void*&) {});
  auto spec = [](uint16_t port) {
    ProbeSpec s;
    s.key = "m0";
    s.host = "m0.lab.example.com";
    s.address = "127.0.0.1";
    s.port = port;
    s.options.scheme = "http";
    s.options.interval_ms = 60000;  // a probe at first, then none in the test's time
    s.options.timeout_ms = 500;
    return s;
  };
  prober.set_targets({spec(responder.port)});
  // One fetch to its end; its status and body, or "not a target".
  auto fetch = [&](const char* key = "m0") {
    std::string got;
    if (!prober.fetch(key, "/v3/cluster/member/list", "{}", [&](int status, const std::string& body, const std::string& error) {
          got = std::to_string(status) + " " + body + error;
        }))
      return std::string("not a target");
    for (int i = 0; i < 100 && got.empty(); ++i) run_for(base.get(), 5);
    return got;
  };
  const std::string ok = "200 {\"health\":\"true\",\"reason\":\"\"}";
  CHECK(fetch() == ok);
  CHECK(fetch() == ok);
  CHECK(fetch() == ok);
  REQUIRE(responder.post_ports.size() == 3);
  CHECK(responder.post_ports[1] == responder.post_ports[0]);  // kept
  CHECK(responder.post_ports[2] == responder.post_ports[0]);

  // A reply that ends its connection: the next fetch connects anew.
  responder.close_next = true;
  CHECK(fetch() == ok);
  CHECK(fetch() == ok);
  REQUIRE(responder.post_ports.size() == 5);
  CHECK(responder.post_ports[4] != responder.post_ports[3]);

  // The member closes the kept connection between fetches: seen while idle, or only when the next
  // request goes out (sent again once, on a new connection); neither fails the fetch.
  evhttp_connection_free(responder.last_post);
  run_for(base.get(), 20);
  CHECK(fetch() == ok);
  evhttp_connection_free(responder.last_post);
  CHECK(fetch() == ok);
  REQUIRE(responder.post_ports.size() == 7);
  CHECK(responder.post_ports[5] != responder.post_ports[4]);
  CHECK(responder.post_ports[6] != responder.post_ports[5]);
  CHECK(fetch() == ok);
  REQUIRE(responder.post_ports.size() == 8);
  CHECK(responder.post_ports[7] == responder.post_ports[6]);

  // The target set again elsewhere: the kept connection goes with the old one.
  prober.update_targets({}, {spec(moved.port)});
  CHECK(fetch() == ok);
  CHECK(moved.post_ports.size() == 1);
  CHECK(responder.post_ports.size() == 8);
  CHECK(fetch("m9") == "not a target");
  prober.set_targets({});
  CHECK(fetch() == "not a target");
  CHECK(prober.in_flight() == 0);
}
