// How `dnsd register` joins a formed cluster (docs/ARCHITECTURE.md, "Life after bootstrap"): given
// etcd's member list, each member's health and this member's own state, decide between a restart,
// a prepared join, a change (members to remove, then this one added) or a refusal, behind the
// quorum guard. Pure: no I/O, so every case is a unit test.
#pragma once

#include <string>
#include <vector>

#include "etcd_gateway.hpp"

namespace dnsd {

enum class JoinStrategy { prepare, add, replace, prune };
bool parse_join_strategy(const std::string& s, JoinStrategy& out);

struct ObservedMember {
  EtcdMember member;
  EtcdHealth health = EtcdHealth::down;
  std::string why;    // the health probe's reason when not healthy
  std::string label;  // its name, or the registry's for an unstarted one, else its peer URL
};

struct JoinInput {
  JoinStrategy strategy = JoinStrategy::replace;
  size_t limit = 0;          // the most members the cluster may have; 0: no limit
  std::string peer_url;      // this member's
  bool data_dir_given = false;
  bool has_wal = false;      // DATA_DIR/member/wal exists
  std::vector<ObservedMember> members;  // etcd's list, with health
};

struct JoinPlan {
  enum class Kind {
    restart,   // etcd lists this member and its data is there: start it, change nothing
    prepared,  // etcd lists this member, added but not started (prepare, or a bootstrap member): change nothing
    change,    // remove `remove` (in order), then add this member
    refuse,    // `message` says why; nothing is changed
  } kind = Kind::refuse;
  std::vector<ObservedMember> remove;
  bool add = false;
  std::string message;  // refuse: the reason; otherwise what is done, for stderr
};

JoinPlan plan_join(const JoinInput& input);

// The guard alone: with `healthy` healthy members and `total` members after the change, whether the
// change may go on (healthy >= total/2 + 1). The refusal names who is healthy and who is not.
bool quorum_allows(size_t healthy, size_t total) noexcept;

}  // namespace dnsd
