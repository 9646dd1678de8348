// Zone transfers: the transfer.allow rules and the IXFR journal (docs/ARCHITECTURE.md, "Zone transfers").
#include <arpa/inet.h>
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "journal.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

TransferRule rule(const std::string& address, unsigned prefix, const std::string& key = "") {
  TransferRule r;
  uint8_t buf[16];
  const bool v6 = address.find(':') != std::string::npos;
  REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), buf) == 1);
  r.network.assign(buf, buf + (v6 ? 16 : 4));
  r.prefix_len = prefix;
  r.key = key;
  return r;
}

bool allows(const TransferRule& r, const std::string& source, const std::string* key) {
  uint8_t buf[16];
  const bool v6 = source.find(':') != std::string::npos;
  REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, source.c_str(), buf) == 1);
  return r.matches(buf, v6 ? 16 : 4, key);
}

const std::string head =
    "zone: lab.example.com\nsoa: { mname: ns1.lab.example.com, rname: h.example.org }\nns: [ns1.lab.example.com]\n";

// A compiled zone whose SOA carries `serial`.
ZoneRecords& with_serial(CompiledZone& z, uint32_t serial) {
  ZoneRecords& zr = z.compiled().zones.at(0);
  zr.records.at(0).rr = zr.records.at(0).rr.with_soa_serial(serial);
  return zr;
}

std::vector<std::string> texts(const std::vector<std::string>& wire) {
  std::vector<std::string> out;
  for (const std::string& w : wire) {
    ldns_rr* rr = nullptr;
    size_t pos = 0;
    REQUIRE(ldns_wire2rr(&rr, reinterpret_cast<const uint8_t*>(w.data()), w.size(), &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK);
    const RrPtr owned(rr);
    out.push_back(rr_text(rr));
  }
  return out;
}

}  // namespace

TEST_CASE("transfer.allow: a rule matches its prefix, and its key or no key", "[transfer]") {
  const std::string key = "xfr-key.";
  const std::string other = "other.";
  CHECK(allows(rule("127.0.0.0", 8), "127.1.2.3", nullptr));
  CHECK_FALSE(allows(rule("127.0.0.0", 8), "128.0.0.1", nullptr));
  CHECK_FALSE(allows(rule("127.0.0.0", 8), "127.1.2.3", &key));  // a rule without a key: unsigned only
  CHECK(allows(rule("192.0.2.0", 25), "192.0.2.127", nullptr));
  CHECK_FALSE(allows(rule("192.0.2.0", 25), "192.0.2.128", nullptr));
  CHECK(allows(rule("0.0.0.0", 0, key), "203.0.113.9", &key));
  CHECK_FALSE(allows(rule("0.0.0.0", 0, key), "203.0.113.9", nullptr));
  CHECK_FALSE(allows(rule("0.0.0.0", 0, key), "203.0.113.9", &other));
  CHECK(allows(rule("2001:db8::", 32), "2001:db8:ffff::1", nullptr));
  CHECK_FALSE(allows(rule("2001:db8::", 32), "2001:db9::1", nullptr));
  CHECK_FALSE(allows(rule("2001:db8::", 32), "127.0.0.1", nullptr));  // families never mix
  CHECK(allows(rule("::1", 128), "::1", nullptr));
}

TEST_CASE("the journal: what each change removed and added, as served", "[transfer]") {
  CompiledZone v1(head + "records: |\n  ns1 IN A 192.0.2.53\n  www IN A 192.0.2.80\n  txt 300 IN TXT \"a\"\n");
  CompiledZone v2(head + "records: |\n  ns1 IN A 192.0.2.53\n  www IN A 192.0.2.81\n  txt 300 IN TXT \"a\"\n  new IN AAAA 2001:db8::1\n");
  ZoneJournal j;
  ZoneRecords& first = with_serial(v1, 10);
  j.record(first, nullptr);
  CHECK(j.size() == 0);
  CHECK_FALSE(j.since(10));
  ZoneRecords& second = with_serial(v2, 11);
  const std::optional<RecordDelta> delta = zone_delta(first, second);
  REQUIRE(delta);
  CHECK(delta->from == 10);
  CHECK_FALSE(zone_delta(second, second));  // the same serial: no change to record
  j.record(second, &*delta);
  j.record(second, &*delta);  // the same serial again: nothing changed
  REQUIRE(j.size() == 1);
  CHECK(j.serial() == 11u);
  const auto changes = j.since(10);
  REQUIRE(changes);
  REQUIRE(changes->size() == 1);
  const ZoneJournal::Change& c = *changes->at(0);
  CHECK(c.from == 10);
  CHECK(c.to == 11);
  CHECK(texts(c.removed) == std::vector<std::string>{"www.lab.example.com.\t30\tIN\tA\t192.0.2.80"});
  const std::vector<std::string> added = texts(c.added);
  CHECK(added.size() == 2);
  CHECK_THAT(added.at(0) + added.at(1), Catch::Contains("www.lab.example.com.\t30\tIN\tA\t192.0.2.81") &&
                                            Catch::Contains("new.lab.example.com.\t30\tIN\tAAAA\t2001:db8::1"));
  CHECK_THAT(texts({c.soa_from}).at(0), Catch::Contains(" 10 "));
  CHECK_THAT(texts({c.soa_to}).at(0), Catch::Contains(" 11 "));
  CHECK_FALSE(j.since(9));  // never held: the whole zone instead

  // A version whose change from the one recorded last is not known starts the journal again.
  ZoneRecords& third = with_serial(v1, 12);
  const RecordDelta elsewhere = wire_delta(9, {}, {});
  j.record(third, &elsewhere);
  CHECK(j.size() == 0);
  CHECK(j.serial() == 12u);
  CHECK_FALSE(j.since(10));
  CHECK_FALSE(j.since(11));
}

TEST_CASE("the journal takes a change net: a record removed by one part and added by another stays", "[transfer]") {
  CompiledZone v1(head + "records: |\n  ns1 IN A 192.0.2.53\n  www IN A 192.0.2.80\n");
  CompiledZone v2(head + "records: |\n  ns1 IN A 192.0.2.53\n  www IN A 192.0.2.81\n");
  ZoneRecords& first = with_serial(v1, 1);
  ZoneRecords& second = with_serial(v2, 2);
  ZoneJournal j;
  j.record(first, nullptr);
  std::optional<RecordDelta> delta = zone_delta(first, second);
  REQUIRE(delta);
  REQUIRE(delta->removed.size() == 1);
  REQUIRE(delta->added.size() == 1);
  // Two parts of one publish: the second adds back what the first removed, and both add the same.
  const std::string kept = zone_rrs_wire(first).front();
  delta->removed.push_back(kept);
  delta->added.push_back(kept);
  delta->added.push_back(delta->added.front());
  j.record(second, &*delta);
  const auto changes = j.since(1);
  REQUIRE(changes);
  CHECK(texts(changes->at(0)->removed) == std::vector<std::string>{"www.lab.example.com.\t30\tIN\tA\t192.0.2.80"});
  CHECK(texts(changes->at(0)->added) == std::vector<std::string>{"www.lab.example.com.\t30\tIN\tA\t192.0.2.81"});
}

TEST_CASE("the journal keeps the last 128 changes and reaches back through all of them", "[transfer]") {
  CompiledZone a(head + "records: |\n  ns1 IN A 192.0.2.53\n  www IN A 192.0.2.80\n");
  CompiledZone b(head + "records: |\n  ns1 IN A 192.0.2.53\n  www IN A 192.0.2.81\n");
  ZoneJournal j;
  const ZoneRecords* last = nullptr;
  for (uint32_t serial = 1; serial <= 140; ++serial) {
    const ZoneRecords& now = with_serial(serial % 2 ? a : b, serial);
    const std::optional<RecordDelta> delta = last ? zone_delta(*last, now) : std::nullopt;
    j.record(now, delta ? &*delta : nullptr);
    last = &now;
  }
  CHECK(j.size() == ZoneJournal::max_changes);
  CHECK_FALSE(j.since(11));
  const auto all = j.since(140 - ZoneJournal::max_changes);
  REQUIRE(all);
  CHECK(all->size() == ZoneJournal::max_changes);
  CHECK(all->back()->to == 140);
  for (size_t i = 1; i < all->size(); ++i) CHECK(all->at(i)->from == all->at(i - 1)->to);
}

TEST_CASE("a record's wire form is what ldns writes, with the TTL asked for", "[transfer]") {
  for (const char* text : {"www.Lab.example.com. 30 IN A 192.0.2.80", "v6.lab.example.com. 30 IN AAAA 2001:db8::1",
                           "_etcd-server-ssl._tcp.lab.example.com. 60 IN SRV 0 0 2380 M1.lab.example.com.",
                           "lab.example.com. 60 IN MX 10 mail.example.org.", "t.lab.example.com. 60 IN TXT \"a b\" \"\" \"c\"",
                           "lab.example.com. 3600 IN SOA ns1.lab.example.com. h.example.org. 7 3600 600 86400 30",
                           "a.lab.example.com. 60 IN CNAME b.lab.example.com.", "x.lab.example.com. 60 CH TXT \"chaos\"",
                           "4.2.0.192.in-addr.arpa. 60 IN PTR m1.lab.example.com.", "o.lab.example.com. 60 IN TYPE65400 \\# 3 010203"}) {
    ldns_rr* parsed = nullptr;
    REQUIRE(ldns_rr_new_frm_str(&parsed, text, 0, nullptr, nullptr) == LDNS_STATUS_OK);
    const RrPtr rr(parsed);
    const RrPtr copy(ldns_rr_clone(rr.get()));
    ldns_rr_set_ttl(copy.get(), 1234);
    uint8_t* wire = nullptr;
    size_t size = 0;
    REQUIRE(ldns_rr2wire(&wire, copy.get(), LDNS_SECTION_ANSWER, &size) == LDNS_STATUS_OK);
    const std::string expected(reinterpret_cast<const char*>(wire), size);
    free(wire);
    INFO(text);
    CHECK(rr_wire(rr.get(), 1234) == expected);
    // The zone's own form of a record: the same bytes, read back from them, printed as ldns prints it.
    const Rr held = Rr::from_ldns(rr.get());
    REQUIRE(held);
    CHECK(held.wire(1234) == expected);
    CHECK(Rr::from_wire(expected).wire(1234) == expected);
    CHECK(rr_text(held) == take_ldns_string(ldns_rr2str(rr.get())));
    CHECK(held.ttl() == ldns_rr_ttl(rr.get()));
  }
}

TEST_CASE("a record held in wire form: its targets, an SOA's serial, what is not a record", "[transfer]") {
  const Rr srv = Rr::from_text("_etcd-server-ssl._tcp.lab.example.com. 60 IN SRV 0 0 2380 M1.Lab.example.com.");
  REQUIRE(srv);
  CHECK(srv.additional_target() == dnsd::wire_name("M1.Lab.example.com."));  // case kept
  CHECK(srv.owner() == dnsd::wire_name("_etcd-server-ssl._tcp.lab.example.com."));
  CHECK(Rr::from_text("lab.example.com. 60 IN MX 10 mail.example.org.").additional_target() == dnsd::wire_name("mail.example.org."));
  CHECK(Rr::from_text("lab.example.com. 60 IN NS ns1.example.org.").additional_target().size() == 17);
  CHECK(Rr::from_text("a.lab.example.com. 60 IN CNAME b.lab.example.com.").additional_target().empty());
  CHECK(Rr::from_text("a.lab.example.com. 60 IN CNAME b.lab.example.com.").rdata_name(0) == dnsd::wire_name("b.lab.example.com."));
  const Rr soa = Rr::from_text("lab.example.com. 3600 IN SOA ns1.lab.example.com. h.example.org. 7 3600 600 86400 30");
  CHECK(soa.soa_serial() == 7);
  const Rr next = soa.with_soa_serial(4000000000u);
  CHECK(next.soa_serial() == 4000000000u);
  CHECK(soa.soa_serial() == 7);  // a copy
  CHECK_THAT(rr_text(next), Catch::Contains(" 4000000000 3600 600 86400 30"));
  CHECK(srv.soa_serial() == 0);
  Rr copy = srv;
  copy.set_ttl(5);
  CHECK(copy.ttl() == 5);
  CHECK(srv.ttl() == 60);
  // Not records: a truncated one, one with bytes after it, an owner that is not a name.
  const std::string w = srv.wire(60);
  CHECK_FALSE(Rr::from_wire(w.substr(0, w.size() - 1)));
  CHECK_FALSE(Rr::from_wire(w + "x"));
  CHECK_FALSE(Rr::from_wire(std::string("\100abc", 4) + w));
  CHECK_FALSE(Rr::from_text("not a record"));
  CHECK_FALSE(Rr::make(std::string_view("\3ab", 3), 1, 1, 60, {}));
}

TEST_CASE("records made together: the same bytes as records made alone, one owner held once", "[transfer]") {
  const std::string owner = dnsd::wire_name("_etcd-client._tcp.Lab.example.com.");
  const std::string other = dnsd::wire_name("_etcd-client._tcp.lab.example.com.");  // another spelling: its own
  std::vector<std::string> rdatas;
  for (int i = 0; i < 3; ++i) rdatas.push_back(std::string("\0\0\0\0\x09\x53", 6) + dnsd::wire_name("m" + std::to_string(i) + ".lab.example.com."));
  const auto bytes = [](const std::string& r) { return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(r.data()), r.size()); };
  dnsd::RrBatch batch;
  std::vector<Rr> alone;
  for (const std::string* o : {&owner, &owner, &other, &owner}) {
    const std::string& r = rdatas[alone.size() % rdatas.size()];
    REQUIRE(batch.add(*o, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, 60, bytes(r)));
    alone.push_back(Rr::make(*o, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, 60, bytes(r)));
  }
  CHECK_FALSE(batch.add(std::string_view("\3ab", 3), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 60, {}));  // not a name: not added
  std::vector<Rr> made = batch.take();
  REQUIRE(made.size() == alone.size());
  CHECK(batch.take().empty());
  for (size_t i = 0; i < made.size(); ++i) {
    INFO(i);
    CHECK(made[i].wire(30) == alone[i].wire(30));
    CHECK(rr_text(made[i]) == rr_text(alone[i]));
    CHECK(made[i].additional_target() == alone[i].additional_target());
  }
  CHECK(made[1].owner().data() == made[0].owner().data());  // the one before it: held once
  CHECK(made[2].owner() == other);
  CHECK(made[3].owner().data() != made[0].owner().data());  // not the one before it
  // A copy shares the bytes and outlives the others; a changed TTL makes a record of its own.
  Rr copy = made[1];
  CHECK(copy.owner().data() == made[1].owner().data());
  copy.set_ttl(5);
  CHECK(copy.ttl() == 5);
  CHECK(made[1].ttl() == 60);
  Rr kept = made[1];
  made.clear();  // the block stays while a record in it does (the ASan build checks)
  CHECK(kept.wire(60) == alone[1].wire(60));
  Rr moved = std::move(kept);
  CHECK_FALSE(kept);
  moved = Rr();
  CHECK_FALSE(moved);
  // From ldns, as Rr::from_ldns reads it.
  for (const char* text : {"lab.example.com. 300 IN TXT \"a\" \"b c\"", "lab.example.com. 60 IN MX 10 mail.example.org."}) {
    ldns_rr* parsed = nullptr;
    REQUIRE(ldns_rr_new_frm_str(&parsed, text, 0, nullptr, nullptr) == LDNS_STATUS_OK);
    const RrPtr rr(parsed);
    REQUIRE(batch.add(rr.get()));
    const std::vector<Rr> one = batch.take();
    REQUIRE(one.size() == 1);
    CHECK(rr_text(one[0]) == rr_text(Rr::from_ldns(rr.get())));
  }
  // Blocks hold up to 64 KiB: many records fill several, and each is still whole.
  for (int i = 0; i < 3000; ++i) REQUIRE(batch.add(owner, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, 60, bytes(rdatas[0])));
  const std::vector<Rr> many = batch.take();
  REQUIRE(many.size() == 3000);
  for (const Rr& r : many) CHECK(r.wire(60) == alone[0].wire(60));
}
