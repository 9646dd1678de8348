// etcd's member list as its v3 JSON gateway writes it (POST /v3/cluster/member/list): read by
// `dnsd register` to join a cluster and by the health monitor to show drift (docs/ARCHITECTURE.md,
// "Life after bootstrap").
#pragma once

#include <string>
#include <vector>

namespace dnsd {

struct EtcdMember {
  std::string id;    // decimal, as the gateway writes uint64
  std::string name;  // empty until the member has started (an added, unstarted member)
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool started() const noexcept { return !name.empty(); }
};

// Whether two peer or client URLs name the same endpoint (etcd keeps the case a member advertised).
bool same_url(const std::string& a, const std::string& b);

// Parses {"members":[{"ID","name","peerURLs","clientURLs"}...]} (a member add's reply too). Throws
// std::runtime_error for anything else.
std::vector<EtcdMember> parse_etcd_members(const std::string& json);

// The added member of a member add's reply ({"member":{...},"members":[...]}).
EtcdMember parse_etcd_added_member(const std::string& json);

}  // namespace dnsd
