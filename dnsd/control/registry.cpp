// Registered members (see registry.hpp). File format, one record a line, fields separated by spaces:
//   dnsd-registrations 1
//   member ZONE CLUSTER|_ NAME HOST PEER_PORT|- CLIENT_PORT|- ADDR,ADDR|-
//   gate ZONE CLUSTER|_
//   record ZONE RR         (added by DNS UPDATE; RR is RFC 1035 text to the end of the line)
//   end COUNT CHECKSUM        (FNV-1a 64 of every byte before this line, hex)
#include "registry.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "hash.hpp"
#include "names.hpp"
#include "state_store.hpp"

namespace dnsd {

namespace {

constexpr const char* header = "dnsd-registrations 1";

std::string checksum(const std::string& text) {
  const uint64_t h = fnv1a(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// A port field: "-" (the cluster's port) or 1 to 65535.
Result<std::optional<uint16_t>> parse_port(const std::string& s) {
  if (s == "-") return std::optional<uint16_t>();
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535) return rejected("bad port '" + s + "'");
  return std::optional<uint16_t>(uint16_t(v));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Registration* Registry::find(const std::string& zone, const std::string& cluster, const std::string& member) {
  for (Registration& r : members)
    if (r.zone == zone && r.cluster == cluster && r.member == member) return &r;
  return nullptr;
}

std::string Registry::serialize() const {
  std::string out = std::string(header) + "\n";
  auto c = [](const std::string& cluster) { return cluster.empty() ? std::string("_") : cluster; };
  for (const Registration& r : members) {
    std::string addrs;
    for (const auto& a : r.addresses) addrs += (addrs.empty() ? "" : ",") + a;
    out += "member " + r.zone + " " + c(r.cluster) + " " + r.member + " " + r.host + " " +
           (r.peer_port ? std::to_string(*r.peer_port) : "-") + " " +
           (r.client_port ? std::to_string(*r.client_port) : "-") + " " + (addrs.empty() ? "-" : addrs) + "\n";
  }
  for (const auto& [zone, cluster] : open_gates) out += "gate " + zone + " " + c(cluster) + "\n";
  size_t count = members.size() + open_gates.size();
  for (const auto& [zone, rrs] : records) {
    for (const std::string& rr : rrs) out += "record " + zone + " " + rr + "\n";
    count += rrs.size();
  }
  return out + "end " + std::to_string(count) + " " + checksum(out) + "\n";
}

Registry Registry::parse(const std::string& text, const std::string& path) {
  Registry reg;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  size_t consumed = 0;
  auto fail = [&](const std::string& what) { throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + what); };
  auto cluster = [](const std::string& c) { return c == "_" ? std::string() : c; };
  bool ended = false;
  size_t records = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (ended) fail("data after the end line");
    const bool complete = !in.eof();  // a last line without its newline was cut short
    std::istringstream f(line);
    std::string kind;
    f >> kind;
    if (line_no == 1) {
      if (line != header) fail("not a dnsd registrations file (expected '" + std::string(header) + "')");
    } else if (kind == "member") {
      Registration r;
      std::string peer, client, addrs, extra;
      if (!(f >> r.zone >> r.cluster >> r.member >> r.host >> peer >> client >> addrs) || (f >> extra))
        fail("a member line needs 7 fields");
      r.cluster = cluster(r.cluster);
      const auto peer_port = parse_port(peer), client_port = parse_port(client);
      if (!peer_port || !client_port) fail((peer_port ? client_port : peer_port).error().message);
      r.peer_port = peer_port.value();
      r.client_port = client_port.value();
      if (addrs != "-")
        for (size_t start = 0; start <= addrs.size();) {
          const size_t comma = std::min(addrs.find(',', start), addrs.size());
          r.addresses.push_back(addrs.substr(start, comma - start));
          start = comma + 1;
        }
      reg.members.push_back(std::move(r));
    } else if (kind == "gate") {
      std::string zone, c;
      if (!(f >> zone >> c)) fail("a gate line needs 2 fields");
      reg.open_gates.emplace(zone, cluster(c));
    } else if (kind == "record") {
      std::string zone, rr;
      if (!(f >> zone) || !std::getline(f >> std::ws, rr) || rr.empty()) fail("a record line needs a zone and a record");
      reg.records[zone].push_back(rr);
      ++records;
    } else if (kind == "end") {
      size_t count = 0;
      std::string sum;
      if (!(f >> count >> sum) || !complete) fail("damaged end line");
      const size_t have = reg.members.size() + reg.open_gates.size() + records;
      if (count != have) fail("the end line counts " + std::to_string(count) + " records, the file has " + std::to_string(have));
      if (sum != checksum(text.substr(0, consumed))) fail("checksum mismatch: the file was changed or damaged");
      ended = true;
    } else {
      fail("unknown record '" + kind + "'");
    }
    consumed += line.size() + 1;
  }
  if (line_no == 0) fail("empty file");
  if (!ended) fail("truncated: no end line");
  return reg;
}

Registry Registry::load(const std::string& dir, std::vector<std::string>& problems) {
  const std::string path = dir + "/registrations";
  for (const std::string& p : {path, path + ".prev"}) {
    if (!std::filesystem::exists(p)) {
      if (p == path && !std::filesystem::exists(path + ".prev")) return {};
      continue;
    }
    try {
      Registry r = parse(read_file(p), p);
      if (p != path) problems.push_back("using the previous registrations from " + p);
      return r;
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  }
  problems.push_back("no usable registrations: serving the configured members only");
  return {};
}

Result<void> Registry::save(const std::string& dir) const {
  const std::string path = dir + "/registrations";
  return write_file_durably(path, serialize(), path + ".prev");
}

void Registry::apply(DaemonConfig& config, std::vector<std::string>* skipped) const {
  for (ZoneConfig& z : config.zones)
    for (Cluster& c : z.clusters) {
      c.members.resize(c.static_members);  // applying twice must not duplicate
      c.gate_open = open_gates.count({name_key(z.zone), c.name}) > 0;
    }
  for (ZoneConfig& z : config.zones) {
    const auto it = records.find(name_key(z.zone));
    z.dynamic_records = it == records.end() ? std::vector<std::string>{} : it->second;
  }
  for (const Registration& r : members) {
    Cluster* target = nullptr;
    for (ZoneConfig& z : config.zones)
      for (Cluster& c : z.clusters)
        if (name_key(z.zone) == r.zone && c.name == r.cluster && c.registration) target = &c;
    if (!target) {
      if (skipped) skipped->push_back(r.zone + " " + (r.cluster.empty() ? "_" : r.cluster) + " " + r.member);
      continue;
    }
    Member m;
    m.name = r.member;
    m.host = r.host;
    m.addresses = r.addresses;
    m.peer_port = r.peer_port;
    m.client_port = r.client_port;
    m.loc = {"registration " + r.member, 0};
    m.host_loc = m.loc;
    target->members.push_back(std::move(m));
  }
}

}  // namespace dnsd
