// The DNS client of `dnsd verify` (see exchanger.hpp).
#include "exchanger.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "dname.hpp"
#include "names.hpp"
#include "query.hpp"
#include "raii.hpp"
#include "snapshot.hpp"
#include "verify.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

constexpr int timeout_ms = 2000;  // per try, as Go's default (resolv.conf timeout:2 attempts:2 is ours)
constexpr int tries = 2;

// Whether `reply` answers `q`: ID, QR, and the same question (names compared case-insensitively).
bool answers(const std::vector<uint8_t>& q, const uint8_t* reply, size_t len) {
  if (len < header_size || get16(reply) != get16(q.data()) || !(reply[2] & 0x80) || get16(reply + 4) != 1) return false;
  const size_t qlen = q.size() - header_size - 11;
  if (len < header_size + qlen) return false;
  for (size_t i = 0; i < qlen; ++i)
    if (fold(reply[header_size + i]) != fold(q[header_size + i])) return false;
  return true;
}

}  // namespace

std::vector<uint8_t> go_query(const std::string& name, uint16_t qtype, uint16_t id) {
  std::vector<uint8_t> m(header_size);
  put16(m.data(), id);
  m[2] = 0x01;  // RD, as Go sends
  put16(m.data() + 4, 1);
  put16(m.data() + 10, 1);
  const std::string wire = wire_name(name);
  m.insert(m.end(), wire.begin(), wire.end());
  const uint8_t tail[4] = {uint8_t(qtype >> 8), uint8_t(qtype), 0, 1};
  m.insert(m.end(), tail, tail + 4);
  const uint8_t opt[11] = {0, 0, 41, uint8_t(go_udp_read >> 8), uint8_t(go_udp_read & 0xFF), 0, 0, 0, 0, 0, 0};
  m.insert(m.end(), opt, opt + 11);
  return m;
}

Reply Client::exchange(const std::string& name, uint16_t qtype) {
  std::vector<uint8_t> q = go_query(name, qtype, uint16_t(rng_()));
  Reply r;
  for (int t = 0; t < tries && r.bytes.empty(); ++t) r.failure = udp(q, r.bytes);
  if (r.bytes.empty()) return r;
  if (r.bytes[2] & 0x02) {  // TC: Go asks again over TCP
    r.tcp = true;
    r.bytes.clear();
    for (int t = 0; t < tries && r.bytes.empty(); ++t) r.failure = tcp(q, r.bytes);
  }
  if (!r.bytes.empty()) r.failure.clear();
  return r;
}

std::string Client::udp(const std::vector<uint8_t>& q, std::vector<uint8_t>& out) {
  const Fd fd(::socket(server_.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&server_.addr), server_.len) != 0 ||
      ::send(fd.get(), q.data(), q.size(), 0) < 0)
    return std::string("cannot send: ") + std::strerror(errno);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<uint8_t> buf(65535);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) <= 0) return "i/o timeout";
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) return errno == ECONNREFUSED ? "connection refused" : std::strerror(errno);
    if (answers(q, buf.data(), size_t(n))) {
      out.assign(buf.begin(), buf.begin() + n);
      return {};
    }
  }
}

std::string Client::tcp(const std::vector<uint8_t>& q, std::vector<uint8_t>& out) {
  const Fd fd(::socket(server_.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return std::strerror(errno);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), events, 0};
    return left.count() > 0 && ::poll(&p, 1, int(left.count())) > 0 && !(p.revents & (POLLERR | POLLHUP) && !(p.revents & POLLIN));
  };
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&server_.addr), server_.len) != 0 && errno != EINPROGRESS)
    return std::strerror(errno);
  if (!wait(POLLOUT)) return "tcp: cannot connect";
  std::vector<uint8_t> framed = {uint8_t(q.size() >> 8), uint8_t(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  if (::send(fd.get(), framed.data(), framed.size(), MSG_NOSIGNAL) != ssize_t(framed.size())) return "tcp: cannot send";
  std::vector<uint8_t> in;
  uint8_t buf[65536];
  while (in.size() < 2 || in.size() < 2 + size_t(get16(in.data()))) {
    if (!wait(POLLIN)) return "tcp: i/o timeout";
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return "tcp: connection closed";
    in.insert(in.end(), buf, buf + n);
  }
  if (!answers(q, in.data() + 2, get16(in.data()))) return "tcp: a reply to another question";
  out.assign(in.begin() + 2, in.begin() + 2 + get16(in.data()));
  return {};
}

Reply SnapshotExchanger::exchange(const std::string& name, uint16_t qtype) {
  const std::vector<uint8_t> q = go_query(name, qtype, 1);
  Reply r;
  for (Transport t : {Transport::udp, Transport::tcp}) {
    std::vector<uint8_t> out(max_message);
    const Processed p = query_process(&snap_, q.data(), q.size(), out.data(), out.size(), t, counters_, nullptr);
    if (p.verdict != Verdict::reply) {
      r.failure = "i/o timeout";
      return r;
    }
    out.resize(p.size);
    r.bytes = std::move(out);
    r.tcp = t == Transport::tcp;
    if (!(r.bytes[2] & 0x02)) break;
  }
  return r;
}

}  // namespace dnsd
