// Fuzz target: the control endpoint's request head parser (request line and headers), what any
// client on the network can send. Properties: nothing crashes; a head that is accepted has a method,
// a path starting with '/', no query string, and a body length within the limit; one that is refused
// says why with an HTTP status.
#include <cstdlib>

#include "control_http.hpp"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view block(reinterpret_cast<const char*>(data), size);
  const dnsd::HttpHead h = dnsd::parse_http_head(block, 4096);
  if (h.error) {
    check(h.error >= 400 && h.error < 600 && !h.message.empty());
    return 0;
  }
  check(!h.request.method.empty());
  check(!h.request.path.empty() && h.request.path.front() == '/');
  check(h.request.path.find('?') == std::string::npos);
  check(h.content_length <= 4096);
  check(h.request.body.empty());
  return 0;
}
