// Domain names (see names.hpp).
#include "names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace dnsd {

std::string absolute_name(const std::string& name) {
  if (name.empty() || name.back() == '.') return name;
  return name + ".";
}

std::string dotless_name(const std::string& name) {
  return name.size() > 1 && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
}

std::string member_url(bool tls, const std::string& host, int port) {
  const std::string h = dotless_name(host);
  return std::string(tls ? "https" : "http") + "://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" +
         std::to_string(port);
}

std::string address_text(std::string_view bytes) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (bytes.size() == 4 || bytes.size() == 16)
    inet_ntop(bytes.size() == 4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string name_key(const std::string& name) { return ascii_lower(absolute_name(name)); }

bool name_in_zone(const std::string& name, const std::string& zone) {
  const std::string n = name_key(name), z = name_key(zone);
  if (n == z) return true;
  return n.size() > z.size() && n.compare(n.size() - z.size(), z.size(), z) == 0 && n[n.size() - z.size() - 1] == '.';
}

bool go_valid_hostname(const std::string& s) {
  if (s == ".") return true;
  const size_t l = s.size();
  if (l == 0 || l > 254 || (l == 254 && s[l - 1] != '.')) return false;
  char last = '.';
  bool non_numeric = false;
  size_t part = 0;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      non_numeric = true;
      ++part;
    } else if (c >= '0' && c <= '9') {
      ++part;
    } else if (c == '-') {
      if (last == '.') return false;  // a label may not start with '-'
      non_numeric = true;
      ++part;
    } else if (c == '.') {
      if (last == '.' || last == '-') return false;
      if (part > 63 || part == 0) return false;
      part = 0;
    } else {
      return false;
    }
    last = c;
  }
  if (last == '-' || part > 63) return false;
  return non_numeric;  // all-numeric names such as 10.0.0.9 are rejected
}

bool is_ip_address(const std::string& s) {
  // inet_pton reads up to the first NUL: "192.0.2.4\0 x" must not pass as 192.0.2.4.
  if (s.find('\0') != std::string::npos) return false;
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string wire_name(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 2);  // one allocation: a length byte per label, the root
  size_t start = 0;
  while (start < text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string::npos) dot = text.size();
    if (dot > start) {
      out += char(dot - start);
      out.append(text, start, dot - start);
    }
    start = dot + 1;
  }
  out += '\0';
  return out;
}

namespace {
// Plain labels (every generated name: member hosts, SRV names) in one pass without ldns, lower-cased
// when `fold`: false when the text needs ldns (an escape, an empty label, "."); `out` is "" when a
// label or the name is too long.
bool plain_wire(const std::string& text, bool fold, std::string& out) {
  if (text.empty()) return false;
  out.resize(text.size() + 2);  // a length byte per label and the root at most
  char* w = out.data();
  size_t len_at = 0, label = 0, n = 1;
  for (const char c : text) {
    if (c == '.') {
      if (label == 0) return false;
      w[len_at] = char(label);
      len_at = n++;
      label = 0;
    } else if (c == '\\') {
      return false;
    } else if (++label > 63) {
      out.clear();
      return true;
    } else {
      w[n++] = fold && c >= 'A' && c <= 'Z' ? char(c + ('a' - 'A')) : c;
    }
  }
  if (label != 0) {
    w[len_at] = char(label);
    len_at = n++;
  }
  w[len_at] = 0;
  out.resize(n);
  if (n > 255) out.clear();
  return true;
}

std::string ldns_wire(const std::string& text) {
  const RdfPtr dname(ldns_dname_new_frm_str(text.c_str()));
  return dname ? std::string(rdf_wire(dname.get())) : std::string();
}
}  // namespace

std::string dname_wire(const std::string& text) {
  std::string out;
  dname_wire_into(text, out);
  return out;
}

void dname_wire_into(const std::string& text, std::string& out) {
  if (!plain_wire(text, false, out)) out = ldns_wire(text);
}

std::string wire_text(std::string_view wire) {
  const RdfPtr dname(ldns_dname_new_frm_data(uint16_t(wire.size()), wire.data()));
  return dname ? take_ldns_string(ldns_rdf2str(dname.get())) : std::string();
}

namespace {
// Folds label bytes only, never the length bytes. A length byte of a name is at most 63 and so never
// a letter: the name's bytes up to its root label are folded alike, eight at a time (label by label
// it was a tenth of a compile). A length past 63 (not a name) is walked label by label.
void fold_labels(std::string& wire) {
  size_t end = 0;
  while (end < wire.size() && wire[end] != 0) {
    if (uint8_t(wire[end]) > 63) {
      for (size_t i = 0; i < wire.size() && wire[i] != 0; i += size_t(uint8_t(wire[i])) + 1)
        for (size_t j = i + 1; j <= i + size_t(uint8_t(wire[i])) && j < wire.size(); ++j)
          if (wire[j] >= 'A' && wire[j] <= 'Z') wire[j] = char(wire[j] + 32);
      return;
    }
    end += size_t(uint8_t(wire[end])) + 1;
  }
  end = std::min(end, wire.size());
  char* p = wire.data();
  size_t j = 0;
  for (; j + 8 <= end; j += 8) {
    // In each byte below 0x80: bit 7 of (b + 0x3F) says b >= 'A', of (b + 0x25) that b > 'Z'.
    uint64_t x;
    std::memcpy(&x, p + j, 8);
    const uint64_t low7 = x & 0x7F7F7F7F7F7F7F7Full;
    const uint64_t upper = ~x & ((low7 + 0x3F3F3F3F3F3F3F3Full) ^ (low7 + 0x2525252525252525ull)) & 0x8080808080808080ull;
    x |= upper >> 2;  // 0x80 >> 2 is 0x20, the case bit
    std::memcpy(p + j, &x, 8);
  }
  for (; j < end; ++j) p[j] = char(p[j] + ((p[j] >= 'A' && p[j] <= 'Z') ? 32 : 0));
}
}  // namespace

std::string fold_wire(std::string_view wire) {
  std::string out;
  fold_wire_into(wire, out);
  return out;
}

void fold_wire_into(std::string_view wire, std::string& out) {
  out.assign(wire);
  fold_labels(out);
}

std::string lower_wire(const ldns_rdf* dname) {
  return fold_wire({reinterpret_cast<const char*>(ldns_rdf_data(dname)), ldns_rdf_size(dname)});
}

std::string lower_wire(const std::string& text) {
  std::string out;
  lower_wire_into(text, out);
  return out;
}

void lower_wire_into(const std::string& text, std::string& out) {
  if (plain_wire(text, true, out)) return;
  out = ldns_wire(text);
  fold_labels(out);
}

bool is_subdomain_or_equal(const std::string& child_lower, const std::string& apex_lower) {
  if (child_lower.size() < apex_lower.size()) return false;
  if (child_lower.compare(child_lower.size() - apex_lower.size(), apex_lower.size(), apex_lower) != 0) return false;
  // The apex must start on a label boundary of the child.
  for (size_t i = 0; i < child_lower.size(); i += size_t(uint8_t(child_lower[i])) + 1)
    if (i == child_lower.size() - apex_lower.size()) return true;
  return false;
}

}  // namespace dnsd
