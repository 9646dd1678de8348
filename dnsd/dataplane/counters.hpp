// Per-worker query counters: each worker writes only its own (relaxed stores, no RMW contention);
// the control thread sums them when /metrics is read. Data plane; header only.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dnsd {

struct Counters {
  using Counter = std::atomic<uint64_t>;
  std::array<Counter, 2> queries{};     // by transport: 0 = udp, 1 = tcp
  std::array<Counter, 24> responses{};  // by (extended) rcode; 16 = BADVERS
  std::array<Counter, 256> qtypes{};    // by qtype below 256; 0 collects the rest
  Counter truncated{0};
  Counter dropped{0};  // packets not answered: unreadable header or QR=1
  Counter malformed{0};  // messages that could not be parsed: shorter than a header, or FORMERR
  Counter rrl_dropped{0};  // UDP responses not sent: over the rate limit
  Counter rrl_slipped{0};  // UDP responses sent truncated instead (slip)
  Counter handed_over{0};  // UPDATE and TSIG-signed messages passed to the control thread
  Counter tsig_unknown_key{0};  // signed messages naming a key we do not have: BADKEY from the worker
  Counter update_unsigned{0};   // unsigned UPDATEs: refused by the worker
  Counter handoff_limited{0};   // UDP messages for the control thread sent to TCP: too many from their source
  Counter tcp_connections{0};
  Counter tcp_refused{0};  // connections closed at once because of the connection cap
  Counter tcp_accept_errors{0};    // failed accepts (out of descriptors): accepting paused briefly
  Counter tcp_deadline_closed{0};  // connections closed because a message did not arrive whole in time
};

// Single-writer increment: cheaper than fetch_add, correct because only the owning worker writes.
inline void bump(Counters::Counter& c, uint64_t by = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

// Renders the sum of all workers' counters as Prometheus text exposition.
std::string render_prometheus(const std::vector<const Counters*>& workers);

}  // namespace dnsd
