// JSON text (see json.hpp).
#include "json.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

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

YamlNode parse_json(const std::string& body) {
  std::string error;  // (the reader's words and line are for config files)
  int line = 0;
  return read_yaml(body, error, line);
}

YamlNode read_json(const std::string& body, const std::string& what) {
  YamlNode doc = parse_json(body);
  if (!doc) throw std::runtime_error(what + ": the reply is not JSON");
  return doc;
}

const std::string& json_string(const YamlNode& n, const char* key, const std::string& what) {
  const YamlNode v = n[key];  // undefined unless n is a map with the key
  if (!v.is_scalar()) throw std::runtime_error(what + ": no " + key + " in the reply");
  return v.scalar();  // held by the document, which n keeps alive
}

long json_integer(const YamlNode& n, const char* key, const std::string& what) {
  const std::string& s = json_string(n, key, what);
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE)
    throw std::runtime_error(what + ": " + key + " in the reply is not an integer");
  return v;
}

bool json_bool(const YamlNode& n, const char* key, const std::string& what) {
  const std::string& s = json_string(n, key, what);
  if (s != "true" && s != "false") throw std::runtime_error(what + ": " + key + " in the reply is not true or false");
  return s == "true";
}

}  // namespace dnsd
