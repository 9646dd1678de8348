// The control endpoint of the real binary: status codes, JSON errors, and clients that are slow,
// malformed or oversized do not stop it from serving the next one.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

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

namespace {

// Connections from `source` that each send part of a request line and then one byte every `every_ms`.
std::vector<int> tricklers(const std::string& source, uint16_t port, int count) {
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    const int fd = tcp_connect_from(source, port);
    if (fd < 0) break;
    send(fd, "GET /healthz HTTP/1.1\r\n", 24, MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  return fds;
}

// Whether the server has closed fd (EOF or reset) within timeout_ms.
bool closed_by_server(int fd, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char c;
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
    send(fd, "X", 1, MSG_NOSIGNAL);  // a trickle of header bytes: a per-read timeout would never fire
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int metric(uint16_t port, const std::string& name) {
  const std::string m = http_get(port, "/metrics");
  const size_t at = m.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atoi(m.c_str() + at + name.size() + 2);
}

}  // namespace

TEST_CASE("control endpoint: per-source and total caps, one deadline for a whole request", "[control][limits]") {
  TempDir dir;
  const uint16_t control = free_port();
  DnsdProcess dnsd{write_config(dir, "", "control: { listen: \"127.0.0.1:1\", max_connections: 40, max_connections_per_source: 8, "
                                         "request_timeout: 1500ms }\n"),
                   {"--control", "127.0.0.1:" + std::to_string(control)}};
  // Sources 127.0.0.2-6 each open 12 trickling connections: 8 are held, 4 closed at once; 40 in all.
  std::vector<int> held;
  for (int s = 2; s <= 6; ++s) {
    const std::vector<int> fds = tricklers("127.0.0." + std::to_string(s), control, 12);
    REQUIRE(fds.size() == 12);
    int refused = 0;
    for (size_t i = 8; i < fds.size(); ++i) refused += closed_by_server(fds[i], 500);
    CHECK(refused == 4);
    held.insert(held.end(), fds.begin(), fds.begin() + 8);
  }
  // Every slot is taken: a newcomer from another source is refused by the total cap...
  const std::vector<int> newcomer = tricklers("127.0.0.7", control, 1);
  REQUIRE(newcomer.size() == 1);
  CHECK(closed_by_server(newcomer[0], 500));
  close(newcomer[0]);
  // ... and the one deadline empties the table within 1.5 s although every client keeps trickling.
  const auto start = std::chrono::steady_clock::now();
  int closed = 0;
  for (int fd : held) closed += closed_by_server(fd, 2500);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(closed == 40);
  CHECK(took < 3.0);
  for (int fd : held) close(fd);
  CHECK_THAT(http_get(control, "/healthz"), Catch::StartsWith("HTTP/1.1 200"));
  CHECK(metric(control, "dnsd_control_refused_total") >= 20);
  CHECK(metric(control, "dnsd_control_timeouts_total") >= 40);
  // Two Content-Length headers are refused, equal or not.
  CHECK_THAT(raw_http(control, "PUT /v1/zones/lab.example.com/clusters/c1/members/x HTTP/1.1\r\nContent-Length: 2\r\n"
                               "Content-Length: 2\r\n\r\n{}"),
             Catch::StartsWith("HTTP/1.1 400") && Catch::Contains("more than one Content-Length"));
}

TEST_CASE("control endpoint: a stop with requests in flight is clean", "[control][limits]") {
  // Clients whose replies are being written (they read nothing, with small receive buffers) and
  // clients that hang up at once, then SIGTERM: the connections' memory is freed before the exit (the
  // sanitizer build's leak check turns a loss into a non-zero status).
  Server s;
  std::vector<int> fds;
  for (int i = 0; i < 40; ++i) {
    const int fd = tcp_connect(s.control);
    REQUIRE(fd >= 0);
    const std::string request = i % 2 ? "GET /healthz HTTP/1.1\r\n\r\n" : "GET /metrics HTTP/1.1\r\n\r\n";
    send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (i % 2) close(fd);
    else fds.push_back(fd);
  }
  s.dnsd.signal(SIGTERM);
  CHECK(s.dnsd.wait_exit(10000) == 0);
  for (int fd : fds) close(fd);
}

TEST_CASE("control endpoint: out of descriptors, accepting pauses instead of spinning", "[control][limits]") {
  TempDir dir;
  const uint16_t control = free_port();
  // 64 descriptors in all: the workers' sockets and a few connections use them up.
  DnsdProcess dnsd{write_config(dir, "", "", 1), {"--control", "127.0.0.1:" + std::to_string(control)}, true, 0,
                   {"/usr/bin/prlimit", "--nofile=64:64"}};
  std::vector<int> fds;
  for (int s = 2; s <= 9; ++s)
    for (int i = 0; i < 10; ++i)
      if (const int fd = tcp_connect_from("127.0.0." + std::to_string(s), control); fd >= 0) fds.push_back(fd);
  auto cpu_ticks = [&] {
    std::ifstream stat("/proc/" + std::to_string(dnsd.pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string f;
    long ticks = 0;
    for (int i = 0; i < 13 && fields >> f; ++i)
      if (i >= 11) ticks += std::atol(f.c_str());  // utime, stime
    return ticks;
  };
  const long before = cpu_ticks();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long used = cpu_ticks() - before;
  INFO("dnsd used " << used << " ticks in 2 s with its descriptors exhausted");
  CHECK(used < 20);  // a spinning accept loop burns the whole 2 s (200 ticks)
  CHECK(dnsd.wait_for_log("control: cannot accept connections (Too many open files): paused for 100 ms", 1000));
  const std::string log = dnsd.log();
  size_t lines = 0;
  for (size_t at = log.find("cannot accept connections"); at != std::string::npos; at = log.find("cannot accept connections", at + 1)) ++lines;
  CHECK(lines <= 4);  // at most once a second
  for (int fd : fds) close(fd);
  CHECK_THAT(http_get(control, "/healthz"), Catch::StartsWith("HTTP/1.1 200"));
  CHECK(udp_exchange(dnsd.port(), make_query("etcd-1.c1.lab.example.com", 1)));
}
