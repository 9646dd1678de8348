// query_process(): one received message in, one reply (or nothing) out, against a snapshot.
// Data plane: called per packet by the UDP and TCP workers; allocates, throws, logs and locks nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "metrics.hpp"
#include "snapshot.hpp"

namespace dnsd {

enum class Transport { udp, tcp };

// Writes the reply for pkt[0..len) into out[0..cap) and returns its length; 0 means send nothing.
// cap must be at least 512 for UDP and 65535 for TCP. snap may be null (nothing loaded): REFUSED.
size_t query_process(const Snapshot* snap, const uint8_t* pkt, size_t len, uint8_t* out, size_t cap,
                     Transport transport, Counters& counters) noexcept;

}  // namespace dnsd
