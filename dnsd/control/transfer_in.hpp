// Reading what a primary sends a secondary: the reply to an SOA query, an AXFR (RFC 5936) or an IXFR
// (RFC 1995), message by message, as untrusted input: every message must answer our request (ID,
// question, QR, rcode), be signed when we signed (tsig.hpp TsigReplyCheck), stay within the copy's
// limits (zone_copy.hpp), and follow the transfer's shape; anything else fails the transfer and the
// copy held is kept. No I/O here (the secondary service feeds it; the fuzz target too).
// Control plane: control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ldns.hpp"
#include "tsig.hpp"
#include "zone_copy.hpp"

namespace dnsd {

class TransferReader {
 public:
  enum class Kind { soa, axfr, ixfr };
  enum class State { more, done, failed };
  enum class Outcome { none, up_to_date, whole, incremental };

  // apex: the zone (absolute); id: our request's ID; ours: the serial held (IXFR, and SOA queries
  // to say whether the primary is newer); tsig: set when the request was signed.
  TransferReader(std::string apex, Kind kind, uint16_t id, uint32_t ours, std::optional<TsigReplyCheck> tsig);

  // One whole message (without its TCP length). After done or failed, further messages fail.
  State feed(const uint8_t* msg, size_t len, uint64_t now);

  const std::string& error() const noexcept { return error_; }
  // An IXFR the primary does not do (NOTIMP, FORMERR, a refusal of IXFR alone): try AXFR.
  bool fall_back_to_axfr() const noexcept { return fall_back_; }
  uint32_t serial() const noexcept { return serial_; }  // the primary's (from its first SOA)
  Outcome outcome() const noexcept { return outcome_; }
  // whole: every record, the SOA first; incremental: the changes in order.
  std::vector<RrPtr>& records() noexcept { return records_; }
  std::vector<CopyChange>& changes() noexcept { return changes_; }
  size_t messages() const noexcept { return messages_; }
  size_t bytes() const noexcept { return bytes_; }

 private:
  State fail(std::string why);
  State take(RrPtr rr);  // one answer record, in order

  std::string apex_;  // lower-case wire
  Kind kind_;
  uint16_t id_;
  uint32_t ours_;
  std::optional<TsigReplyCheck> tsig_;
  State state_ = State::more;
  std::string error_;
  bool fall_back_ = false;
  uint32_t serial_ = 0;
  Outcome outcome_ = Outcome::none;
  size_t messages_ = 0, bytes_ = 0, rrs_ = 0;
  RrPtr first_soa_;
  std::vector<RrPtr> records_;
  std::vector<CopyChange> changes_;
  enum class Phase { first, second, whole, removed, added } phase_ = Phase::first;
};

}  // namespace dnsd
