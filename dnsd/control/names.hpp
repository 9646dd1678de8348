// Domain names on the control plane: how config, registrations and UPDATE spell, compare and validate
// names. Text forms are absolute with one trailing dot; comparison keys are lower case (RFC 4343:
// ASCII only). Control plane; called on the control thread and by `dnsd check`.
#pragma once

#include <string>
#include <string_view>

#include "ldns.hpp"

namespace dnsd {

// The name with exactly one trailing dot ("" stays "").
std::string absolute_name(const std::string& name);

// The name without its trailing dot, as URLs, etcd's flags and Go spell hosts ("" and the root "." stay).
std::string dotless_name(const std::string& name);

// A member's peer or client URL: https://HOST:PORT when tls, else http://; the host without its
// trailing dot, an IPv6 address in brackets.
std::string member_url(bool tls, const std::string& host, int port);

// A client address as text, from its address bytes (4: IPv4, 16: IPv6), for log lines.
std::string address_text(std::string_view bytes);

// ASCII lower case (host names in URLs, HTTP header names).
std::string ascii_lower(std::string s);

// Lower case, with exactly one trailing dot: how zones, TSIG key names and hosts are compared.
std::string name_key(const std::string& name);

// Whether `name` is `zone` or below it, on a label boundary (text, case-insensitive).
bool name_in_zone(const std::string& name, const std::string& zone);

// Go's net.isDomainName (go1.19): what Go's resolver accepts as an SRV target. One bad target fails
// the whole lookup in Go, so config validation rejects what this rejects.
bool go_valid_hostname(const std::string& name);

// Whether s is a numeric IPv4 or IPv6 address.
bool is_ip_address(const std::string& s);

// The wire form of a name made of plain labels ("hmac-sha256." -> "\x0bhmac-sha256\0").
std::string wire_name(const std::string& text);

// The wire form of a name in text, case kept, escapes read as ldns reads them (relative names taken as
// absolute); "" when it is not a name.
std::string dname_wire(const std::string& text);
// The same into `out` (replacing it), reusing its buffer.
void dname_wire_into(const std::string& text, std::string& out);

// A wire name printed as ldns prints it (for messages).
std::string wire_text(std::string_view wire);

// The bytes of an ldns dname.
inline std::string_view rdf_wire(const ldns_rdf* dname) {
  return {reinterpret_cast<const char*>(ldns_rdf_data(dname)), ldns_rdf_size(dname)};
}

// A wire name with its labels lower-cased (length bytes untouched).
std::string fold_wire(std::string_view wire);
// The same into `out`, reusing its buffer (a loop over many names allocates once).
void fold_wire_into(std::string_view wire, std::string& out);

// Lower-cased wire form of an ldns dname, the key every lookup uses.
std::string lower_wire(const ldns_rdf* dname);

// Lower-cased wire form of a name in text; "" when ldns cannot read it.
std::string lower_wire(const std::string& text);
// The same into `out` (replacing it), reusing its buffer.
void lower_wire_into(const std::string& text, std::string& out);

// Whether a lower-case wire name is the apex or below it (on a label boundary).
bool is_subdomain_or_equal(const std::string& child_lower, const std::string& apex_lower);

}  // namespace dnsd
