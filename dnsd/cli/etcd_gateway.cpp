// etcd's v3 JSON gateway (see etcd_gateway.hpp).
#include "etcd_gateway.hpp"

#include <openssl/evp.h>

#include "json.hpp"
#include "names.hpp"
#include "openssl.hpp"

namespace dnsd {

namespace {

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  out.resize(size_t(n));
  return out;
}

std::string unbase64(const std::string& in) {
  std::string out(3 * (in.size() / 4) + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  if (n < 0) return "";
  out.resize(size_t(n));
  while (!out.empty() && out.back() == '\0') out.pop_back();  // the padding's zero bytes
  return out;
}

}  // namespace

const char* to_string(EtcdHealth h) noexcept {
  switch (h) {
    case EtcdHealth::healthy: return "healthy";
    case EtcdHealth::no_quorum: return "up without quorum";
    case EtcdHealth::down: return "down";
    case EtcdHealth::unstarted: return "added, not started";
  }
  return "?";
}

EtcdGateway::EtcdGateway(EtcdTls tls, std::map<std::string, std::string> addresses, double timeout_s)
    : tls_files_(std::move(tls)), addresses_(std::move(addresses)), timeout_s_(timeout_s) {}

HttpTarget EtcdGateway::target(const std::string& client_url) const {
  HttpTarget t = parse_http_url(client_url, "a client URL");
  if (auto it = addresses_.find(ascii_lower(t.host)); it != addresses_.end()) t.address = it->second;
  if (t.tls) {
    if (!tls_) tls_ = client_tls_context("etcd", tls_files_.ca_file, tls_files_.cert_file, tls_files_.key_file);
    t.ctx = tls_;
  }
  return t;
}

EtcdHealth EtcdGateway::health(const std::string& client_url, std::string& why) const {
  try {
    const HttpResult r = http_exchange(target(client_url), "GET", "/health", "", "", timeout_s_);
    const bool says_true = r.body.find("\"true\"") != std::string::npos;
    if (r.status == 200 && says_true) return EtcdHealth::healthy;
    if (r.status == 503 && r.body.find("\"false\"") != std::string::npos) {
      why = "up without quorum";
      return EtcdHealth::no_quorum;
    }
    why = "HTTP " + std::to_string(r.status) + " from /health";
    return EtcdHealth::down;
  } catch (const std::exception& e) {
    why = e.what();
    return EtcdHealth::down;
  }
}

std::string EtcdGateway::post(const std::string& client_url, const std::string& path, const std::string& body) const {
  const HttpResult r = http_exchange(target(client_url), "POST", path, "", body, timeout_s_);
  if (r.status == 200) return r.body;
  const YamlNode e = parse_json(r.body);
  if (e["error"].is_scalar()) {
    const int code = e["code"].is_scalar() ? std::atoi(e["code"].scalar().c_str()) : 0;
    throw EtcdError(r.status, code, e["error"].scalar());
  }
  throw std::runtime_error(client_url + path + ": HTTP " + std::to_string(r.status) + " without an etcd error");
}

std::vector<EtcdMember> EtcdGateway::member_list(const std::string& client_url) const {
  return parse_etcd_members(post(client_url, "/v3/cluster/member/list", "{}"));
}

std::pair<EtcdMember, std::vector<EtcdMember>> EtcdGateway::member_add(const std::string& client_url,
                                                                      const std::string& peer_url) const {
  const std::string body = post(client_url, "/v3/cluster/member/add", "{\"peerURLs\":[" + json_quote(peer_url) + "]}");
  return {parse_etcd_added_member(body), parse_etcd_members(body)};
}

std::string EtcdGateway::lease_grant(const std::string& client_url, int ttl_s) const {
  const YamlNode r = read_json(post(client_url, "/v3/lease/grant", "{\"TTL\":" + std::to_string(ttl_s) + "}"), "lease grant");
  return json_string(r, "ID", "lease grant");
}

std::string EtcdGateway::try_lock(const std::string& client_url, const std::string& key, const std::string& holder,
                                  const std::string& lease) const {
  const std::string k = json_quote(base64(key));
  const YamlNode r = read_json(
      post(client_url, "/v3/kv/txn",
           "{\"compare\":[{\"key\":" + k + ",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],"
           "\"success\":[{\"request_put\":{\"key\":" + k + ",\"value\":" + json_quote(base64(holder)) +
               ",\"lease\":" + json_quote(lease) + "}}],"
           "\"failure\":[{\"request_range\":{\"key\":" + k + "}}]}"),
      "lock");
  if (r["succeeded"].is_scalar() && r["succeeded"].scalar() == "true") return "";
  // Held: the failure branch read the holder's value (none when released between the compare and
  // the read).
  const YamlNode v = r["responses"][size_t(0)]["response_range"]["kvs"][size_t(0)]["value"];
  const std::string value = v.is_scalar() ? unbase64(v.scalar()) : "";
  return value.empty() ? "another dnsd register" : value;
}

void EtcdGateway::lease_revoke(const std::string& client_url, const std::string& lease) const {
  post(client_url, "/v3/lease/revoke", "{\"ID\":" + json_quote(lease) + "}");
}

void EtcdGateway::member_remove(const std::string& client_url, const std::string& id) const {
  post(client_url, "/v3/cluster/member/remove", "{\"ID\":" + json_quote(id) + "}");
}

}  // namespace dnsd
