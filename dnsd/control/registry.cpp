// Registered members (see registry.hpp). File format, one record a line, fields separated by spaces:
//   dnsd-registrations 1
//   member ZONE CLUSTER|_ NAME HOST PEER_PORT|- CLIENT_PORT|- ADDR,ADDR|-
//   gate ZONE CLUSTER|_
//   record ZONE RR         (added by DNS UPDATE; RR is RFC 1035 text to the end of the line)
//   end COUNT CHECKSUM        (FNV-1a 64 of every byte before this line, hex)
#include "registry.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "hash.hpp"
#include "names.hpp"
#include "state_store.hpp"

namespace dnsd {

namespace {

constexpr const char* header = "dnsd-registrations 1";

// A port field: "-" (the cluster's port) or 1 to 65535.
Result<std::optional<uint16_t>> parse_port(const std::string& s) {
  if (s == "-") return std::optional<uint16_t>();
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535) return rejected("bad port '" + s + "'");
  return std::optional<uint16_t>(uint16_t(v));
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path + ": cannot read: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return io_error(path + ": cannot read: " + std::strerror(errno));
  return ss.str();
}

// One field of a line: printable, no space, not empty (what serialize can write and parse read back).
bool token(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

bool valid_member(const Registration& r) {
  if (!token(r.zone) || !token(r.member) || !token(r.host) || (!r.cluster.empty() && !token(r.cluster))) return false;
  if (!go_valid_hostname(r.host)) return false;
  return std::all_of(r.addresses.begin(), r.addresses.end(), [](const std::string& a) { return is_ip_address(a); });
}

// A record as ldns prints it: one line of printable characters and tabs.
bool valid_record(const std::string& text) {
  return !text.empty() && text.front() != ' ' && text.front() != '\t' &&
         std::all_of(text.begin(), text.end(), [](char c) { return c == '\t' || (c >= ' ' && c < 0x7F); });
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
  return out + "end " + std::to_string(count) + " " + fnv1a_hex(out) + "\n";
}

Result<void> Registry::storable() const {
  for (const Registration& r : members)
    if (!valid_member(r)) return rejected("member '" + r.member + "' has a field that cannot be stored");
  for (const auto& [zone, c] : open_gates)
    if (!token(zone) || (!c.empty() && !token(c))) return rejected("a gate of " + zone + " cannot be stored");
  for (const auto& [zone, texts] : records) {
    if (!token(zone)) return rejected("zone '" + zone + "' cannot be stored");
    for (const std::string& text : texts)
      if (!valid_record(text)) return rejected("the record '" + text + "' cannot be stored on one line");
  }
  return {};
}

Registry::Parsed Registry::parse(const std::string& text, const std::string& path) {
  Parsed out;
  Registry& reg = out.registry;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  size_t consumed = 0;
  bool ended = false, bad_lines = false, end_ok = false;
  size_t records = 0;
  auto problem = [&](const std::string& what) { out.problems.push_back(path + ":" + std::to_string(line_no) + ": " + what); };
  auto cluster = [](const std::string& c) { return c == "_" ? std::string() : c; };
  while (std::getline(in, line)) {
    ++line_no;
    const size_t start = consumed;
    consumed += line.size() + 1;
    const bool complete = !in.eof();  // a last line without its newline was cut short
    std::istringstream f(line);
    std::string kind;
    f >> kind;
    if (line_no == 1) {
      out.is_registrations = line == header;
      if (!out.is_registrations) {
        problem("not a dnsd registrations file (expected '" + std::string(header) + "')");
        return out;
      }
      continue;
    }
    if (ended) {
      problem("data after the end line");
      bad_lines = true;
      continue;
    }
    if (kind == "member") {
      Registration r;
      std::string peer, client, addrs, extra;
      if (!(f >> r.zone >> r.cluster >> r.member >> r.host >> peer >> client >> addrs) || (f >> extra) || !complete) {
        problem("a member line needs 7 fields");
        bad_lines = true;
        continue;
      }
      r.cluster = cluster(r.cluster);
      const auto peer_port = parse_port(peer), client_port = parse_port(client);
      if (!peer_port || !client_port) {
        problem((peer_port ? client_port : peer_port).error().message);
        bad_lines = true;
        continue;
      }
      r.peer_port = peer_port.value();
      r.client_port = client_port.value();
      if (addrs != "-")
        for (size_t from = 0; from <= addrs.size();) {
          const size_t comma = std::min(addrs.find(',', from), addrs.size());
          r.addresses.push_back(addrs.substr(from, comma - from));
          from = comma + 1;
        }
      if (!valid_member(r)) {
        problem("member '" + r.member + "' has an invalid host, name or address");
        bad_lines = true;
        continue;
      }
      reg.members.push_back(std::move(r));
    } else if (kind == "gate") {
      std::string zone, c, extra;
      if (!(f >> zone >> c) || (f >> extra) || !complete || !token(zone) || !token(c)) {
        problem("a gate line needs 2 fields");
        bad_lines = true;
        continue;
      }
      reg.open_gates.emplace(zone, cluster(c));
    } else if (kind == "record") {
      std::string zone, rr;
      if (!(f >> zone) || !token(zone) || !std::getline(f >> std::ws, rr) || !valid_record(rr) || !complete) {
        problem("a record line needs a zone and a record");
        bad_lines = true;
        continue;
      }
      reg.records[zone].push_back(rr);
      ++records;
    } else if (kind == "end") {
      ended = true;
      size_t count = 0;
      std::string sum;
      const size_t have = reg.members.size() + reg.open_gates.size() + records;
      if (!(f >> count >> sum) || !complete) problem("damaged end line");
      else if (count != have) problem("the end line counts " + std::to_string(count) + " records, the file has " + std::to_string(have));
      else if (sum != fnv1a_hex(std::string_view(text).substr(0, start))) problem("checksum mismatch: the file was changed or damaged");
      else end_ok = true;
    } else {
      problem("unknown record '" + kind + "'");
      bad_lines = true;
    }
  }
  if (line_no == 0) {
    problem("empty file");
    return out;
  }
  if (!ended) problem("truncated: no end line");
  out.whole = end_ok && !bad_lines;
  return out;
}

Registry Registry::load(const std::string& dir, std::vector<std::string>& problems) {
  const std::string path = dir + "/registrations";
  for (const std::string& p : {path, path + ".prev"}) {
    if (!std::filesystem::exists(p)) {
      if (p == path && !std::filesystem::exists(path + ".prev")) return {};
      continue;
    }
    const Result<std::string> text = read_file(p);
    if (!text) {
      problems.push_back(text.error().message);
      continue;
    }
    Parsed parsed = parse(text.value(), p);
    problems.insert(problems.end(), parsed.problems.begin(), parsed.problems.end());
    const Registry& r = parsed.registry;
    const size_t kept = r.members.size() + r.open_gates.size() + [&r] {
      size_t n = 0;
      for (const auto& [zone, texts] : r.records) n += texts.size();
      return n;
    }();
    if (!parsed.whole && kept == 0) continue;  // nothing of it is usable
    if (!parsed.whole) problems.push_back("kept the " + std::to_string(kept) + " good entries of " + p);
    if (p != path) problems.push_back("using the previous registrations from " + p);
    return std::move(parsed.registry);
  }
  problems.push_back("no usable registrations: serving the configured members only");
  return {};
}

Result<void> Registry::save(const std::string& dir) const {
  if (Result<void> ok = storable(); !ok) return ok;
  const std::string path = dir + "/registrations";
  const std::string text = serialize();
  const Parsed back = parse(text, path);
  if (!back.whole || !(back.registry.members == members) || back.registry.open_gates != open_gates ||
      back.registry.records != records)
    return rejected("the registrations would not read back as written");
  if (Result<void> written = write_file_durably(path, text, path + ".prev"); !written) return written;
  const Result<std::string> on_disk = read_file(path);
  if (!on_disk || on_disk.value() != text) return io_error(path + ": does not read back as written");
  return {};
}

std::string Registry::origin(const Registration& r) {
  return "registered member " + r.member + " (cluster " + (r.cluster.empty() ? "_" : r.cluster) + " of " + r.zone + ")";
}

std::string Registry::origin(const std::string& zone, const std::string& record) {
  return "UPDATE record '" + record + "' of " + zone;
}

bool Registry::is_origin(const std::string& file) {
  return file.rfind("registered member ", 0) == 0 || file.rfind("UPDATE record '", 0) == 0;
}

void Registry::apply(DaemonConfig& config, std::vector<std::string>* skipped, const std::set<std::string>* set_aside) const {
  const auto aside = [set_aside](const std::string& origin) { return set_aside && set_aside->count(origin) > 0; };
  for (ZoneConfig& z : config.zones) {
    const std::string zone = name_key(z.zone);
    for (Cluster& c : z.clusters) {
      c.members.resize(c.static_members);  // applying twice must not duplicate
      c.gate_open = open_gates.count({zone, c.name}) > 0;
    }
  }
  for (ZoneConfig& z : config.zones) {
    z.dynamic_records.clear();
    const std::string zone = name_key(z.zone);
    if (const auto it = records.find(zone); it != records.end())
      for (const std::string& text : it->second)
        if (!aside(origin(zone, text))) z.dynamic_records.push_back(text);
  }
  // (zone, cluster) -> the cluster taking registrations: one pass over the config, not one per member.
  std::map<std::pair<std::string, std::string>, Cluster*> open;
  for (ZoneConfig& z : config.zones) {
    const std::string zone = name_key(z.zone);
    for (Cluster& c : z.clusters)
      if (c.registration) open[{zone, c.name}] = &c;  // the last of equal names, as before
  }
  for (const Registration& r : members) {
    if (set_aside && aside(origin(r))) continue;
    const auto found = open.find(std::make_pair(r.zone, r.cluster));
    Cluster* target = found == open.end() ? nullptr : found->second;
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
    m.loc = {origin(r), 0};
    m.host_loc = m.loc;
    target->members.push_back(std::move(m));
  }
}

}  // namespace dnsd
