// The kernel's floor for the comparison benchmark: a raw recvmmsg/sendmmsg UDP loop that answers every
// message with a reply of a fixed size (the query's header and question with QR set, padded with zero
// bytes) and does no DNS work at all. Usage: bench_reflector ADDRESS PORT REPLY_SIZE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s ADDRESS PORT REPLY_SIZE\n", argv[0]);
    return 2;
  }
  const size_t reply_size = std::strtoul(argv[3], nullptr, 10);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 || reply_size < 12 || reply_size > 1232) return 2;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("bind");
    return 1;
  }
  constexpr size_t batch = 32;
  static std::array<std::array<uint8_t, 1500>, batch> bufs;
  std::array<sockaddr_storage, batch> peers{};
  std::array<iovec, batch> iov{}, out_iov{};
  std::array<mmsghdr, batch> in{}, out{};
  for (;;) {
    for (size_t i = 0; i < batch; ++i) {
      iov[i] = {bufs[i].data(), bufs[i].size()};
      in[i].msg_hdr = {};
      in[i].msg_hdr.msg_name = &peers[i];
      in[i].msg_hdr.msg_namelen = sizeof peers[i];
      in[i].msg_hdr.msg_iov = &iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, in.data(), batch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    for (int i = 0; i < n; ++i) {
      uint8_t* b = bufs[i].data();
      const size_t len = in[i].msg_len;
      if (len < 12) continue;
      b[2] |= 0x80;
      if (len < reply_size) std::memset(b + len, 0, reply_size - len);
      out_iov[i] = {b, reply_size};
      out[i].msg_hdr = {};
      out[i].msg_hdr.msg_name = &peers[i];
      out[i].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
      out[i].msg_hdr.msg_iov = &out_iov[i];
      out[i].msg_hdr.msg_iovlen = 1;
    }
    sendmmsg(fd, out.data(), unsigned(n), 0);
  }
}
