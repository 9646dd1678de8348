// The message writer's name compression (dnsd/control/packer.hpp), against a reference: the plain
// algorithm it replaced (a map from every suffix written in full, lower case, to its offset).
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "ldns.hpp"
#include "names.hpp"
#include "packer.hpp"
#include "wire.hpp"

using namespace dnsd;

namespace {

// The reference writer: the same records, the same rules, its compression targets in a std::map.
class ReferencePacker {
 public:
  explicit ReferencePacker(const std::string& qname) : buf_(header_size) {
    name(reinterpret_cast<const uint8_t*>(qname.data()), qname.size(), false);
    for (int i = 0; i < 4; ++i) buf_.push_back(0);  // qtype and qclass 0
    put16(buf_.data() + 4, 1);
  }
  void rr(const ldns_rr* rr, uint32_t ttl) {
    const ldns_rdf* owner = ldns_rr_owner(rr);
    name(ldns_rdf_data(owner), ldns_rdf_size(owner), true);
    uint8_t fixed[10];
    put16(fixed, uint16_t(ldns_rr_get_type(rr)));
    put16(fixed + 2, uint16_t(ldns_rr_get_class(rr)));
    put32(fixed + 4, ttl);
    buf_.insert(buf_.end(), fixed, fixed + sizeof fixed);
    const size_t rdlen_at = buf_.size() - 2;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
      const ldns_rdf* f = ldns_rr_rdf(rr, i);
      if (ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME) name(ldns_rdf_data(f), ldns_rdf_size(f), compressible_rdata(ldns_rr_get_type(rr)));
      else buf_.insert(buf_.end(), ldns_rdf_data(f), ldns_rdf_data(f) + ldns_rdf_size(f));
    }
    put16(buf_.data() + rdlen_at, uint16_t(buf_.size() - rdlen_at - 2));
  }
  void truncate(size_t size) {
    buf_.resize(size);
    for (auto it = targets_.begin(); it != targets_.end();) it = it->second >= size ? targets_.erase(it) : std::next(it);
  }
  const std::vector<uint8_t>& bytes() const { return buf_; }

 private:
  void name(const uint8_t* wire, size_t len, bool compress) {
    const std::string lower = fold_wire({reinterpret_cast<const char*>(wire), len});
    for (size_t i = 0; i < len && wire[i] != 0; i += size_t(wire[i]) + 1) {
      if (compress)
        if (auto it = targets_.find(lower.substr(i)); it != targets_.end()) {
          buf_.push_back(uint8_t(0xC0 | (it->second >> 8)));
          buf_.push_back(uint8_t(it->second));
          return;
        }
      if (buf_.size() < 0x3FFF) targets_.emplace(lower.substr(i), uint16_t(buf_.size()));
      buf_.insert(buf_.end(), wire + i, wire + i + wire[i] + 1);
    }
    buf_.push_back(0);
  }
  std::vector<uint8_t> buf_;
  std::map<std::string, uint16_t> targets_;
};

}  // namespace

TEST_CASE("the packer compresses names exactly as a map of every suffix would, for random records", "[packer]") {
  std::mt19937 rng(20261203);
  const std::vector<std::string> labels{"a", "B", "www", "Lab", "lab", "example", "EXAMPLE", "com", "org", "_tcp", "_etcd-server-ssl", "m1", "xn--d1acj3b"};
  const auto random_name = [&] {
    std::string n;
    for (size_t depth = 1 + rng() % 5; depth > 0; --depth) n += labels[rng() % labels.size()] + ".";
    return n;
  };
  const std::vector<std::string> shapes{"A 192.0.2.1", "NS %", "CNAME %", "MX 10 %", "SRV 0 0 2379 %", "PTR %", "TXT \"x\"",
                                        "SOA % % 1 2 3 4 5", "AAAA 2001:db8::1", "DNAME %"};
  size_t compressed = 0;
  Packer reused;  // half the rounds reset it (the question's suffixes become targets late: see below)
  for (int round = 0; round < 40; ++round) {
    const std::string qtext = random_name();
    const std::string qname = wire_name(qtext);
    Packer fresh(qname);
    if (round % 2) reused.reset(qname);
    Packer& packer = round % 2 ? reused : fresh;
    ReferencePacker reference(qname);
    // Up to 3,000 records: past the 0x3FFF bytes a pointer can reach, and the table grows many times.
    const size_t records = round % 4 == 0 ? 3000 : 1 + rng() % 60;
    for (size_t i = 0; i < records; ++i) {
      std::string rdata = shapes[rng() % shapes.size()];
      for (size_t at; (at = rdata.find('%')) != std::string::npos;) rdata.replace(at, 1, random_name());
      // Owners that are the question (a pointer to it, before or after any name written in full).
      const std::string text = (rng() % 3 == 0 ? qtext : random_name()) + " 60 IN " + rdata;
      ldns_rr* parsed = nullptr;
      REQUIRE(ldns_rr_new_frm_str(&parsed, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
      const RrPtr rr(parsed);
      const size_t size = packer.size();
      packer.rr(Rr::from_ldns(rr.get()), 60);
      reference.rr(rr.get(), 60);
      if (rng() % 17 == 0) {  // an RR that did not fit: taken back, its targets too
        packer.truncate(size);
        reference.truncate(size);
      }
    }
    INFO("round " << round << ", " << records << " records");
    REQUIRE(packer.bytes().size() == reference.bytes().size());
    CHECK(packer.bytes() == reference.bytes());
    for (size_t i = header_size; i + 1 < packer.bytes().size(); ++i) compressed += (packer.bytes()[i] & 0xC0) == 0xC0;
  }
  CHECK(compressed > 1000);  // the sequences did compress (and pointers were compared byte for byte)
}
