// Fuzz target: the HTTP reply parser the prober and the CLI read members' and etcd's replies with:
// bytes any server can send. Properties: nothing crashes; the same bytes in two pieces (split where
// the input's first byte says) and whole read the same; a complete reply has a final status and a
// body within the limit; a refused one says why.
#include <cstdlib>

#include "http_reply.hpp"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t split = data[0] % size;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr size_t limit = 4096;
  dnsd::HttpReplyParser whole(limit), pieces(limit);
  whole.feed(bytes);
  pieces.feed(bytes.substr(0, split));
  pieces.feed(bytes.substr(std::min(split, bytes.size())));
  for (dnsd::HttpReplyParser* p : {&whole, &pieces}) p->end();
  check(whole.state() == pieces.state() && whole.status() == pieces.status() && whole.body() == pieces.body() &&
        whole.error() == pieces.error() && whole.keep_alive() == pieces.keep_alive());
  using State = dnsd::HttpReplyParser::State;
  check(whole.state() != State::more);  // after the end, a reply is complete or refused
  if (whole.state() == State::done) check(whole.status() >= 200 && whole.status() <= 599 && whole.body().size() <= limit);
  if (whole.state() == State::error) check(!whole.error().empty() && whole.body().empty() && !whole.keep_alive());
  return 0;
}
