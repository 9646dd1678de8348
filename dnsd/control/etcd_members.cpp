// etcd's member list (see etcd_members.hpp).
#include "etcd_members.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace dnsd {

namespace {

YAML::Node load_json(const std::string& body, const std::string& what) {
  try {
    return YAML::Load(body);  // JSON is YAML: one parser for both
  } catch (const YAML::Exception&) {
    throw std::runtime_error(what + ": the reply is not JSON");
  }
}

std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence())
    for (const auto& s : n)
      if (s.IsScalar()) out.push_back(s.Scalar());
  return out;
}

EtcdMember parse_member(const YAML::Node& m) {
  EtcdMember out;
  if (!m.IsMap() || !m["ID"] || !m["ID"].IsScalar()) throw std::runtime_error("a member without an ID");
  out.id = m["ID"].Scalar();
  if (m["name"] && m["name"].IsScalar()) out.name = m["name"].Scalar();
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
  const YAML::Node doc = load_json(json, "member list");
  if (!doc.IsMap() || !doc["members"] || !doc["members"].IsSequence())
    throw std::runtime_error("member list: no members in the reply");
  std::vector<EtcdMember> out;
  for (const auto& m : doc["members"]) out.push_back(parse_member(m));
  return out;
}

EtcdMember parse_etcd_added_member(const std::string& json) {
  const YAML::Node doc = load_json(json, "member add");
  if (!doc.IsMap() || !doc["member"]) throw std::runtime_error("member add: no member in the reply");
  return parse_member(doc["member"]);
}

}  // namespace dnsd
