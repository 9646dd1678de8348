// The little JSON the control API writes: string literals and error bodies. Reading JSON goes
// through yaml_doc (JSON is YAML). Control plane.
#pragma once

#include <string>
#include <string_view>

namespace dnsd {

// A JSON string literal (quotes included) with the escapes RFC 8259 requires.
std::string json_quote(std::string_view s);

// {"error": message, "field": field} (field left out when empty), newline-terminated.
std::string json_error_body(const std::string& message, const std::string& field = "");

}  // namespace dnsd
