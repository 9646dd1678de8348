// Corpus replay: every seed in tests/fuzz/corpus through query_process() against a compiled zone, with
// the properties a fuzzer checks. A crash found once by fuzzing stays here as a regression.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "compiled_zone.hpp"

using namespace dnsd;
using namespace dnsd::test;

TEST_CASE("every corpus message gets a well-formed reply or none", "[corpus]") {
  CompiledZone zone(
      "zone: lab.example.com\nsoa: { mname: ns1.lab.example.com, rname: h.lab.example.com }\nns: [ns1.lab.example.com]\n"
      "records: |\n  ns1 IN A 192.0.2.53\nclusters:\n  - name: c1\n    members:\n"
      "      - { name: e1, host: etcd-1.c1.lab.example.com, addresses: [192.0.2.21] }\n");
  size_t files = 0, replies = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(DNSD_SOURCE_DIR) + "/tests/fuzz/corpus/query")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const Bytes q((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    QueryView view;
    const ParseResult parsed = parse_query(q.data(), q.size(), view);
    for (Transport t : {Transport::udp, Transport::tcp}) {
      INFO(entry.path().filename().string() << (t == Transport::udp ? " udp" : " tcp"));
      const Bytes r = zone.raw(q, t);
      if (parsed == ParseResult::drop) {
        CHECK(r.empty());
        continue;
      }
      REQUIRE(r.size() >= 12);
      ++replies;
      const size_t limit = t == Transport::tcp ? 65535
                           : view.edns && parsed == ParseResult::ok
                               ? std::clamp<size_t>(view.edns_payload, 512, 1232)
                               : 512;
      CHECK(r.size() <= limit);
      CHECK(rd16(r, 0) == rd16(q, 0));
      CHECK((r[2] & 0x80) != 0);
      CHECK((r[2] & 0x78) == (q[2] & 0x78));
      if (view.has_question) {
        REQUIRE(rd16(r, 4) == 1);
        CHECK(std::equal(q.begin() + 12, q.begin() + 12 + long(view.question_len), r.begin() + 12));
      } else {
        CHECK(rd16(r, 4) == 0);
      }
      ldns_pkt* p = nullptr;
      CHECK(ldns_wire2pkt(&p, r.data(), r.size()) == LDNS_STATUS_OK);
      ldns_pkt_free(p);
    }
  }
  CHECK(files > 300);
  CHECK(replies > 200);
}
