// RFC 7766 behaviour of the real binary: pipelining, framing split across writes, half-close, idle
// timeout and the connection cap.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "harness.hpp"
#include "ldns_reply.hpp"

using namespace dnsd::test;

TEST_CASE("pipelined queries on one connection are all answered, in order", "[tcp]") {
  TempDir dir;
  DnsdProcess d(write_config(dir));
  std::vector<Bytes> queries;
  for (uint16_t i = 0; i < 50; ++i) {
    QueryOptions o;
    o.id = uint16_t(1000 + i);
    queries.push_back(make_query(i % 2 ? "etcd-2.c1.lab.example.com" : "missing.lab.example.com", 1, 1, o));
  }
  const auto replies = tcp_exchange(d.port(), queries, queries.size());
  REQUIRE(replies.size() == queries.size());
  for (uint16_t i = 0; i < replies.size(); ++i) {
    INFO(i);
    CHECK(rd16(replies[i], 0) == 1000 + i);
    CHECK(rcode_of(replies[i]) == (i % 2 ? "NOERROR" : "NXDOMAIN"));
  }
}

TEST_CASE("a query split across writes, and replies after a half-close", "[tcp]") {
  TempDir dir;
  DnsdProcess d(write_config(dir));
  const int fd = tcp_connect(d.port());
  REQUIRE(fd >= 0);
  Bytes framed;
  const Bytes q = make_query("etcd-3.c1.lab.example.com", 1);
  push16(framed, uint16_t(q.size()));
  framed.insert(framed.end(), q.begin(), q.end());
  for (uint8_t b : framed) {
    send(fd, &b, 1, MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  shutdown(fd, SHUT_WR);  // no more queries: the reply must still come
  auto r = tcp_read_reply(fd, 2000);
  close(fd);
  REQUIRE(r);
  auto p = parse_reply(r);
  REQUIRE(p);
  CHECK(rrs(ldns_pkt_answer(p.get())) == "etcd-3.c1.lab.example.com.\t30\tIN\tA\t192.0.2.23\n");
}

TEST_CASE("idle connections are closed after the idle timeout", "[tcp]") {
  TempDir dir;
  DnsdProcess d(write_config(dir, "", "tcp: { idle_timeout: 300ms }\n"));
  const int fd = tcp_connect(d.port());
  REQUIRE(fd >= 0);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(tcp_read_reply(fd, 3000));  // EOF from the server, well before 3 s
  const auto waited = std::chrono::steady_clock::now() - start;
  close(fd);
  CHECK(waited >= std::chrono::milliseconds(250));
  CHECK(waited < std::chrono::milliseconds(2500));
}

TEST_CASE("a full table makes room by closing the connection idle the longest, never a busy one", "[tcp]") {
  TempDir dir;
  DnsdProcess d(write_config(dir, "", "tcp: { max_connections: 3 }\n", 1));
  const Bytes q = make_query("etcd-1.c1.lab.example.com", 1);
  Bytes framed;
  push16(framed, uint16_t(q.size()));
  framed.insert(framed.end(), q.begin(), q.end());
  auto ask = [&](int fd) {
    send(fd, framed.data(), framed.size(), MSG_NOSIGNAL);
    return bool(tcp_read_reply(fd, 1000));
  };
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(tcp_connect(d.port()));
    CHECK(ask(held.back()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // an order of activity
  }
  CHECK(ask(held[2]));  // held[2] is now the most recently active, held[0] the idle one the longest
  // The table is full: a newcomer is served, and the connection idle the longest made room.
  const int newcomer = tcp_connect(d.port());
  CHECK(ask(newcomer));
  CHECK_FALSE(ask(held[0]));
  CHECK(ask(held[1]));
  CHECK(ask(held[2]));
  // Every connection busy (half a message each): nothing is closed for room, the newcomer is refused.
  for (int fd : {held[1], held[2], newcomer}) send(fd, framed.data(), framed.size() - 3, MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int refused = tcp_connect(d.port());
  CHECK_FALSE(ask(refused));
  close(refused);
  // The busy ones finish their messages and are answered.
  for (int fd : {held[1], held[2], newcomer}) {
    send(fd, framed.data() + framed.size() - 3, 3, MSG_NOSIGNAL);
    CHECK(tcp_read_reply(fd, 1000));
  }
  // Stuck in a message for over a second (a trickle, say): that one makes room for a newcomer.
  for (int fd : {held[1], held[2], newcomer}) send(fd, framed.data(), framed.size() - 3, MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const int late = tcp_connect(d.port());
  CHECK(ask(late));
  // The one active the longest ago made room: closed (EOF), not merely silent.
  pollfd pfd{held[1], POLLIN, 0};
  char c;
  CHECK((poll(&pfd, 1, 1000) == 1 && recv(held[1], &c, 1, 0) <= 0));
  send(held[2], framed.data() + framed.size() - 3, 3, MSG_NOSIGNAL);  // the others are still served
  CHECK(tcp_read_reply(held[2], 1000));
  for (int fd : held) close(fd);
  close(newcomer);
  close(late);
}

TEST_CASE("a message must arrive whole in time: a trickle of bytes does not keep a connection", "[tcp]") {
  TempDir dir;
  DnsdProcess d(write_config(dir, "", "tcp: { idle_timeout: 2s, message_timeout: 600ms }\n", 1));
  const int fd = tcp_connect(d.port());
  const uint8_t prefix[2] = {0, 40};
  send(fd, prefix, 2, MSG_NOSIGNAL);  // a 40-byte message announced, then one byte every 200 ms
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    send(fd, "x", 1, MSG_NOSIGNAL);
    char c;
    const ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(closed);
  CHECK(took < 1.5);  // the message deadline (600 ms), not the idle timeout the trickle keeps resetting
  close(fd);
  CHECK(tcp_exchange(d.port(), {make_query("etcd-1.c1.lab.example.com", 1)}, 1).size() == 1);
}

TEST_CASE("one source's idle connections and slow writers do not starve other clients", "[tcp]") {
  TempDir dir;
  DnsdProcess d(write_config(dir, "", "tcp: { max_connections: 100, max_connections_per_source: 4 }\n", 1));
  const Bytes q = make_query("etcd-2.c1.lab.example.com", 1);
  Bytes framed;
  push16(framed, uint16_t(q.size()));
  framed.insert(framed.end(), q.begin(), q.end());
  // 127.0.0.3 holds its four slots: two idle, two writing a query one byte at a time and stalling.
  std::vector<int> hog;
  for (int i = 0; i < 4; ++i) {
    hog.push_back(tcp_connect_from("127.0.0.3", d.port()));
    if (i >= 2) send(hog.back(), framed.data(), 3, MSG_NOSIGNAL);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int fifth = tcp_connect_from("127.0.0.3", d.port());
  send(fifth, framed.data(), framed.size(), MSG_NOSIGNAL);
  CHECK_FALSE(tcp_read_reply(fifth, 1000));  // over its per-source cap: closed at once
  close(fifth);
  // Everyone else is served, over TCP and UDP.
  const int other = tcp_connect_from("127.0.0.4", d.port());
  send(other, framed.data(), framed.size(), MSG_NOSIGNAL);
  CHECK(tcp_read_reply(other, 1000));
  close(other);
  CHECK(tcp_exchange(d.port(), {q}, 1).size() == 1);
  CHECK(udp_exchange(d.port(), q));
  // The stalled writers still get their answer once they finish.
  send(hog[2], framed.data() + 3, framed.size() - 3, MSG_NOSIGNAL);
  CHECK(tcp_read_reply(hog[2], 1000));
  for (int fd : hog) close(fd);
}

namespace {
long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}
}  // namespace

TEST_CASE("clients that never read hold at most the worker's output budget, and the memory comes back", "[tcp][limits]") {
  TempDir dir;
  std::string zone = "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\nrecords: |\n";
  for (int i = 0; i < 16; ++i) zone += "  big IN TXT \"" + std::to_string(i) + std::string(240, 'x') + "\"\n";  // ~4 KB
  dir.write("zones/lab.yaml", zone);
  const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\nworkers: 1\n"
                                                  "tcp: { max_connections: 2000, max_connections_per_source: 2000, output_budget_mb: 8 }\n");
  // Under ASan, freed memory waits in a quarantine (256 MB) and is never given back: turn that off for
  // this dnsd so RSS measures what dnsd holds (no effect on a release build).
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string allocator = std::string("ASAN_OPTIONS=") + (asan ? asan : "") +
                                ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0:allocator_release_to_os_interval_ms=0";
  DnsdProcess d(conf, {}, true, 0, {"/usr/bin/env", allocator});
  const long base = rss_kib(d.pid());
  Bytes burst;
  for (int i = 0; i < 200; ++i) {  // 200 pipelined queries: 800 KB of replies each, were they all produced
    const Bytes q = make_query("big.lab.example.com", 16);
    push16(burst, uint16_t(q.size()));
    burst.insert(burst.end(), q.begin(), q.end());
  }
  std::vector<int> clients;
  for (int i = 0; i < 600; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);  // the kernel holds little for us
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(d.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      continue;
    }
    send(fd, burst.data(), burst.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    clients.push_back(fd);
  }
  REQUIRE(clients.size() == 600);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long held = rss_kib(d.pid());
  // Without the budget this is 600 x 256 KiB (150 MB) of unread replies.
  INFO("RSS " << base / 1024 << " MiB at start, " << held / 1024 << " MiB with 600 clients that never read");
  CHECK(held - base < 48 * 1024);
  // Everyone else is still served.
  CHECK(tcp_exchange(d.port(), {make_query("big.lab.example.com", 16)}, 1).size() == 1);
  for (int fd : clients) close(fd);
  long after = held;
  for (int i = 0; i < 100 && after - base > 16 * 1024; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = rss_kib(d.pid());
  }
  INFO("RSS " << after / 1024 << " MiB once they left");
  CHECK(after - base < 16 * 1024);
}
