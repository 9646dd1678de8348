// `dnsd verify`: what Go's resolver sees in a reply's bytes before parsing it (docs/ARCHITECTURE.md,
// "dnsd verify"). The lookups themselves are tested against crafted servers (integration.verify).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "verify.hpp"

using namespace dnsd;

namespace {

using Bytes = std::vector<uint8_t>;

void append(Bytes& m, std::initializer_list<int> bytes) {
  for (int b : bytes) m.push_back(uint8_t(b));
}

void name(Bytes& m, const std::string& dotted) {
  size_t start = 0;
  while (start < dotted.size()) {
    const size_t dot = dotted.find('.', start);
    const std::string label = dotted.substr(start, dot - start);
    m.push_back(uint8_t(label.size()));
    m.insert(m.end(), label.begin(), label.end());
    start = dot == std::string::npos ? dotted.size() : dot + 1;
  }
  m.push_back(0);
}

// A reply to "_s._tcp.z.example SRV" with one SRV record whose target is written out, or a pointer
// to "z.example" in the question.
Bytes srv_reply(bool compressed, bool aa = true) {
  Bytes m;
  append(m, {0x12, 0x34, 0x80 | (aa ? 0x04 : 0), 0x00, 0, 1, 0, 1, 0, 0, 0, 0});
  name(m, "_s._tcp.z.example");
  append(m, {0, 33, 0, 1});
  append(m, {0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 30});
  Bytes rdata;
  append(rdata, {0, 0, 0, 0, 0x09, 0x4C});  // priority, weight, port 2380
  if (compressed) {
    append(rdata, {1, 'a', 0xC0, 12 + 3 + 5});  // "a" + the question's "z.example"
  } else {
    name(rdata, "a.z.example");
  }
  append(m, {0, int(rdata.size())});
  m.insert(m.end(), rdata.begin(), rdata.end());
  return m;
}

}  // namespace

TEST_CASE("wire facts: a compressed SRV target is found, a written-out one is not", "[verify]") {
  const Bytes plain = srv_reply(false);
  const WireFacts p = wire_facts(plain.data(), plain.size());
  CHECK(p.readable);
  CHECK(p.aa);
  CHECK(p.compressed_srv_targets.empty());
  CHECK(p.answer_end == plain.size());
  const Bytes packed = srv_reply(true);
  const WireFacts c = wire_facts(packed.data(), packed.size());
  CHECK(c.readable);
  REQUIRE(c.compressed_srv_targets.size() == 1);
  CHECK(c.compressed_srv_targets[0] == "_s._tcp.z.example.");
}

TEST_CASE("wire facts: where the answer ends, and what a cut message gives", "[verify]") {
  Bytes m = srv_reply(false, false);
  const size_t answer_end = m.size();
  append(m, {0});  // an additional record at the root: A 10.0.0.1
  append(m, {0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 1});
  m[11] = 1;
  const WireFacts f = wire_facts(m.data(), m.size());
  CHECK(f.readable);
  CHECK_FALSE(f.aa);
  CHECK(f.answer_end == answer_end);
  const WireFacts cut = wire_facts(m.data(), m.size() - 3);
  CHECK_FALSE(cut.readable);
  CHECK(cut.answer_end == answer_end);  // the answer is whole: only the additional section is cut
  CHECK_FALSE(wire_facts(m.data(), 5).readable);
}
