// The status page at GET / of the control endpoint: one self-contained HTML document (inline style
// and script, no external assets) that reads /v1/zones every 2 s and shows zones and serials,
// transfer state, clusters with their gate and drift, and members with health, last probe and last
// error. Built for a phone as much as a desk. Control plane.
#pragma once

#include <string_view>

namespace dnsd {

std::string_view status_page_html() noexcept;

}  // namespace dnsd
