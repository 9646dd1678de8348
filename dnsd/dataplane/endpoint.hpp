// Socket addresses of the listeners and of clients: built from configured text, printed for logs,
// and reduced to address bytes (the key of per-source limits, cookies and RRL).
// Data plane: make_endpoint at start-up; address_bytes per packet (allocates nothing).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dnsd {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // "192.0.2.1:53" or "[2001:db8::1]:53", for logs
};

// An endpoint from a numeric address and port; nullopt when the address does not parse.
std::optional<Endpoint> make_endpoint(const std::string& address, uint16_t port);
std::string endpoint_text(const sockaddr_storage& addr);
// The address bytes of a socket address: 16 for IPv6, 4 for IPv4 (port left out).
std::string_view address_bytes(const sockaddr* addr) noexcept;

// Byte `i` of the mask of an address prefix of `bits` bits: 0xFF inside the prefix, 0 past it, the
// high bits where the prefix ends inside the byte.
constexpr uint8_t prefix_byte_mask(unsigned bits, size_t i) noexcept {
  return uint8_t(0xFF00 >> (bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0));
}
// Whether the endpoint is 0.0.0.0 or [::] (replies then need PKTINFO to leave from the right address).
bool is_wildcard(const Endpoint& ep) noexcept;

}  // namespace dnsd
