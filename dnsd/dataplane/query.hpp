// query_process(): one received message in, one reply (or nothing) out, against a snapshot.
// Data plane: called per packet by the UDP and TCP workers; allocates, throws, logs and locks nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "counters.hpp"
#include "rrl.hpp"
#include "snapshot.hpp"

namespace dnsd {

enum class Transport { udp, tcp };

// What becomes of a received message (the hot path's verdict; no length doubles as a signal).
enum class Verdict : uint8_t {
  drop,       // send nothing: unreadable header, QR=1
  reply,      // send the `size` bytes written to `out`
  hand_over,  // DNS UPDATE or a TSIG-signed message: for the control thread (see handoff.hpp)
};

struct Processed {
  Verdict verdict = Verdict::drop;
  size_t size = 0;  // reply bytes in `out` when verdict is reply, else 0
};

// What a worker knows about a message beyond its bytes, and what the reply turned out to be.
struct MessageContext {
  const uint8_t* client_ip = nullptr;  // 4 or 16 address bytes; null: no server cookies
  size_t client_ip_len = 0;
  uint32_t now = 0;        // UNIX seconds: the timestamp of server cookies
  bool classify = false;   // fill in response.name_hash (only when rate limiting is on: it costs)
  ResponseClass response;  // out: for response rate limiting
};

// The reply that sends a client to TCP: header and question with TC=1 (RFC 1035 §4.2.1), for a
// message a worker will not hand over over UDP just now (too many from its source). A drop when the
// header is unreadable.
Processed retry_over_tcp(const uint8_t* pkt, size_t len, uint8_t* out, size_t cap, Counters& counters) noexcept;

// Builds the reply for pkt[0..len) in out[0..cap). cap must be at least 512 for UDP and 65535 for
// TCP. snap may be null (nothing loaded): REFUSED. DNS UPDATE and TSIG-signed messages are handed over
// when the snapshot says TSIG keys exist; without keys a signed message gets BADKEY here.
Processed query_process(const Snapshot* snap, const uint8_t* pkt, size_t len, uint8_t* out, size_t cap,
                        Transport transport, Counters& counters, MessageContext* context = nullptr) noexcept;

}  // namespace dnsd
