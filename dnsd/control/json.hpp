// The little JSON the control API writes: string literals and error bodies. Reading JSON goes
// through yaml_doc (JSON is YAML). Control plane.
#pragma once

#include <string>
#include <string_view>

#include "yaml_doc.hpp"

namespace dnsd {

// A JSON string literal (quotes included) with the escapes RFC 8259 requires.
std::string json_quote(std::string_view s);

// {"error": message, "field": field} (field left out when empty), newline-terminated.
std::string json_error_body(const std::string& message, const std::string& field = "");

// A JSON reply read as the config files are (JSON is YAML): undefined when it is not JSON (an error
// body that may or may not be). read_json throws std::runtime_error "WHAT: the reply is not JSON".
YamlNode parse_json(const std::string& body);
YamlNode read_json(const std::string& body, const std::string& what);

// A scalar member of a JSON object `n` (a reply dnsd or etcd wrote); throws std::runtime_error
// "WHAT: no KEY in the reply" when it is not there or not a scalar. The integer and boolean forms
// also throw when the text is not one.
const std::string& json_string(const YamlNode& n, const char* key, const std::string& what);
long json_integer(const YamlNode& n, const char* key, const std::string& what);
bool json_bool(const YamlNode& n, const char* key, const std::string& what);

}  // namespace dnsd
