// Secondary zones: the copy's checks, IXFR changes applied to it, its file on disk, and the reader of
// transfers in as untrusted input (docs/ARCHITECTURE.md, "Secondary zones").
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "temp_dir.hpp"
#include "transfer_in.hpp"
#include "tsig.hpp"
#include "zone_copy.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

const std::string apex = "lab.example.com.";

RrPtr rr(const std::string& text) {
  ldns_rr* out = nullptr;
  REQUIRE(ldns_rr_new_frm_str(&out, text.c_str(), 60, nullptr, nullptr) == LDNS_STATUS_OK);
  return RrPtr(out);
}

std::string soa(uint32_t serial) {
  return "lab.example.com. 60 IN SOA ns1.lab.example.com. h.example.org. " + std::to_string(serial) + " 3600 600 86400 30";
}

std::vector<RrPtr> rrs(std::initializer_list<std::string> texts) {
  std::vector<RrPtr> out;
  for (const std::string& t : texts) out.push_back(rr(t));
  return out;
}

ZoneCopy copy_of(std::initializer_list<std::string> texts) { return ZoneCopy{rrs(texts)}; }

std::vector<std::string> texts(const ZoneCopy& c) {
  std::vector<std::string> out;
  for (const RrPtr& r : c.rrs) out.push_back(rr_text(r.get()));
  return out;
}

// A reply message to our request `id` for `qtype`, with these answer records.
std::vector<uint8_t> reply(uint16_t id, ldns_rr_type qtype, std::initializer_list<std::string> answer, bool question = true,
                           ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR, bool aa = true) {
  const PktPtr pkt(ldns_pkt_new());
  ldns_pkt_set_id(pkt.get(), id);
  ldns_pkt_set_qr(pkt.get(), true);
  ldns_pkt_set_aa(pkt.get(), aa);
  ldns_pkt_set_rcode(pkt.get(), uint8_t(rcode));
  if (question) {
    ldns_rr* q = ldns_rr_new();
    ldns_rr_set_owner(q, ldns_dname_new_frm_str(apex.c_str()));
    ldns_rr_set_type(q, qtype);
    ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(q, true);
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_QUESTION, q);
  }
  for (const std::string& t : answer) ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_ANSWER, rr(t).release());
  uint8_t* wire = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&wire, pkt.get(), &size) == LDNS_STATUS_OK);
  std::vector<uint8_t> out(wire, wire + size);
  std::free(wire);
  return out;
}

TransferReader::State feed(TransferReader& r, const std::vector<uint8_t>& m) { return r.feed(m.data(), m.size(), 0); }

const TsigKey key{"xfr-key.", "hmac-sha256", "0123456789abcdef0123456789abcdef", {}};

}  // namespace

TEST_CASE("a copy is checked before it is served", "[secondary]") {
  CHECK(check_copy(apex, rrs({soa(1), "lab.example.com. NS ns1.lab.example.com.", "ns1.lab.example.com. A 192.0.2.1",
                              "_etcd-server-ssl._tcp.lab.example.com. SRV 0 0 2380 ns1.lab.example.com."})) == "");
  CHECK(check_copy(apex, rrs({"ns1.lab.example.com. A 192.0.2.1", soa(1)})) == "the transfer does not start with the SOA");
  CHECK(check_copy(apex, {}) == "the transfer does not start with the SOA");
  CHECK(check_copy(apex, rrs({soa(1), "www.example.org. A 192.0.2.1"})).find("outside the zone") != std::string::npos);
  CHECK(check_copy(apex, rrs({soa(1), soa(2)})).find("a second SOA") != std::string::npos);
  CHECK(check_copy(apex, rrs({soa(1), "sub.lab.example.com. NS ns.example.org."})).find("delegations") != std::string::npos);
  CHECK(check_copy(apex, rrs({soa(1), "*.lab.example.com. A 192.0.2.1"})).find("wildcard") != std::string::npos);
  CHECK(check_copy(apex, rrs({soa(1), "d.lab.example.com. DNAME example.org."})).find("DNAME") != std::string::npos);
  CHECK(check_copy(apex, rrs({soa(1), "c.lab.example.com. CNAME x.example.org.", "c.lab.example.com. A 192.0.2.1"}))
            .find("CNAME") != std::string::npos);
  CHECK(check_copy(apex, rrs({soa(1), "lab.example.com. CNAME x.example.org."})).find("CNAME") != std::string::npos);
  CHECK(check_copy(apex, rrs({soa(1), "x.lab.example.com. CH TXT \"a\""})).find("not class IN") != std::string::npos);
  CHECK(check_copy(apex, rrs({soa(1), "x.lab.example.com. TYPE255 \\# 0"})).find("not data") != std::string::npos);
}

TEST_CASE("IXFR changes apply to the copy in order, or not at all", "[secondary]") {
  const ZoneCopy base = copy_of({soa(1), "a.lab.example.com. A 192.0.2.1", "b.lab.example.com. A 192.0.2.2"});
  std::vector<CopyChange> changes;
  changes.push_back({rr(soa(1)), rr(soa(2)), rrs({"A.LAB.example.com. 999 A 192.0.2.1"}), rrs({"c.lab.example.com. A 192.0.2.3"})});
  changes.push_back({rr(soa(2)), rr(soa(3)), rrs({"c.lab.example.com. A 192.0.2.3"}), rrs({"d.lab.example.com. A 192.0.2.4"})});
  ZoneCopy out;
  REQUIRE(apply_changes(base, changes, out) == "");
  CHECK(out.serial() == 3);
  CHECK(texts(out) == std::vector<std::string>{rr_text(rr(soa(3)).get()), "b.lab.example.com.\t60\tIN\tA\t192.0.2.2",
                                               "d.lab.example.com.\t60\tIN\tA\t192.0.2.4"});
  // A deletion of a record the copy does not hold, or a change from another serial: refused.
  std::vector<CopyChange> missing;
  missing.push_back({rr(soa(1)), rr(soa(2)), rrs({"x.lab.example.com. A 192.0.2.9"}), {}});
  CHECK(apply_changes(base, missing, out).find("does not hold") != std::string::npos);
  std::vector<CopyChange> skipped;
  skipped.push_back({rr(soa(5)), rr(soa(6)), {}, {}});
  CHECK(apply_changes(base, skipped, out).find("starts from serial 5") != std::string::npos);
}

TEST_CASE("a copy's file reads back the same, and damage is found", "[secondary]") {
  const ZoneCopy c = copy_of({soa(7), "a.lab.example.com. A 192.0.2.1", "t.lab.example.com. TXT \"x y\""});
  const std::string bytes = copy_file(c);
  ZoneCopy back;
  REQUIRE(parse_copy_file(bytes, back) == "");
  CHECK(texts(back) == texts(c));
  std::string damaged = bytes;
  damaged[damaged.size() / 2] ^= 0x20;
  CHECK(parse_copy_file(damaged, back).find("damaged") != std::string::npos);
  CHECK(parse_copy_file(bytes.substr(0, bytes.size() - 3), back) != "");
  CHECK(parse_copy_file("something else", back) == "not a dnsd zone copy");

  TempDir dir;
  REQUIRE(save_copy(dir.path(), apex, c, 1234567));
  const LoadedCopy loaded = load_copy(dir.path(), apex);
  REQUIRE(loaded.copy);
  CHECK(loaded.copy->serial() == 7);
  CHECK(loaded.checked == 1234567);
  CHECK_FALSE(load_copy(dir.path(), "other.example.com.").copy);
}

TEST_CASE("AXFR in: SOA, records, SOA, over several messages", "[secondary]") {
  TransferReader r(apex, TransferReader::Kind::axfr, 42, 0, std::nullopt);
  CHECK(feed(r, reply(42, LDNS_RR_TYPE_AXFR, {soa(9), "a.lab.example.com. A 192.0.2.1"})) == TransferReader::State::more);
  CHECK(feed(r, reply(42, LDNS_RR_TYPE_AXFR, {"b.lab.example.com. A 192.0.2.2", soa(9)}, false)) == TransferReader::State::done);
  CHECK(r.outcome() == TransferReader::Outcome::whole);
  CHECK(r.records().size() == 3);
  CHECK(r.messages() == 2);
}

TEST_CASE("AXFR in: what does not answer our request, or breaks the shape, fails", "[secondary]") {
  auto fails = [](std::vector<std::vector<uint8_t>> messages) {
    TransferReader r(apex, TransferReader::Kind::axfr, 42, 0, std::nullopt);
    for (const auto& m : messages)
      if (feed(r, m) == TransferReader::State::failed) return r.error();
    return std::string("accepted");
  };
  CHECK(fails({reply(41, LDNS_RR_TYPE_AXFR, {soa(9), soa(9)})}) == "a reply with another ID");
  CHECK(fails({reply(42, LDNS_RR_TYPE_A, {soa(9), soa(9)})}) == "the reply is for another question");
  CHECK(fails({reply(42, LDNS_RR_TYPE_AXFR, {soa(9), soa(9)}, false)}) == "the reply does not carry our question");
  CHECK(fails({reply(42, LDNS_RR_TYPE_AXFR, {"a.lab.example.com. A 192.0.2.1", soa(9)})}) ==
        "the transfer does not start with the zone's SOA");
  CHECK(fails({reply(42, LDNS_RR_TYPE_AXFR, {soa(9), soa(8)})}) == "the closing SOA has another serial");
  CHECK(fails({reply(42, LDNS_RR_TYPE_AXFR, {soa(9), soa(9), "a.lab.example.com. A 192.0.2.1"})}) ==
        "records after the end of the transfer");
  CHECK(fails({reply(42, LDNS_RR_TYPE_AXFR, {soa(9), soa(9)}), reply(42, LDNS_RR_TYPE_AXFR, {soa(9)})}) ==
        "a message after the end of the transfer");
  CHECK(fails({reply(42, LDNS_RR_TYPE_AXFR, {}, true, LDNS_RCODE_REFUSED)}) == "the primary answered REFUSED");
  CHECK(fails({{0, 42, 0x80}}) == "a message shorter than a DNS header");
  std::vector<uint8_t> cut = reply(42, LDNS_RR_TYPE_AXFR, {soa(9), soa(9)});
  cut.resize(cut.size() - 5);
  CHECK(fails({cut}) == "a malformed message");
}

TEST_CASE("IXFR in: current, incremental, a whole zone, or not done by the primary", "[secondary]") {
  {
    TransferReader r(apex, TransferReader::Kind::ixfr, 7, 5, std::nullopt);
    CHECK(feed(r, reply(7, LDNS_RR_TYPE_IXFR, {soa(5)})) == TransferReader::State::done);
    CHECK(r.outcome() == TransferReader::Outcome::up_to_date);
  }
  {
    TransferReader r(apex, TransferReader::Kind::ixfr, 7, 5, std::nullopt);
    CHECK(feed(r, reply(7, LDNS_RR_TYPE_IXFR, {soa(7), soa(5), "a.lab.example.com. A 192.0.2.1", soa(6),
                                               "b.lab.example.com. A 192.0.2.2", soa(6), soa(7),
                                               "c.lab.example.com. A 192.0.2.3", soa(7)})) == TransferReader::State::done);
    REQUIRE(r.outcome() == TransferReader::Outcome::incremental);
    REQUIRE(r.changes().size() == 2);
    CHECK(r.changes()[0].removed.size() == 1);
    CHECK(r.changes()[0].added.size() == 1);
    CHECK(r.changes()[1].removed.empty());
    CHECK(r.changes()[1].added.size() == 1);
  }
  {
    TransferReader r(apex, TransferReader::Kind::ixfr, 7, 5, std::nullopt);
    CHECK(feed(r, reply(7, LDNS_RR_TYPE_IXFR, {soa(7), "a.lab.example.com. A 192.0.2.1", soa(7)})) == TransferReader::State::done);
    CHECK(r.outcome() == TransferReader::Outcome::whole);
    CHECK(r.records().size() == 2);
  }
  {
    TransferReader r(apex, TransferReader::Kind::ixfr, 7, 5, std::nullopt);
    CHECK(feed(r, reply(7, LDNS_RR_TYPE_IXFR, {}, true, LDNS_RCODE_NOTIMPL)) == TransferReader::State::failed);
    CHECK(r.fall_back_to_axfr());
  }
}

TEST_CASE("SOA query: the primary's serial from an authoritative answer", "[secondary]") {
  TransferReader newer(apex, TransferReader::Kind::soa, 3, 5, std::nullopt);
  CHECK(feed(newer, reply(3, LDNS_RR_TYPE_SOA, {soa(6)})) == TransferReader::State::done);
  CHECK(newer.outcome() == TransferReader::Outcome::whole);
  CHECK(newer.serial() == 6);
  TransferReader same(apex, TransferReader::Kind::soa, 3, 5, std::nullopt);
  CHECK(feed(same, reply(3, LDNS_RR_TYPE_SOA, {soa(5)})) == TransferReader::State::done);
  CHECK(same.outcome() == TransferReader::Outcome::up_to_date);
  TransferReader lame(apex, TransferReader::Kind::soa, 3, 5, std::nullopt);
  CHECK(feed(lame, reply(3, LDNS_RR_TYPE_SOA, {soa(6)}, true, LDNS_RCODE_NOERROR, false)) == TransferReader::State::failed);
}

TEST_CASE("a transfer to a signed request: every message verified, the last one signed", "[secondary][tsig]") {
  // The request as we send it, and the primary's view of its TSIG.
  std::vector<uint8_t> request = reply(9, LDNS_RR_TYPE_AXFR, {});
  request[2] &= 0x7F;  // a query
  const uint64_t now = 1700000000;
  const std::string mac = tsig_sign_request(request, key, now);
  const auto at = locate_tsig(request.data(), request.size());
  REQUIRE(at);
  const TsigRecord req = *read_tsig(request.data(), request.size(), at->first, at->second);
  auto signed_stream = [&](bool sign_last, bool tamper) {
    std::vector<std::vector<uint8_t>> m = {reply(9, LDNS_RR_TYPE_AXFR, {soa(9), "a.lab.example.com. A 192.0.2.1"}),
                                           reply(9, LDNS_RR_TYPE_AXFR, {"b.lab.example.com. A 192.0.2.2"}, false),
                                           reply(9, LDNS_RR_TYPE_AXFR, {soa(9)}, false)};
    std::string prior = tsig_append(m[0], &key, req, 0, now);
    prior = tsig_append_next(m[1], key, req, prior, now);
    if (sign_last) tsig_append_next(m[2], key, req, prior, now);
    if (tamper) m[1][13] ^= 0x20;  // "b.lab..." becomes "B.lab...": a valid message, another MAC
    TransferReader r(apex, TransferReader::Kind::axfr, 9, 0, TsigReplyCheck(key, mac));
    for (const auto& msg : m)
      if (r.feed(msg.data(), msg.size(), now) == TransferReader::State::failed) return r.error();
    return std::string("accepted");
  };
  CHECK(signed_stream(true, false) == "accepted");
  CHECK(signed_stream(false, false) == "TSIG: the last message is not signed");
  CHECK(signed_stream(true, true) == "TSIG: bad signature");
  // An unsigned first reply to a signed request is refused.
  TransferReader r(apex, TransferReader::Kind::axfr, 9, 0, TsigReplyCheck(key, mac));
  const std::vector<uint8_t> plain = reply(9, LDNS_RR_TYPE_AXFR, {soa(9), soa(9)});
  CHECK(r.feed(plain.data(), plain.size(), now) == TransferReader::State::failed);
  CHECK(r.error() == "TSIG: the reply is not signed");
}
