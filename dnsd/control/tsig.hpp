// TSIG (RFC 8945): verifying signed requests and signing replies with HMAC-SHA256/512 (OpenSSL).
// Control plane: control thread only; the workers hand every signed message over to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"

namespace dnsd {

namespace tsig_error {
constexpr uint16_t badsig = 16, badkey = 17, badtime = 18, badtrunc = 22;
}

// The TSIG RR of a message. The message without it is [0, offset) with ARCOUNT one less.
struct TsigRecord {
  size_t offset = 0;
  std::string key;        // owner name, lower-case wire form
  std::string algorithm;  // lower-case wire form
  uint64_t time_signed = 0;
  uint16_t fudge = 0;
  std::string mac;
  uint16_t original_id = 0;
  uint16_t error = 0;
  std::string other;
};

// Reads the TSIG RR spanning [offset, end) of msg (as located by parse_query); nullopt when malformed.
std::optional<TsigRecord> read_tsig(const uint8_t* msg, size_t len, size_t offset, size_t end);

enum class TsigCheck { ok, badkey, badsig, badtime, badtrunc };

// The most clock skew accepted, whatever fudge a signer asks for (RFC 8945 §10 recommends 300 s).
constexpr uint64_t max_fudge_s = 300;

// The signed messages answered lately, by key and MAC, with their replies: the same message again
// within its time window (a retransmission, or a replay of an old "add" after a delete) gets the
// first reply again and is never applied twice. Control thread only.
class TsigReplays {
 public:
  // The reply already sent to this message, or null. Forgets messages whose window (time signed +
  // max_fudge_s) has passed at `now`.
  const std::vector<uint8_t>* find(const std::string& key, const std::string& mac, uint64_t now);
  // Keeps the reply to a verified message (up to `capacity` messages; past that, none is kept).
  void remember(const std::string& key, const std::string& mac, uint64_t time_signed, uint64_t now,
                std::vector<uint8_t> reply);
  size_t size() const noexcept { return seen_.size(); }
  static constexpr size_t capacity = 100000;

 private:
  struct Seen {
    uint64_t forget_after = 0;
    std::vector<uint8_t> reply;
  };
  std::map<std::pair<std::string, std::string>, Seen> seen_;             // (key, MAC) -> reply
  std::multimap<uint64_t, std::pair<std::string, std::string>> expiry_;  // forget after -> (key, MAC)
};

struct TsigVerdict {
  TsigCheck check = TsigCheck::badkey;
  // The key, whenever it is known and the MAC matched: BADTIME and BADTRUNC replies are signed with
  // it; BADKEY and BADSIG ones are not (key null). Points into the `keys` tsig_verify was given.
  const TsigKey* key = nullptr;
};

// RFC 8945 §5.2, in its order: the key (name and algorithm), the MAC, then the time against `now`
// (seconds since the epoch).
TsigVerdict tsig_verify(const std::vector<TsigKey>& keys, const uint8_t* msg, const TsigRecord& t, uint64_t now);

// Appends a TSIG RR to a complete reply and bumps its ARCOUNT. key null: unsigned (empty MAC), as
// BADKEY and BADSIG replies must be; otherwise the MAC covers the request's MAC (RFC 8945 §5.3).
// BADTIME replies carry the request's time and our clock in Other Data (§5.2.3).
// Returns the MAC (empty when unsigned): the next message of a transfer chains on it.
std::string tsig_append(std::vector<uint8_t>& reply, const TsigKey* key, const TsigRecord& request, uint16_t error,
                        uint64_t now);
// Signs a later message of a multi-message reply (a zone transfer): the MAC covers the prior MAC, this
// message and the timers only (RFC 8945 §5.3.1). Returns the MAC for the next one.
std::string tsig_append_next(std::vector<uint8_t>& message, const TsigKey& key, const TsigRecord& request,
                             const std::string& prior_mac, uint64_t now);

// Signs a request (NOTIFY, SOA queries and transfers to primaries, tests): appends TSIG with the given
// time and fudge. Returns the MAC: the replies are signed over it.
std::string tsig_sign_request(std::vector<uint8_t>& msg, const TsigKey& key, uint64_t time_signed, uint16_t fudge = 300);

// Verifies the replies to a request we signed (RFC 8945 §5.3.1, §5.4.1): the first reply must be
// signed, over the request's MAC; each later signed one over the MAC before it, the unsigned
// messages since (at most 99 in a row) and its timers. A transfer must end with a signed message.
class TsigReplyCheck {
 public:
  TsigReplyCheck(const TsigKey& key, std::string request_mac) : key_(key), prior_mac_(std::move(request_mac)) {}
  // One whole reply message. "" when it is accepted, else what is wrong.
  std::string check(const uint8_t* msg, size_t len, uint64_t now);
  bool last_signed() const noexcept { return unsigned_.empty() && messages_ > 0; }

 private:
  TsigKey key_;
  std::string prior_mac_;
  std::string unsigned_;  // the unsigned messages since the last signed one
  size_t unsigned_count_ = 0;
  size_t messages_ = 0;
};

// The TSIG RR of a whole message (the last RR of its additional section), located: [offset, end).
// nullopt when the message has none or cannot be walked.
std::optional<std::pair<size_t, size_t>> locate_tsig(const uint8_t* msg, size_t len);

}  // namespace dnsd
