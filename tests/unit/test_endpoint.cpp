// Listener and client addresses: parsed from configured text, printed for logs, reduced to the
// address bytes that per-source limits, cookies and RRL key on.
#include <catch2/catch.hpp>

#include "endpoint.hpp"
#include "packet.hpp"

using namespace dnsd;
using dnsd::test::hex;

TEST_CASE("endpoints: numeric addresses only, printed with the port, wildcards recognised", "[endpoint]") {
  struct Row {
    const char* address;
    const char* text;  // nullptr: refused
    const char* bytes;
    bool wildcard;
  };
  const Row rows[] = {
      {"192.0.2.53", "192.0.2.53:53", "c0000235", false},
      {"2001:db8::35", "[2001:db8::35]:53", "20010db8000000000000000000000035", false},
      {"0.0.0.0", "0.0.0.0:53", "00000000", true},
      {"::", "[::]:53", "00000000000000000000000000000000", true},
      {"ns1.example.com", nullptr, "", false},
      {"192.0.2.300", nullptr, "", false},
      {"", nullptr, "", false},
  };
  for (const Row& row : rows) {
    INFO(row.address);
    const std::optional<Endpoint> ep = make_endpoint(row.address, 53);
    REQUIRE(ep.has_value() == (row.text != nullptr));
    if (!ep) continue;
    CHECK(ep->text == row.text);
    const std::string_view bytes = address_bytes(reinterpret_cast<const sockaddr*>(&ep->addr));
    CHECK(hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) == row.bytes);
    CHECK(is_wildcard(*ep) == row.wildcard);
  }
}
