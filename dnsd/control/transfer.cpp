// Zone transfers out (see transfer.hpp).
#include "transfer.hpp"

#include <arpa/inet.h>

#include <ctime>
#include <stdexcept>

#include "ldns.hpp"
#include "log.hpp"
#include "names.hpp"
#include "packer.hpp"
#include "state_store.hpp"

namespace dnsd {

namespace {

// Room left in each 64 KiB message for the TSIG RR that signs it.
constexpr size_t tsig_room = 1024;

// Writes the records of a transfer into as many messages as they need (RFC 5936 §2.2): the question
// in the first only, the header copied from the request (ID, opcode, RD) with QR and AA.
class TransferWriter {
 public:
  TransferWriter(const std::vector<uint8_t>& request, const QueryView& q) : q_(q) {
    const std::string qname(reinterpret_cast<const char*>(request.data()) + header_size, q.qname_len);
    packer_ = Packer(qname, q.qtype, q.qclass);
  }

  void add(const Rr& rr, uint32_t ttl) {
    const size_t mark = packer_.size();
    packer_.rr(rr, ttl);
    if (packer_.size() + tsig_room <= max_message) return ++count_, void();
    packer_.truncate(mark);
    if (count_ == 0) throw std::runtime_error("a record too large for a transfer message");
    flush();
    add(rr, ttl);
  }

  void add_wire(const std::string& wire) {
    const Rr rr = Rr::from_wire(wire);
    if (!rr) throw std::runtime_error("a journal record does not read back");
    add(rr, rr.ttl());
  }

  std::vector<std::vector<uint8_t>> finish() {
    flush();
    return std::move(messages_);
  }

 private:
  void flush() {
    std::vector<uint8_t>& m = packer_.bytes();
    put16(m.data(), q_.id);
    m[2] = uint8_t(0x80 | (q_.opcode << 3) | 0x04 | (q_.rd ? 0x01 : 0));  // QR, AA
    m[3] = 0;
    put16(m.data() + 6, uint16_t(count_));
    messages_.push_back(std::move(m));
    packer_ = Packer();
    count_ = 0;
  }

  const QueryView& q_;
  Packer packer_;
  size_t count_ = 0;
  std::vector<std::vector<uint8_t>> messages_;
};

// The serial an IXFR request holds: the SOA in its authority section (RFC 1995 §3).
std::optional<uint32_t> ixfr_serial(const std::vector<uint8_t>& request) {
  ldns_pkt* parsed = nullptr;
  if (ldns_wire2pkt(&parsed, request.data(), request.size()) != LDNS_STATUS_OK) return std::nullopt;
  const PktPtr pkt(parsed);
  const ldns_rr_list* auth = ldns_pkt_authority(pkt.get());
  if (!auth || ldns_rr_list_rr_count(auth) != 1) return std::nullopt;
  const ldns_rr* soa = ldns_rr_list_rr(auth, 0);
  if (ldns_rr_get_type(soa) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(soa) < 3) return std::nullopt;
  return ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
}

// Transfer refusals (any source can ask): at most 20 log lines a second.
LogBudget refusals_logged("transfer", 20);

}  // namespace

TransferService::TransferService(ZoneState& zones) : zones_(zones) {
  zones_.on_publish([this](const std::vector<ZoneRecords>& served, const ZoneState::Deltas& deltas) { on_publish(served, deltas); });
}

void TransferService::on_publish(const std::vector<ZoneRecords>& zones, const ZoneState::Deltas& deltas) {
  for (size_t i = 0; i < zones.size(); ++i) {
    const ZoneRecords& zr = zones[i];
    const std::string zk = name_key(zr.apex);
    if (!zr.transfers) {
      journals_.erase(zk);
      continue;
    }
    journals_[zk].record(zr, i < deltas.size() && deltas[i] ? &*deltas[i] : nullptr);
  }
}

std::vector<std::vector<uint8_t>> TransferService::answer(const std::vector<uint8_t>& request, const QueryView& q,
                                                          std::string_view source, const TsigKey* signed_with,
                                                          Transport transport) {
  const ZoneConfig* zone = zones_.zone_config({reinterpret_cast<const char*>(q.lname), q.qname_len});
  const ZoneRecords* served = zone ? zones_.served(name_key(zone->zone)) : nullptr;
  const char* type = q.qtype == rr_type::axfr ? "axfr" : "ixfr";
  const std::string zk = zone ? name_key(zone->zone) : "";
  auto count = [&](const std::string& kind, const char* result) {
    if (zone) ++counts_["zone=\"" + zk + "\",type=\"" + kind + "\",result=\"" + result + "\""];
  };
  if (!zone || !served || served->records.empty() || q.qclass != class_in) return {empty_reply(request, q, rcode::refused, false)};
  // AXFR is TCP only (RFC 5936 §4.2): a signed one over UDP reaches here, and gets no data either.
  if (q.qtype == rr_type::axfr && transport == Transport::udp) return {empty_reply(request, q, rcode::notimp, false)};

  // transfer.allow: any rule that matches allows (a rule's key must have signed the request).
  const std::string* key = signed_with ? &signed_with->name : nullptr;
  const auto* bytes = reinterpret_cast<const uint8_t*>(source.data());
  bool allowed = false;
  for (const TransferRule& rule : zone->transfer_allow) allowed = allowed || rule.matches(bytes, source.size(), key);
  if (!allowed) {
    count(type, "refused");
    if (refusals_logged.allow())
      spdlog::warn("transfer: {} {} from {} refused ({})", type, zk, address_text(source),
                   key ? "key " + *key + " is not allowed" : "unsigned, no rule for this address");
    return {empty_reply(request, q, rcode::refused, false)};
  }

  const std::vector<uint32_t> ttls = served_ttls(*served);
  const Rr& soa = served->records[0].rr;
  const uint32_t current = soa.soa_serial();
  TransferWriter out(request, q);
  if (q.qtype == rr_type::ixfr) {
    const std::optional<uint32_t> have = ixfr_serial(request);
    if (!have) {
      count(type, "formerr");
      return {empty_reply(request, q, rcode::formerr, false)};
    }
    // Up to date (or newer), or asked over UDP: the SOA alone (RFC 1995 §2, §4); over UDP the
    // secondary then asks again over TCP.
    if (*have == current || serial_greater(*have, current) || transport == Transport::udp) {
      out.add(soa, ttls[0]);
      count("ixfr-soa", "ok");
      return out.finish();
    }
    const auto it = journals_.find(zk);
    const auto changes = it == journals_.end() ? std::nullopt : it->second.since(*have);
    if (changes && it->second.serial() == current) {
      // RFC 1995 §4: the new SOA; per change the old SOA, what it removed, the new SOA, what it added;
      // the new SOA again.
      out.add(soa, ttls[0]);
      for (const ZoneJournal::Change* c : *changes) {
        out.add_wire(c->soa_from);
        for (const std::string& rr : c->removed) out.add_wire(rr);
        out.add_wire(c->soa_to);
        for (const std::string& rr : c->added) out.add_wire(rr);
      }
      out.add(soa, ttls[0]);
      count("ixfr", "ok");
      spdlog::info("transfer: ixfr {} {} -> {} ({} change(s)) to {}", zk, *have, current, changes->size(), address_text(source));
      return out.finish();
    }
    type = "ixfr-axfr";  // the journal does not reach back: the whole zone, AXFR-style
  }
  // RFC 5936 §2.2: the SOA, every other record, the SOA again.
  for (size_t i = 0; i < served->records.size(); ++i) out.add(served->records[i].rr, ttls[i]);
  out.add(soa, ttls[0]);
  std::vector<std::vector<uint8_t>> messages = out.finish();
  count(type, "ok");
  spdlog::info("transfer: {} {} serial {} ({} records, {} message(s)) to {}", type, zk, current, served->records.size() + 1,
               messages.size(), address_text(source));
  return messages;
}

std::string TransferService::metrics() const {
  std::string out = "# HELP dnsd_transfers_out_total Zone transfers answered, by zone, type (axfr; ixfr; ixfr-axfr: the whole zone; ixfr-soa: the SOA alone) and result.\n"
                    "# TYPE dnsd_transfers_out_total counter\n";
  for (const auto& [labels, n] : counts_) out += "dnsd_transfers_out_total{" + labels + "} " + std::to_string(n) + "\n";
  out += "# HELP dnsd_journal_changes Changes held in each zone's IXFR journal.\n# TYPE dnsd_journal_changes gauge\n";
  for (const auto& [zone, j] : journals_) out += "dnsd_journal_changes{zone=\"" + zone + "\"} " + std::to_string(j.size()) + "\n";
  return out;
}

}  // namespace dnsd
