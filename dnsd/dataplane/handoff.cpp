// Handoff mailboxes (see handoff.hpp).
#include "handoff.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace dnsd {

template <typename T>
Mailbox<T>::Mailbox(size_t capacity) : capacity_(capacity), fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!fd_) throw std::runtime_error("cannot create an eventfd");
}

template <typename T>
bool Mailbox<T>::push(T item, size_t limit) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (items_.size() >= std::min(limit, capacity_)) return false;
    items_.push_back(std::move(item));
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(fd_.get(), &one, sizeof one);  // fails only when already readable
  return true;
}

template <typename T>
std::vector<T> Mailbox<T>::take() {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(fd_.get(), &count, sizeof count);
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<T> out;
  out.swap(items_);
  return out;
}

template class Mailbox<Handoff>;
template class Mailbox<TcpReply>;

bool send_udp_reply(const Handoff& h, const uint8_t* reply, size_t len) noexcept {
  iovec iov{const_cast<uint8_t*>(reply), len};
  msghdr m{};
  m.msg_name = const_cast<sockaddr_storage*>(&h.peer);
  m.msg_namelen = h.peer_len;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (!h.reply_control.empty()) {
    m.msg_control = const_cast<uint8_t*>(h.reply_control.data());
    m.msg_controllen = h.reply_control.size();
  }
  return ::sendmsg(h.udp_fd, &m, MSG_DONTWAIT) == ssize_t(len);
}

}  // namespace dnsd
