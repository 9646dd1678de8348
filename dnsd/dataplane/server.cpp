// Workers and the server that binds their sockets (see server.hpp).
#include "server.hpp"

#include <arpa/inet.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "server_tcp.hpp"
#include "server_udp.hpp"

namespace dnsd {

unsigned usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  const int n = CPU_COUNT(&set);
  return n > 0 ? unsigned(n) : 1;
}

namespace {

constexpr int udp_receive_buffer = 4 << 20;

Error sys_error(const std::string& what, const Endpoint& ep) {
  return io_error("cannot " + what + " " + ep.text + ": " + std::strerror(errno));
}

// A socket bound to ep. With reuse_port, workers share the address through SO_REUSEPORT.
Result<Fd> open_socket(const Endpoint& ep, int type, bool reuse_port) {
  // UDP sockets block: each has a thread waiting in recvmmsg (server_udp.hpp); TCP ones are libevent's.
  Fd fd(::socket(ep.addr.ss_family, type | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0) | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("create a socket for", ep);
  const int one = 1;
  if (type == SOCK_STREAM) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT only
  if (reuse_port && setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return sys_error("set SO_REUSEPORT on", ep);
  if (ep.addr.ss_family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (type == SOCK_DGRAM && is_wildcard(ep)) {
    const bool v6 = ep.addr.ss_family == AF_INET6;
    if (setsockopt(fd.get(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVPKTINFO : IP_PKTINFO, &one, sizeof one) != 0)
      return sys_error("enable PKTINFO on", ep);
  }
  if (type == SOCK_DGRAM) {
    // A deep receive queue absorbs bursts (a flood's packets arrive in bursts too, and drops from a
    // full queue hit legitimate clients as much as the flood). As root the system cap does not apply.
    const int rcvbuf = udp_receive_buffer;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
      setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    // The thread waiting in recvmmsg wakes up now and then to notice a stop.
    const timeval linger{UdpSocket::wake_ms / 1000, (UdpSocket::wake_ms % 1000) * 1000};
    if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &linger, sizeof linger) != 0)
      return sys_error("set the receive timeout of", ep);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0) {
    const int err = errno;
    Error e = sys_error(type == SOCK_STREAM ? "bind TCP" : "bind UDP", ep);
    // Say what to do about the two causes an operator meets.
    if (err == EACCES) e.message += " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
    if (err == EADDRINUSE) e.message += " (is another server running?)";
    return e;
  }
  if (type == SOCK_STREAM && ::listen(fd.get(), 1024) != 0) return sys_error("listen on", ep);
  return fd;
}

}  // namespace

Worker::Worker(SnapshotSlot& slot, const ServerOptions& options, Mailbox<Handoff>& handoff)
    : slot_(slot),
      options_(options),
      base_(event_base_new()),
      query_buf_(max_query + 1),
      reply_buf_(max_query + 2),
      handoff_(handoff) {
  if (!base_) throw std::runtime_error("cannot create an event base");
  tcp_replies_event_.reset(event_new(
      base_.get(), tcp_replies_.fd(), EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* self) {
        auto* w = static_cast<Worker*>(self);
        for (TcpReply& r : w->tcp_replies_.take())
          if (TcpConnection* c = w->tcp_.find(r.connection)) c->deliver(r.messages);
      },
      this));
  if (!tcp_replies_event_ || event_add(tcp_replies_event_.get(), nullptr) != 0)
    throw std::runtime_error("cannot register the reply mailbox");
}

void Worker::post_tcp_reply(TcpReply reply) { tcp_replies_.push(std::move(reply)); }

Worker::~Worker() {
  stop();
  tcp_.clear();
  listeners_.clear();
  udp_.clear();
}

Result<void> Worker::add_sockets(Fd udp, Fd tcp, bool pktinfo) {
  auto u = std::make_unique<UdpSocket>(std::move(udp), pktinfo, slot_, handoff_, options_.workers);
  auto t = std::make_unique<TcpListener>(*this, std::move(tcp));
  if (!t->arm()) return io_error("cannot register sockets with libevent");
  udp_.push_back(std::move(u));
  listeners_.push_back(std::move(t));
  return {};
}

void Worker::start() {
  for (auto& u : udp_) u->start();
  thread_ = std::thread([this] { event_base_loop(base_.get(), EVLOOP_NO_EXIT_ON_EMPTY); });
}

void Worker::stop() noexcept {
  for (auto& u : udp_) u->stop();
  if (!thread_.joinable()) return;
  event_base_loopbreak(base_.get());
  thread_.join();
}

std::vector<const Counters*> Worker::all_counters() const {
  std::vector<const Counters*> out{&counters_};
  for (const auto& u : udp_) out.push_back(&u->counters());
  return out;
}

const Snapshot* Worker::snapshot() noexcept {
  const uint64_t gen = slot_.generation();
  if (gen != generation_) {
    // Takes the slot's mutex, once per published snapshot and worker, never per packet.
    snapshot_ = slot_.current();
    generation_ = gen;
  }
  return snapshot_.get();
}

Server::Server(SnapshotSlot& slot, ServerOptions options) : slot_(slot), options_(std::move(options)) {
  static std::once_flag threads_once;
  std::call_once(threads_once, [] { evthread_use_pthreads(); });  // loopbreak from the main thread
}

Server::~Server() { stop(); }

Result<void> Server::bind() {
  for (Endpoint& ep : options_.listen) {
    uint16_t& port = reinterpret_cast<sockaddr_in*>(&ep.addr)->sin_port;  // same offset for v4 and v6
    if (port != 0) {
      // Probe without SO_REUSEPORT: fails when any other socket holds the port, so we never share
      // it with a foreign process.
      for (int type : {SOCK_DGRAM, SOCK_STREAM})
        if (Result<Fd> probe = open_socket(ep, type, false); !probe) return probe.error();
    }
  }
  for (unsigned i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>(slot_, options_, handoff_));
  for (Endpoint& ep : options_.listen) {
    for (auto& w : workers_) {
      Result<Fd> udp = open_socket(ep, SOCK_DGRAM, true);
      if (!udp) return udp.error();
      uint16_t& port = reinterpret_cast<sockaddr_in*>(&ep.addr)->sin_port;
      if (port == 0) {
        // Port 0: the kernel picks one for the first socket; every other socket joins it.
        sockaddr_storage got{};
        socklen_t len = sizeof got;
        getsockname(udp.value().get(), reinterpret_cast<sockaddr*>(&got), &len);
        port = reinterpret_cast<sockaddr_in*>(&got)->sin_port;
        ep.text = endpoint_text(ep.addr);
      }
      Result<Fd> tcp = open_socket(ep, SOCK_STREAM, true);
      if (!tcp) return tcp.error();
      if (Result<void> added = w->add_sockets(std::move(udp).value(), std::move(tcp).value(), is_wildcard(ep)); !added)
        return added;
    }
  }
  return {};
}

void Server::start() {
  for (auto& w : workers_) w->start();
}

void Server::stop() noexcept {
  for (auto& w : workers_) w->stop();
}

std::vector<const Counters*> Server::counters() const {
  std::vector<const Counters*> out;
  for (const auto& w : workers_)
    for (const Counters* c : w->all_counters()) out.push_back(c);
  return out;
}

}  // namespace dnsd
