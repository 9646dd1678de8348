// Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995) of the zones with transfer.allow rules,
// answered on the control thread from the published records and each zone's journal (journal.hpp),
// never on a worker (docs/ARCHITECTURE.md, "Zone transfers"). The UPDATE service hands every transfer
// request here after its TSIG check, and signs what comes back.
// Control plane: control thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "journal.hpp"
#include "query.hpp"
#include "wire.hpp"
#include "zone_state.hpp"

namespace dnsd {

class TransferService {
 public:
  // Keeps a journal of every zone with transfer rules from now on (told by `zones` after each publish).
  explicit TransferService(ZoneState& zones);
  TransferService(const TransferService&) = delete;
  TransferService& operator=(const TransferService&) = delete;

  // The messages answering an AXFR or IXFR request (`request` without its TSIG RR; `signed_with` the
  // key it was verified with, or null), from `source` (address bytes), in order and unsigned. One
  // message for a refusal, an error or IXFR over UDP; the whole stream otherwise.
  std::vector<std::vector<uint8_t>> answer(const std::vector<uint8_t>& request, const QueryView& q,
                                           std::string_view source, const TsigKey* signed_with, Transport transport);
  std::string metrics() const;

 private:
  void on_publish(const std::vector<ZoneRecords>& zones, const ZoneState::Deltas& deltas);

  ZoneState& zones_;
  std::map<std::string, ZoneJournal> journals_;  // by name_key
  // Transfers answered, by zone, type (axfr, ixfr, ixfr-axfr: an IXFR answered with the whole zone,
  // ixfr-soa: with the SOA alone) and result (ok, refused, formerr).
  std::map<std::string, uint64_t> counts_;
};

}  // namespace dnsd
