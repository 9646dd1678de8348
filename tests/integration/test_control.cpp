// The control endpoint of the real binary: status codes, JSON errors, and clients that are slow,
// malformed or oversized do not stop it from serving the next one.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include "harness.hpp"

using namespace dnsd::test;

namespace {

std::string raw_http(uint16_t port, const std::string& request) {
  const int fd = tcp_connect(port);
  if (fd < 0) return "";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, size_t(n));
  close(fd);
  return out;
}

struct Server {
  TempDir dir;
  uint16_t control = free_port();
  DnsdProcess dnsd{write_config(dir), {"--control", "127.0.0.1:" + std::to_string(control)}};
};

}  // namespace

TEST_CASE("control API: status codes and JSON bodies", "[control]") {
  Server s;
  const std::string zones = http_get(s.control, "/v1/zones");
  CHECK_THAT(zones, Catch::StartsWith("HTTP/1.1 200") && Catch::Contains("Content-Type: application/json"));
  CHECK_THAT(zones, Catch::Contains("{\"zones\":[{\"zone\":\"lab.example.com.\",\"serial\":"));
  CHECK_THAT(zones, Catch::Contains("{\"name\":\"e1\",\"host\":\"etcd-1.c1.lab.example.com.\",\"health\":\"not probed\""));
  const std::string one = http_get(s.control, "/v1/zones/LAB.example.com");
  CHECK_THAT(one, Catch::StartsWith("HTTP/1.1 200") && Catch::Contains("\"clusters\":[{\"name\":\"c1\",\"probed\":false"));
  CHECK_THAT(http_get(s.control, "/v1/zones/example.org"),
             Catch::StartsWith("HTTP/1.1 404") && Catch::Contains("{\"error\": \"no such zone\"}"));
  CHECK_THAT(raw_http(s.control, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 405") && Catch::Contains("\"error\""));
  CHECK_THAT(raw_http(s.control, "DELETE /v1/zones HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 405"));
}

TEST_CASE("control API survives malformed, oversized and slow clients", "[control]") {
  Server s;
  CHECK_THAT(raw_http(s.control, "THIS IS NOT HTTP\r\n\r\n"), Catch::StartsWith("HTTP/1.1 400") || Catch::Equals(""));
  const std::string huge = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  const std::string big_reply = raw_http(s.control, huge);
  CHECK_THAT(big_reply, !Catch::StartsWith("HTTP/1.1 200"));
  // A client that sends half a request and stalls holds nobody else up.
  const int slow = tcp_connect(s.control);
  const std::string partial = "GET /healthz HTTP/1.1\r\nHo";
  send(slow, partial.data(), partial.size(), MSG_NOSIGNAL);
  CHECK_THAT(http_get(s.control, "/healthz"), Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(http_get(s.control, "/metrics"), Catch::Contains("dnsd_queries_total{transport=\"udp\"}"));
  close(slow);
  CHECK(udp_exchange(s.dnsd.port(), make_query("etcd-1.c1.lab.example.com", 1)));
}
