// Zone records -> precompiled wire answers in a Snapshot. Owner names and the rdata names of the
// RFC 1035 types are compressed; SRV targets never are (RFC 2782; go1.19 rejects the message).
// Control plane: called on the control thread, off the hot path.
#pragma once

#include <memory>
#include <vector>

#include "config.hpp"
#include "snapshot.hpp"
#include "state_store.hpp"
#include "zone_builder.hpp"

namespace dnsd {

// Adds one zone (its records must start with the SOA) to the snapshot. Throws ConfigError naming the
// record when an answer cannot be represented (an RRset over 64 KiB).
void compile_zone(const ZoneRecords& records, Snapshot& snapshot);

struct CompiledConfig {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<ZoneRecords> zones;  // with their SOA, in config order: what `dnsd check` prints
  std::vector<Diagnostic> warnings;  // e.g. records added by UPDATE that the config now owns
};

// Every zone of the config: build and validate records, pick serials (persisted through `state`),
// compile. All-or-nothing: throws ConfigError listing every problem, and nothing is published.
// load_config, and when the config has errors, the build problems of every zone that loaded cleanly
// too (an out-of-zone record, a target without addresses): every problem in one pass, each once.
DaemonConfig load_config_reporting_all(const std::string& path);

CompiledConfig compile_config(const DaemonConfig& config, StateStore& state, const HealthTable* health = nullptr);

}  // namespace dnsd
