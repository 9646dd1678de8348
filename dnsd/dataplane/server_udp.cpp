// UDP serving (see server_udp.hpp). Buffers are sized once; nothing here allocates per query.
#include "server_udp.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "query.hpp"
#include "server.hpp"

namespace dnsd {

namespace {
constexpr size_t slot_size = UdpSocket::slot;
// UPDATEs and signed messages a source may hand to the control thread per second over UDP (the
// whole server; each worker takes its share), counted per /24 or /56 like RRL.
constexpr RrlOptions handoff_rate{200, 1, 24, 56};

// UNIX seconds, read once per batch (the coarse clock costs a few ns): cookie timestamps and RRL.
uint32_t coarse_seconds() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return uint32_t(ts.tv_sec);
}

}  // namespace

namespace {

constexpr size_t control_size = CMSG_SPACE(sizeof(in6_pktinfo));
struct alignas(cmsghdr) Control {
  uint8_t bytes[control_size];
  uint8_t* data() noexcept { return bytes; }
};

template <typename Info>
void put_control(msghdr& out, Control& buf, int level, int type, const Info& info) noexcept {
  out.msg_control = buf.data();
  out.msg_controllen = CMSG_SPACE(sizeof info);
  cmsghdr* o = CMSG_FIRSTHDR(&out);
  o->cmsg_level = level;
  o->cmsg_type = type;
  o->cmsg_len = CMSG_LEN(sizeof info);
  std::memcpy(CMSG_DATA(o), &info, sizeof info);
}

// Turns the destination address of a received query into the source address of its reply.
void reply_control(const msghdr& in, msghdr& out, Control& buf) noexcept {
  out.msg_control = nullptr;
  out.msg_controllen = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&in); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&in), c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      info.ipi_spec_dst = info.ipi_addr;
      info.ipi_ifindex = 0;
      return put_control(out, buf, IPPROTO_IP, IP_PKTINFO, info);
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;  // its address is the query's destination: the reply's source as it is
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      return put_control(out, buf, IPPROTO_IPV6, IPV6_PKTINFO, info);
    }
  }
}

}  // namespace

UdpSocket::UdpSocket(Fd fd, bool pktinfo, SnapshotSlot& snapshots, Mailbox<Handoff>& handoff, unsigned share)
    : fd_(std::move(fd)),
      pktinfo_(pktinfo),
      slot_(snapshots),
      handoff_(handoff),
      rrl_(65536, share),
      handoff_limit_(4096, share),
      queries_(batch * UdpSocket::slot),
      replies_(batch * reply_cap) {}

UdpSocket::~UdpSocket() { stop(); }

void UdpSocket::start() {
  thread_ = std::thread([this] { run(); });
}

void UdpSocket::stop() noexcept {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  ::shutdown(fd_.get(), SHUT_RDWR);  // wakes a blocked recvmmsg (it then returns 0)
  thread_.join();
}

void UdpSocket::run() noexcept {
  while (!stopping_.load(std::memory_order_acquire) && serve_batch()) {
  }
}

void UdpSocket::hand_over_udp(const uint8_t* msg, size_t len, const sockaddr_storage& peer, const msghdr& in) noexcept {
  try {
    Handoff h;
    h.message.assign(msg, msg + len);
    h.udp_fd = fd_.get();
    h.peer = peer;
    h.peer_len = in.msg_namelen;
    h.source = address_bytes(reinterpret_cast<const sockaddr*>(&peer));
    if (pktinfo_) {
      msghdr out{};
      Control control;
      reply_control(in, out, control);
      h.reply_control.assign(control.data(), control.data() + out.msg_controllen);
    }
    if (handoff_.push(std::move(h), handoff_.capacity() * 3 / 4)) return;
  } catch (...) {
  }
  bump(counters_.dropped);  // the mailbox is full (or memory is): the client will retry
}

bool UdpSocket::serve_batch() noexcept {
  std::array<mmsghdr, batch> in{};
  std::array<mmsghdr, batch> out{};
  std::array<iovec, batch> in_iov{};
  std::array<iovec, batch> out_iov{};
  std::array<sockaddr_storage, batch> peers{};
  std::array<Control, batch> in_control;
  std::array<Control, batch> out_control;
  uint8_t* qbuf = queries_.data();
  uint8_t* rbuf = replies_.data();
  Counters& counters = counters_;

  {
    for (size_t i = 0; i < batch; ++i) {
      in_iov[i] = {qbuf + i * slot_size, max_query};
      in[i].msg_hdr = {};
      in[i].msg_hdr.msg_name = &peers[i];
      in[i].msg_hdr.msg_namelen = sizeof peers[i];
      in[i].msg_hdr.msg_iov = &in_iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
      if (pktinfo_) {
        in[i].msg_hdr.msg_control = in_control[i].data();
        in[i].msg_hdr.msg_controllen = control_size;
      }
    }
    // Blocks until at least one datagram is there, then takes what has queued up (MSG_WAITFORONE).
    const int n = recvmmsg(fd_.get(), in.data(), batch, MSG_WAITFORONE, nullptr);
    if (n == 0) return false;  // shut down by stop()
    // The snapshot to answer from, checked after the wait so that it is the one published last;
    // an idle socket also lets go of an old one when its wait times out.
    if (const uint64_t gen = slot_.generation(); gen != generation_) {
      snapshot_ = slot_.current();  // takes the slot's mutex, once per published snapshot
      generation_ = gen;
    }
    if (n < 0) return true;  // the wake-up timeout, EINTR, or an ICMP-induced error: try again
    const Snapshot* snap = snapshot_.get();
    const RrlOptions* rrl = snap && snap->rrl().rate ? &snap->rrl() : nullptr;
    const uint32_t now = coarse_seconds();
    unsigned replies = 0;
    for (int i = 0; i < n; ++i) {
      uint8_t* reply = rbuf + size_t(i) * reply_cap;
      if (in[i].msg_hdr.msg_flags & MSG_TRUNC) {  // over udp_max_query: not a query we could answer
        bump(counters.dropped);
        bump(counters.malformed);
        continue;
      }
      MessageContext context;
      context.now = now;
      context.classify = rrl != nullptr;
      const std::string_view ip = address_bytes(reinterpret_cast<const sockaddr*>(&peers[i]));
      context.client_ip = reinterpret_cast<const uint8_t*>(ip.data());
      context.client_ip_len = ip.size();
      const Processed p = query_process(snap, qbuf + size_t(i) * slot_size, in[i].msg_len, reply, reply_cap,
                                        Transport::udp, counters, &context);
      if (p.verdict == Verdict::drop) continue;
      size_t len = p.size;
      if (p.verdict == Verdict::hand_over) {
        // Each source hands over at most handoff_rate messages a second; past that it is sent to TCP
        // (a spoofed flood gets nothing it can use, a real client retries where it cannot be spoofed).
        const Rrl::Verdict v = handoff_limit_.account(handoff_rate, context.client_ip, context.client_ip_len,
                                                      {ResponseClass::error, 0}, now);
        if (v == Rrl::Verdict::send) {
          hand_over_udp(qbuf + size_t(i) * slot_size, in[i].msg_len, peers[i], in[i].msg_hdr);
          continue;
        }
        bump(counters.handoff_limited);
        const Processed tc = retry_over_tcp(qbuf + size_t(i) * slot_size, in[i].msg_len, reply, reply_cap, counters);
        if (tc.verdict != Verdict::reply) continue;
        len = tc.size;
      }
      if (rrl && p.verdict == Verdict::reply) {
        const Rrl::Verdict v = rrl_.account(*rrl, context.client_ip, context.client_ip_len, context.response, now);
        if (v == Rrl::Verdict::drop) {
          bump(counters.rrl_dropped);
          continue;
        }
        if (v == Rrl::Verdict::slip) {
          len = truncate_reply(reply, len);
          bump(counters.rrl_slipped);
        }
      }
      out_iov[replies] = {reply, len};
      out[replies].msg_hdr = {};
      out[replies].msg_hdr.msg_name = &peers[i];
      out[replies].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
      out[replies].msg_hdr.msg_iov = &out_iov[replies];
      out[replies].msg_hdr.msg_iovlen = 1;
      if (pktinfo_) reply_control(in[i].msg_hdr, out[replies].msg_hdr, out_control[replies]);
      ++replies;
    }
    for (unsigned sent = 0; sent < replies;) {
      const int m = sendmmsg(fd_.get(), out.data() + sent, replies - sent, MSG_DONTWAIT);
      if (m < 0 && errno == EINTR) continue;
      if (m < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        bump(counters.dropped);  // this destination failed; the rest of the batch still goes out
        ++sent;
        continue;
      }
      if (m <= 0) {
        bump(counters.dropped, replies - sent);  // socket buffer full: the clients will retry
        break;
      }
      sent += unsigned(m);
    }
  }
  return true;
}

}  // namespace dnsd
