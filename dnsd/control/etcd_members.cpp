// etcd's member list (see etcd_members.hpp).
#include "etcd_members.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "json.hpp"

namespace dnsd {

namespace {

std::vector<std::string> strings(const YamlNode& n) {
  std::vector<std::string> out;
  for (const YamlNode s : n)  // nothing unless a sequence
    if (s.is_scalar()) out.push_back(s.scalar());
  return out;
}

EtcdMember parse_member(const YamlNode& m) {
  EtcdMember out;
  if (!m.is_map() || !m["ID"].is_scalar()) throw std::runtime_error("a member without an ID");
  out.id = m["ID"].scalar();
  if (m["name"].is_scalar()) out.name = m["name"].scalar();
  out.peer_urls = strings(m["peerURLs"]);
  out.client_urls = strings(m["clientURLs"]);
  return out;
}

}  // namespace

bool same_url(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<EtcdMember> parse_etcd_members(const std::string& json) {
  const YamlNode doc = read_json(json, "member list");
  if (!doc.is_map() || !doc["members"].is_sequence()) throw std::runtime_error("member list: no members in the reply");
  std::vector<EtcdMember> out;
  for (const YamlNode m : doc["members"]) out.push_back(parse_member(m));
  return out;
}

EtcdMember parse_etcd_added_member(const std::string& json) {
  const YamlNode doc = read_json(json, "member add");
  if (!doc.is_map() || !doc["member"]) throw std::runtime_error("member add: no member in the reply");
  return parse_member(doc["member"]);
}

}  // namespace dnsd
