// UDP serving (see server_udp.hpp). Buffers are the worker's, sized once; nothing here allocates.
#include "server_udp.hpp"

#include <cerrno>
#include <cstring>

#include "query.hpp"
#include "server.hpp"

namespace dnsd {

namespace {
// Bounds the work done per readiness event so that TCP and other sockets of the worker get a turn.
constexpr int max_batches_per_event = 16;
constexpr size_t slot_size = Worker::max_query + 1;
}  // namespace

UdpSocket::UdpSocket(Worker& worker, Fd fd) : worker_(worker), fd_(std::move(fd)) {}

bool UdpSocket::arm() {
  event_.reset(event_new(worker_.base(), fd_.get(), EV_READ | EV_PERSIST, &UdpSocket::on_readable, this));
  return event_ && event_add(event_.get(), nullptr) == 0;
}

void UdpSocket::on_readable(evutil_socket_t, short, void* self) noexcept { static_cast<UdpSocket*>(self)->drain(); }

void UdpSocket::drain() noexcept {
  constexpr size_t batch = Worker::udp_batch;
  std::array<mmsghdr, batch> in{};
  std::array<mmsghdr, batch> out{};
  std::array<iovec, batch> in_iov{};
  std::array<iovec, batch> out_iov{};
  std::array<sockaddr_storage, batch> peers{};
  uint8_t* qbuf = worker_.query_buffer();
  uint8_t* rbuf = worker_.reply_buffer();
  Counters& counters = worker_.counters();

  for (int round = 0; round < max_batches_per_event; ++round) {
    for (size_t i = 0; i < batch; ++i) {
      in_iov[i] = {qbuf + i * slot_size, slot_size};
      in[i].msg_hdr = {};
      in[i].msg_hdr.msg_name = &peers[i];
      in[i].msg_hdr.msg_namelen = sizeof peers[i];
      in[i].msg_hdr.msg_iov = &in_iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd_.get(), in.data(), batch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;  // EAGAIN: drained; other errors (ICMP-induced) are retried on the next event

    const Snapshot* snap = worker_.snapshot();
    unsigned replies = 0;
    for (int i = 0; i < n; ++i) {
      uint8_t* reply = rbuf + size_t(i) * Worker::udp_reply_cap;
      const size_t len = query_process(snap, qbuf + size_t(i) * slot_size, in[i].msg_len, reply,
                                       Worker::udp_reply_cap, Transport::udp, counters);
      if (len == 0) continue;
      out_iov[replies] = {reply, len};
      out[replies].msg_hdr = {};
      out[replies].msg_hdr.msg_name = &peers[i];
      out[replies].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
      out[replies].msg_hdr.msg_iov = &out_iov[replies];
      out[replies].msg_hdr.msg_iovlen = 1;
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
    if (size_t(n) < batch) return;
  }
}

}  // namespace dnsd
