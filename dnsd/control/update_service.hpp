// The UPDATE and TSIG service of the control thread: the workers hand every DNS UPDATE and every
// TSIG-signed message over (see handoff.hpp) once TSIG keys are configured; this verifies the
// signature (RFC 8945 §5.2 first: an unverified message is never looked at further), applies UPDATEs
// through the zone state (RFC 2136 §3), answers signed queries from the snapshot, passes zone transfer
// requests (signed or not) to the transfer service and NOTIFYs to the secondary service, and signs replies (every message of a transfer).
// Control plane: control thread only (its event base reads the handoff mailbox).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "counters.hpp"
#include "handoff.hpp"
#include "query.hpp"
#include "raii.hpp"
#include "secondary.hpp"
#include "transfer.hpp"
#include "tsig.hpp"
#include "wire.hpp"
#include "zone_state.hpp"

namespace dnsd {

class UpdateService {
 public:
  // Reads `mailbox` on `base` and sends each reply back the way its message came.
  UpdateService(event_base* base, Mailbox<Handoff>& mailbox, ZoneState& zones, TransferService& transfers,
                SecondaryService& secondaries);
  UpdateService(const UpdateService&) = delete;
  UpdateService& operator=(const UpdateService&) = delete;

  // The replies to one handed-over message from `source` (address bytes), in order: one, or many
  // for a zone transfer; none: send nothing, as for a message the worker would have dropped. Also
  // the entry point of tests and fuzzing.
  std::vector<std::vector<uint8_t>> answer(const std::vector<uint8_t>& message, Transport transport,
                                           std::string_view source = {});
  std::string metrics() const;

 private:
  void on_mailbox();
  // RFC 2136 §3 for a verified UPDATE (key null: unsigned). Returns the rcode.
  uint8_t update(const std::vector<uint8_t>& message, const QueryView& q, const TsigKey* key, std::string_view source);

  Mailbox<Handoff>& mailbox_;
  ZoneState& zones_;
  TransferService& transfers_;
  SecondaryService& secondaries_;
  EventPtr event_;
  Counters counters_;  // signed queries answered here
  std::map<std::string, uint64_t> results_;  // UPDATEs by rcode name
  uint64_t tsig_failures_ = 0;
  TsigReplays replays_;
  uint64_t replays_answered_ = 0;
};

}  // namespace dnsd
