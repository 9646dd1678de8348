// Domain names (see names.hpp).
#include "names.hpp"

#include <arpa/inet.h>

#include <algorithm>

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
  size_t start = 0;
  while (start < text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string::npos) dot = text.size();
    if (dot > start) {
      out += char(dot - start);
      out += text.substr(start, dot - start);
    }
    start = dot + 1;
  }
  return out + '\0';
}

std::string dname_wire(const std::string& text) {
  // Plain labels (every generated name) without ldns; anything with an escape or an empty label
  // through it.
  bool plain = !text.empty() && text != ".";
  size_t label = 0;
  for (size_t i = 0; plain && i < text.size(); ++i)
    if (text[i] == '\\' || (text[i] == '.' && label == 0)) plain = false;
    else if (text[i] == '.') label = 0;
    else if (++label > 63) return {};
  if (plain) {
    std::string out = wire_name(text);
    return out.size() <= 255 ? out : std::string();
  }
  const RdfPtr dname(ldns_dname_new_frm_str(text.c_str()));
  return dname ? std::string(rdf_wire(dname.get())) : std::string();
}

std::string wire_text(std::string_view wire) {
  const RdfPtr dname(ldns_dname_new_frm_data(uint16_t(wire.size()), wire.data()));
  return dname ? take_ldns_string(ldns_rdf2str(dname.get())) : std::string();
}

namespace {
// Folds label bytes only, never the length bytes.
void fold_labels(std::string& wire) {
  for (size_t i = 0; i < wire.size() && wire[i] != 0; i += size_t(uint8_t(wire[i])) + 1)
    for (size_t j = i + 1; j <= i + size_t(uint8_t(wire[i])) && j < wire.size(); ++j)
      if (wire[j] >= 'A' && wire[j] <= 'Z') wire[j] = char(wire[j] + 32);
}
}  // namespace

std::string fold_wire(std::string_view wire) {
  std::string out(wire);
  fold_labels(out);
  return out;
}

std::string lower_wire(const ldns_rdf* dname) {
  return fold_wire({reinterpret_cast<const char*>(ldns_rdf_data(dname)), ldns_rdf_size(dname)});
}

std::string lower_wire(const std::string& text) {
  std::string out = dname_wire(text);  // plain names without ldns: every member host, every SRV name
  fold_labels(out);
  return out;
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
