// JSON text (see json.hpp).
#include "json.hpp"

#include <cstdio>

namespace dnsd {

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_error_body(const std::string& message, const std::string& field) {
  std::string body = "{\"error\": " + json_quote(message);
  if (!field.empty()) body += ", \"field\": " + json_quote(field);
  return body + "}\n";
}

}  // namespace dnsd
