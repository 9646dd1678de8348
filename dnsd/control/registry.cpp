// Registered members (see registry.hpp). File format, one record a line, fields separated by spaces:
//   dnsd-registrations 1
//   member ZONE CLUSTER|_ NAME HOST PEER_PORT|- CLIENT_PORT|- ADDR,ADDR|-
//   gate ZONE CLUSTER|_
//   record ZONE RR         (added by DNS UPDATE; RR is RFC 1035 text to the end of the line)
//   end COUNT CHECKSUM        (FNV-1a 64 of every byte before this line, hex)
// and the change log beside it (registrations.log), one change a line, each with its own checksum:
//   put ZONE CLUSTER|_ NAME HOST PEER_PORT|- CLIENT_PORT|- ADDR,ADDR|- CHECKSUM
//   remove ZONE CLUSTER|_ NAME CHECKSUM
//   gate ZONE CLUSTER|_ CHECKSUM   (CHECKSUM: FNV-1a 64 of the line before its last space, hex)
#include "registry.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "hash.hpp"
#include "log.hpp"
#include "raii.hpp"
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
  std::string text;
  if (const auto why = read_whole_file(path, text)) return io_error(path + ": cannot read: " + *why);
  return text;
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

std::string cluster_field(const std::string& cluster) { return cluster.empty() ? std::string("_") : cluster; }
std::string cluster_value(const std::string& field) { return field == "_" ? std::string() : field; }

// The fields of a member line after its keyword.
std::string member_fields(const Registration& r) {
  std::string addrs;
  for (const auto& a : r.addresses) addrs += (addrs.empty() ? "" : ",") + a;
  return r.zone + " " + cluster_field(r.cluster) + " " + r.member + " " + r.host + " " +
         (r.peer_port ? std::to_string(*r.peer_port) : "-") + " " + (r.client_port ? std::to_string(*r.client_port) : "-") +
         " " + (addrs.empty() ? "-" : addrs);
}

// Reads what member_fields writes; nothing may follow.
Result<Registration> parse_member(Words& f) {
  Registration r;
  std::string peer, client, addrs;
  if (!f.next(r.zone) || !f.next(r.cluster) || !f.next(r.member) || !f.next(r.host) || !f.next(peer) || !f.next(client) ||
      !f.next(addrs) || !f.at_end())
    return rejected("a member line needs 7 fields");
  r.cluster = cluster_value(r.cluster);
  const auto peer_port = parse_port(peer), client_port = parse_port(client);
  if (!peer_port || !client_port) return (peer_port ? client_port : peer_port).error();
  r.peer_port = peer_port.value();
  r.client_port = client_port.value();
  if (addrs != "-")
    for (size_t from = 0; from <= addrs.size();) {
      const size_t comma = std::min(addrs.find(',', from), addrs.size());
      r.addresses.push_back(addrs.substr(from, comma - from));
      from = comma + 1;
    }
  if (!valid_member(r)) return rejected("member '" + r.member + "' has an invalid host, name or address");
  return r;
}

std::string log_path(const std::string& dir) { return dir + "/registrations.log"; }

// Replays the change log at `path` onto `reg`.
void replay_log(const std::string& path, Registry& reg, std::vector<std::string>& problems,
                std::vector<std::string>* cut_short, size_t* log_lines) {
  if (!std::filesystem::exists(path)) return;
  const Result<std::string> text = read_file(path);
  if (!text) {
    problems.push_back(text.error().message + ": the changes since the last compaction are not served");
    return;
  }
  int line_no = 0;
  size_t pos = 0;
  std::string_view line;
  bool complete = false;
  while (next_line(text.value(), pos, line, complete)) {
    ++line_no;
    const std::string at = path + ":" + std::to_string(line_no) + ": ";
    if (!complete) {  // only a crash in the middle of a write leaves this
      if (cut_short) cut_short->push_back(at + "the last change was cut short (never acknowledged): dropped");
      break;
    }
    const size_t space = line.rfind(' ');
    if (space == std::string::npos || fnv1a_hex(line.substr(0, space)) != line.substr(space + 1)) {
      problems.push_back(at + "checksum mismatch: the change was damaged, skipped");
      continue;
    }
    const Result<RegistryChange> change = RegistryChange::parse(std::string(line.substr(0, space)));
    if (!change) {
      problems.push_back(at + change.error().message);
      continue;
    }
    change.value().apply(reg);
    if (log_lines) ++*log_lines;
  }
}

}  // namespace

std::string RegistryChange::line() const {
  std::string body;
  switch (kind) {
    case Kind::put: body = "put " + member_fields(member); break;
    case Kind::remove: body = "remove " + member.zone + " " + cluster_field(member.cluster) + " " + member.member; break;
    case Kind::gate: body = "gate " + member.zone + " " + cluster_field(member.cluster); break;
    case Kind::records:
      // Each record as LENGTH:TEXT (a record holds spaces and tabs, never a newline).
      body = "records " + member.zone + " " + std::to_string(records.size());
      for (const std::string& r : records) body += " " + std::to_string(r.size()) + ":" + r;
      break;
  }
  return body + " " + fnv1a_hex(body) + "\n";
}

Result<RegistryChange> RegistryChange::parse(const std::string& line) {
  Words f(line);
  std::string kind;
  f.next(kind);
  RegistryChange c;
  if (kind == "put") {
    Result<Registration> r = parse_member(f);
    if (!r) return r.error();
    c.member = std::move(r.value());
    return c;
  }
  if (kind == "records") return parse_records(f);
  c.kind = kind == "remove" ? Kind::remove : Kind::gate;
  if (kind != "remove" && kind != "gate") return rejected("unknown change '" + kind + "'");
  if (!f.next(c.member.zone) || !f.next(c.member.cluster) || !token(c.member.zone) || !token(c.member.cluster) ||
      (c.kind == Kind::remove && !f.next(c.member.member)) || !f.at_end())
    return rejected("a " + kind + " line needs " + (c.kind == Kind::remove ? "3" : "2") + " fields");
  c.member.cluster = cluster_value(c.member.cluster);
  return c;
}

Result<RegistryChange> RegistryChange::parse_records(Words& f) {
  RegistryChange c;
  c.kind = Kind::records;
  uint64_t count = 0;
  if (!f.next(c.member.zone) || !f.next(count) || !token(c.member.zone)) return rejected("a records line needs a zone and a count");
  const std::string rest(f.rest());
  size_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t colon = rest.find(':', at);
    if (rest.compare(at, 1, " ") != 0 || colon == std::string::npos || colon == at + 1 || colon - at > 6 ||
        !std::all_of(rest.begin() + long(at) + 1, rest.begin() + long(colon), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return rejected("record " + std::to_string(i + 1) + " of a records line has no length");
    const size_t size = std::stoul(rest.substr(at + 1, colon - at - 1));
    if (size > rest.size() - colon - 1) return rejected("record " + std::to_string(i + 1) + " of a records line is cut short");
    std::string text = rest.substr(colon + 1, size);
    if (!valid_record(text)) return rejected("record " + std::to_string(i + 1) + " of a records line is not one record");
    c.records.push_back(std::move(text));
    at = colon + 1 + size;
  }
  if (at != rest.size()) return rejected("a records line holds more than its count");
  return c;
}

void RegistryChange::apply(Registry& reg) const {
  if (kind == Kind::records) {
    if (records.empty()) reg.records.erase(member.zone);
    else reg.records[member.zone] = records;
    return;
  }
  if (kind == Kind::gate) {
    reg.open_gates.emplace(member.zone, member.cluster);
    return;
  }
  const Registration* existing = reg.find(member.zone, member.cluster, member.member);
  if (kind == Kind::put) {
    if (existing) reg.members.replace(size_t(existing - &reg.members[0]), member);
    else reg.members.push_back(member);
  } else if (existing) {
    reg.members.erase(size_t(existing - &reg.members[0]));
  }
}

Registrations::Registrations(std::initializer_list<Registration> entries) {
  for (const Registration& r : entries) push_back(r);
}

Registrations& Registrations::operator=(const Registrations& other) {
  if (this != &other) {
    all_ = other.all_;
    index_.reset(0);
    stale_ = true;
  }
  return *this;
}

uint64_t Registrations::hash(std::string_view zone, std::string_view cluster, std::string_view member) noexcept {
  // Each field after its length: no two triples hash the same bytes.
  uint64_t h = fnv_basis;
  for (std::string_view field : {zone, cluster, member}) {
    const uint32_t n = uint32_t(field.size());
    h = fnv1a(reinterpret_cast<const uint8_t*>(&n), sizeof n, h);
    h = fnv1a(reinterpret_cast<const uint8_t*>(field.data()), field.size(), h);
  }
  return h;
}

void Registrations::push_back(Registration entry) {
  all_.push_back(std::move(entry));
  if (!stale_) index_.append(all_.size() - 1, hash_of(all_.size() - 1), [this](size_t i) { return hash_of(i); });
}

void Registrations::replace(size_t i, Registration entry) {
  const Registration& old = all_[i];
  if (old.zone != entry.zone || old.cluster != entry.cluster || old.member != entry.member) stale_ = true;
  all_[i] = std::move(entry);
}

void Registrations::erase(size_t i) {
  all_.erase(all_.begin() + long(i));
  stale_ = true;
}

void Registrations::clear() noexcept {
  all_.clear();
  index_.reset(0);
  stale_ = false;
}

const Registration* Registrations::find(std::string_view zone, std::string_view cluster, std::string_view member) const {
  if (stale_) {
    index_.rehash(SlotIndex::slots_for(all_.size()), all_.size(), [this](size_t i) { return hash_of(i); });
    stale_ = false;
  }
  const size_t at = index_.find(hash(zone, cluster, member), [&](size_t i) {
    const Registration& r = all_[i];
    return r.member == member && r.cluster == cluster && r.zone == zone;
  });
  return at == SlotIndex::npos ? nullptr : &all_[at];
}

std::string Registry::serialize() const {
  std::string out = std::string(header) + "\n";
  for (const Registration& r : members) out += "member " + member_fields(r) + "\n";
  for (const auto& [zone, cluster] : open_gates) out += "gate " + zone + " " + cluster_field(cluster) + "\n";
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
  std::string_view line;
  int line_no = 0;
  size_t pos = 0;
  bool complete = false;  // a last line without its newline was cut short
  bool ended = false, bad_lines = false, end_ok = false;
  size_t records = 0;
  auto problem = [&](const std::string& what) { out.problems.push_back(path + ":" + std::to_string(line_no) + ": " + what); };
  while (next_line(text, pos, line, complete)) {
    ++line_no;
    const size_t start = size_t(line.data() - text.data());
    Words f(line);
    std::string kind;
    f.next(kind);
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
      Result<Registration> r = complete ? parse_member(f) : rejected("a member line needs 7 fields");
      if (!r) {
        problem(r.error().message);
        bad_lines = true;
        continue;
      }
      reg.members.push_back(std::move(r.value()));
    } else if (kind == "gate") {
      std::string zone, c;
      if (!f.next(zone) || !f.next(c) || !f.at_end() || !complete || !token(zone) || !token(c)) {
        problem("a gate line needs 2 fields");
        bad_lines = true;
        continue;
      }
      reg.open_gates.emplace(zone, cluster_value(c));
    } else if (kind == "record") {
      std::string zone;
      const std::string rr = f.next(zone) ? std::string(f.rest_after_blanks()) : std::string();
      if (!token(zone) || rr.empty() || !valid_record(rr) || !complete) {
        problem("a record line needs a zone and a record");
        bad_lines = true;
        continue;
      }
      reg.records[zone].push_back(rr);
      ++records;
    } else if (kind == "end") {
      ended = true;
      uint64_t count = 0;
      std::string sum;
      const size_t have = reg.members.size() + reg.open_gates.size() + records;
      if (!f.next(count) || !f.next(sum) || !complete) problem("damaged end line");
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

Registry Registry::load(const std::string& dir, std::vector<std::string>& problems, std::vector<std::string>* cut_short,
                        size_t* log_lines) {
  if (log_lines) *log_lines = 0;
  Registry reg = load_file(dir, problems);
  replay_log(log_path(dir), reg, problems, cut_short, log_lines);
  return reg;
}

Registry Registry::load_file(const std::string& dir, std::vector<std::string>& problems) {
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
  // The file holds every change now. A crash before the log is emptied replays changes it already
  // holds: each is idempotent.
  if (::truncate(log_path(dir).c_str(), 0) != 0 && errno != ENOENT)
    return sys_error("cannot empty the change log", log_path(dir));
  return {};
}

Result<void> Registry::append(const std::string& dir, const std::vector<RegistryChange>& changes) {
  std::string text;
  for (const RegistryChange& c : changes) {
    Registry one;
    if (c.kind == RegistryChange::Kind::put) one.members.push_back(c.member);
    else if (c.kind == RegistryChange::Kind::records) one.records[c.member.zone] = c.records;
    else one.open_gates.emplace(c.member.zone, c.member.cluster);  // the fields a remove writes are a gate's and a name
    if (Result<void> ok = one.storable(); !ok) return ok;
    if (c.kind == RegistryChange::Kind::remove && !token(c.member.member)) return rejected("a member name that cannot be stored");
    text += c.line();
  }
  const std::string path = log_path(dir);
  const bool fresh = ::access(path.c_str(), F_OK) != 0;
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return sys_error("cannot open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("cannot stat", path);
  Result<void> written = write_all(fd.get(), text, path);
  if (written && ::fdatasync(fd.get()) != 0) written = sys_error("cannot fdatasync", path);
  if (!written) {
    if (::ftruncate(fd.get(), st.st_size) != 0) spdlog::error("registry: cannot cut {} back after a failed write", path);
    return written;
  }
  return fresh ? sync_directory(dir) : Result<void>();
}

std::string Registry::origin(const Registration& r) {
  return "registered member " + r.member + " (cluster " + (r.cluster.empty() ? "_" : r.cluster) + " of " + r.zone + ")";
}

std::string Registry::origin(const std::string& zone, const std::string& record) {
  return "UPDATE record '" + record + "' of " + zone;
}

bool Registry::is_origin(const std::string& file) { return file.rfind("registered member ", 0) == 0 || is_update_origin(file); }

bool Registry::is_update_origin(const std::string& file) { return file.rfind("UPDATE record '", 0) == 0; }

namespace {
// (zone, cluster) -> the cluster taking registrations: one pass over the config, not one per member.
template <typename Config>
auto open_clusters(Config& config) {
  using ClusterT = std::conditional_t<std::is_const_v<Config>, const Cluster, Cluster>;
  std::map<std::pair<std::string, std::string>, ClusterT*> open;
  for (auto& z : config.zones) {
    const std::string zone = name_key(z.zone);
    for (auto& c : z.clusters)
      if (c.registration) open[{zone, c.name}] = &c;  // the last of equal names, as before
  }
  return open;
}
}  // namespace

std::vector<std::string> Registry::unplaced(const DaemonConfig& config) const {
  const auto open = open_clusters(config);
  std::vector<std::string> out;
  for (const Registration& r : members)
    if (!open.count({r.zone, r.cluster})) out.push_back(r.zone + " " + (r.cluster.empty() ? "_" : r.cluster) + " " + r.member);
  return out;
}

void Registry::apply(DaemonConfig& config, const std::set<std::string>* set_aside) const {
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
  const auto open = open_clusters(config);
  for (const Registration& r : members) {
    if (set_aside && aside(origin(r))) continue;
    if (const auto found = open.find(std::make_pair(r.zone, r.cluster)); found != open.end())
      found->second->members.push_back(member_of(r));
  }
}

Member Registry::member_of(const Registration& r) {
  Member m;
  m.name = r.member;
  m.host = r.host;
  m.addresses = r.addresses;
  m.peer_port = r.peer_port;
  m.client_port = r.client_port;
  m.loc = {origin(r), 0};
  m.host_loc = m.loc;
  return m;
}

}  // namespace dnsd
