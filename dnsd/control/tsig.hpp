// TSIG (RFC 8945): verifying signed requests and signing replies with HMAC-SHA256/512 (OpenSSL).
// Control plane: control thread only; the workers hand every signed message over to it.
#pragma once

#include <cstddef>
#include <cstdint>
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
void tsig_append(std::vector<uint8_t>& reply, const TsigKey* key, const TsigRecord& request, uint16_t error,
                 uint64_t now);

// Signs a request (for `dnsd` tests and tools): appends TSIG with the given time and fudge.
void tsig_sign_request(std::vector<uint8_t>& msg, const TsigKey& key, uint64_t time_signed, uint16_t fudge = 300);

}  // namespace dnsd
