// query_process(): one received message in, one reply (or nothing) out, against a snapshot.
// Data plane: called per packet by the UDP and TCP workers; allocates, throws, logs and locks nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "metrics.hpp"
#include "rrl.hpp"
#include "snapshot.hpp"

namespace dnsd {

enum class Transport { udp, tcp };

// query_process() result: the message is for the control thread (see handoff.hpp), not answered here.
constexpr size_t hand_over = SIZE_MAX;

// Writes the reply for pkt[0..len) into out[0..cap) and returns its length; 0 means send nothing.
// cap must be at least 512 for UDP and 65535 for TCP. snap may be null (nothing loaded): REFUSED.
// Returns hand_over for DNS UPDATE and TSIG-signed messages when the snapshot says TSIG keys exist.
// What a worker knows about a message beyond its bytes, and what the reply turned out to be.
struct MessageContext {
  const uint8_t* client_ip = nullptr;  // 4 or 16 address bytes; null: no server cookies
  size_t client_ip_len = 0;
  uint32_t now = 0;        // UNIX seconds: the timestamp of server cookies
  bool classify = false;   // fill in response.name_hash (only when rate limiting is on: it costs)
  ResponseClass response;  // out: for response rate limiting
};

size_t query_process(const Snapshot* snap, const uint8_t* pkt, size_t len, uint8_t* out, size_t cap,
                     Transport transport, Counters& counters, MessageContext* context = nullptr) noexcept;

}  // namespace dnsd
