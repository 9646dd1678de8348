// The zone state service: turns the config, the registry (registrations, opened gates, UPDATE records)
// and member health into the published snapshot and its serials. Every change to what is served goes
// through here: start, reload, commit (registration API, UPDATE) and republish (health flips).
// Control plane: control thread only; the snapshot it publishes is read by every worker.
#pragma once

#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cluster_patch.hpp"
#include "compile.hpp"
#include "config.hpp"
#include "health.hpp"
#include "registry.hpp"
#include "served.hpp"
#include "raii.hpp"
#include "result.hpp"
#include "snapshot.hpp"
#include "state_store.hpp"
#include "zone_copy.hpp"

namespace dnsd {

class ZoneState {
 public:
  using ConfigListener = std::function<void(const DaemonConfig&)>;

  // health: the member states compiles filter client SRV sets with (owned by the health monitor).
  ZoneState(SnapshotSlot& slot, const HealthTable& health);

  // Start-up: opens state_dir, loads the registry (a damaged one is logged, never fatal), compiles and
  // publishes. Throws ConfigError or std::runtime_error; nothing is published then.
  void start(DaemonConfig config);
  // SIGHUP: all or nothing. Throws ConfigError (the old snapshot keeps serving). listen, control,
  // workers and state_dir keep their running values (they need a restart). At start and on reload
  // live state never fails the config: what conflicts with it is set aside (served.hpp).
  void reload(DaemonConfig file_config);
  // Makes `next` the registry: compiles with it, writes it durably, publishes. A 2xx (or an UPDATE's
  // NOERROR) is sent only after this succeeds: the change is on disk and visible to the next query.
  // rejected: the change cannot be served (the old state is kept); io: it could not be written.
  Result<void> commit(Registry next);
  // A registration or its removal (the registration API): the same contract as commit, written as
  // one line of the registry's change log (with the gate it opens, if any) instead of the whole file;
  // the log is compacted into the file once it holds as many changes as the registry has entries.
  Result<void> change_member(const RegistryChange& change);
  // A DNS UPDATE: `records` become the UPDATE records of `zone` (name_key form), with commit's
  // contract, written as one line of the change log. Published as a patch of the names whose records
  // change when it can (update_patch.hpp).
  Result<void> set_update_records(const std::string& zone, std::vector<std::string> records);
  // Recompiles with the current health and publishes (health flips). Throws when compiling fails.
  // clusters: (zone, cluster) whose members' health changed; given, only their names are rendered
  // again when that is all the change alters (cluster_patch.hpp); empty: everything.
  void republish(const std::string& why, const std::set<std::pair<std::string, std::string>>& clusters = {});
  // A patched snapshot answers through an overlay that grows with each patch; past an eighth of the
  // zone's names (at least 1,024) it is compiled whole again, on a timer of `base` 0.5 s later (or at
  // once without one), so that a change is never made to wait for it; and 5 s after the last patch,
  // so that answers come from a full snapshot once changes pause.
  void compact_on(event_base* base);
  void compact();

  // Secondary zones (zone_copy.hpp): start() loads each one's copy kept under state_dir. set_copy
  // serves a new copy (checked by the caller) and writes it durably with the time of its check;
  // it is rejected when it cannot be compiled, and served even when it cannot be written (the io
  // error says so; the file keeps the older copy). set_expired serves SERVFAIL for the zone, or its
  // copy again; record_check keeps the time of a check that found the copy current.
  Result<void> set_copy(const std::string& zone, std::shared_ptr<const ZoneCopy> copy, std::time_t checked);
  void set_expired(const std::string& zone, bool expired);
  Result<void> record_check(const std::string& zone, std::time_t checked);
  // The copy a secondary zone holds (null: none) and the time of its last successful check (0: never).
  std::shared_ptr<const ZoneCopy> copy(const std::string& zone) const;
  std::time_t last_check(const std::string& zone) const;
  bool expired(const std::string& zone) const;

  // Called after every change of the config (reload, commit), in the order added. A listener's
  // exception is logged and does not undo the change.
  void on_config(ConfigListener listener) { listeners_.push_back(std::move(listener)); }
  // Called with the zones served now (in config order) when added, then after every publish (start,
  // reload, commit, republish). A listener's exception at a publish is logged and does not undo it.
  // After a patch, `deltas` holds (by zone index) what it changed in the records of each zone with
  // transfers that it changed; otherwise it is empty.
  using Deltas = std::vector<std::optional<RecordDelta>>;
  using PublishListener = std::function<void(const std::vector<ZoneRecords>&, const Deltas& deltas)>;
  void on_publish(PublishListener listener);

  const DaemonConfig& config() const noexcept { return config_; }
  const Registry& registry() const noexcept { return registry_; }
  // The records of a served zone (name_key form), as published; null when not served.
  const ZoneRecords* served(const std::string& zone) const;
  // The config of the zone whose apex is `lower_wire` (lower-case wire form); null when none is.
  const ZoneConfig* zone_config(std::string_view lower_wire) const;
  std::shared_ptr<const Snapshot> snapshot() const { return slot_.current(); }
  std::string metrics() const;

 private:
  Result<void> commit(Registry next, const RegistryChange* logged);
  // The fast paths (cluster_patch.hpp): nullopt when the change must be compiled whole.
  std::optional<Result<void>> change_member_patched(const RegistryChange& change);
  bool republish_patched(const std::set<std::pair<std::string, std::string>>& clusters);
  std::optional<Result<void>> update_records_patched(const RegistryChange& change);
  // No cluster (but `except`) is complete with its gate still closed: a whole commit would open it.
  bool gates_settled(const Cluster* except = nullptr) const;
  ZoneIndex& index_of(size_t zone);
  // Where a served zone is in the config (its index); nullopt when none is.
  std::optional<size_t> zone_at(const std::string& zone) const;
  // Where a served zone's cluster is in the config (zone index, cluster index); registering: only a
  // cluster that takes registrations. nullopt when there is none.
  std::optional<std::pair<size_t, size_t>> locate(const std::string& zone, const std::string& cluster, bool registering) const;
  // Writes a change of the registry durably and makes it the registry: `lines` appended to the log,
  // or (no lines, or a log due for compaction) the whole registry after it, `next` when given.
  Result<void> save_registry(const std::vector<RegistryChange>& lines, Registry* next);
  void publish(CompiledConfig compiled);
  void publish_snapshot(std::shared_ptr<const Snapshot> snapshot, const Deltas& deltas = {});
  // A patch of one zone goes out (its record delta for the journal), its serial is written, the
  // config's listeners are told and a compaction planned.
  Result<void> publish_patch(size_t zone, std::optional<RecordDelta> delta, const std::shared_ptr<const Snapshot>& snapshot);
  void after_patch(const Snapshot& published);
  void apply_copies(DaemonConfig& config) const;
  // Compiles `candidate` (the config with one secondary's copy or expiry changed) and publishes it.
  Result<void> publish_secondary(DaemonConfig candidate);
  void notify();
  void report_state_writes();

  SnapshotSlot& slot_;
  const HealthTable& health_;
  Fd state_lock_;  // held for the life of the daemon (lock_state_dir)
  std::unique_ptr<StateStore> state_;
  DaemonConfig config_;
  Registry registry_;
  size_t log_lines_ = 0;  // changes in the registry's log since the last compaction (a records line: 1 + its records)
  std::vector<ZoneRecords> served_;  // the zones of the published snapshot
  std::vector<std::optional<ZoneIndex>> indexes_;  // per served zone, built at its first patch
  uint64_t patches_ = 0, whole_ = 0;  // publishes by a patch, by a whole compile
  EventPtr compaction_timer_;
  bool compaction_pending_ = false;
  std::set<std::string> set_aside_;  // registry entries not served (Registry::origin)
  struct Held {                       // a secondary zone's copy, by name_key
    std::shared_ptr<const ZoneCopy> copy;
    std::time_t checked = 0;
    bool expired = false;
  };
  std::map<std::string, Held> copies_;
  std::string state_write_error_;    // the serials write failure last logged ("" = none)
  std::time_t published_at_ = 0;
  std::vector<ConfigListener> listeners_;
  std::vector<PublishListener> publish_listeners_;
};

}  // namespace dnsd
