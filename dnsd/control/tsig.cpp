// TSIG (see tsig.hpp). The MAC input is built exactly as RFC 8945 §4.3 lays it out: [request MAC,]
// the message as it was before the TSIG RR was added, then the TSIG variables with names in canonical
// (lower-case, uncompressed) form.
#include "tsig.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "dname.hpp"
#include "names.hpp"
#include "openssl.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

constexpr uint16_t class_any = 255;

void put48(std::string& out, uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8) out += char(uint8_t(v >> shift));
}
void put16s(std::string& out, uint16_t v) {
  out += char(uint8_t(v >> 8));
  out += char(uint8_t(v));
}

std::string hmac(const TsigKey& key, const std::string& data) {
  const MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  const MacCtxPtr ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  std::string digest = key.algorithm == "hmac-sha512" ? "SHA512" : "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0), OSSL_PARAM_construct_end()};
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t n = 0;
  if (!ctx || !EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.secret.data()), key.secret.size(), params) ||
      !EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) ||
      !EVP_MAC_final(ctx.get(), out, &n, sizeof out))
    throw std::runtime_error("HMAC failed");
  return std::string(reinterpret_cast<const char*>(out), n);
}

// The TSIG variables (RFC 8945 §4.3.3).
std::string variables(const std::string& key, const std::string& algorithm, uint64_t time_signed, uint16_t fudge,
                      uint16_t error, const std::string& other) {
  std::string v = key;
  put16s(v, class_any);
  v.append(4, '\0');  // TTL
  v += algorithm;
  put48(v, time_signed);
  put16s(v, fudge);
  put16s(v, error);
  put16s(v, uint16_t(other.size()));
  return v + other;
}

// The message as it was before its TSIG RR: [0, end) with the given ID and ARCOUNT one less.
std::string unsigned_message(const uint8_t* msg, size_t end, uint16_t id) {
  std::string m(reinterpret_cast<const char*>(msg), end);
  m[0] = char(id >> 8);
  m[1] = char(id);
  const uint16_t ar = get16(msg + 10);
  m[10] = char((ar - 1) >> 8);
  m[11] = char(ar - 1);
  return m;
}

// The TSIG RR itself (RFC 8945 §4.2).
std::string tsig_rr(const std::string& key, const std::string& algorithm, uint64_t time_signed, uint16_t fudge,
                    const std::string& mac, uint16_t original_id, uint16_t error, const std::string& other) {
  std::string rdata = algorithm;
  put48(rdata, time_signed);
  put16s(rdata, fudge);
  put16s(rdata, uint16_t(mac.size()));
  rdata += mac;
  put16s(rdata, original_id);
  put16s(rdata, error);
  put16s(rdata, uint16_t(other.size()));
  rdata += other;
  std::string rr = key;
  put16s(rr, rr_type::tsig);
  put16s(rr, class_any);
  rr.append(4, '\0');
  put16s(rr, uint16_t(rdata.size()));
  return rr + rdata;
}

void append_rr(std::vector<uint8_t>& msg, const std::string& rr) {
  msg.insert(msg.end(), rr.begin(), rr.end());
  put16(msg.data() + 10, uint16_t(get16(msg.data() + 10) + 1));
}

std::string lower_name_at(const uint8_t* msg, size_t len, size_t pos, size_t& wire_len) {
  uint8_t name[max_dname_wire];
  wire_len = parse_dname(msg, len, pos, name);  // no compression: the wire length is the name's
  return std::string(reinterpret_cast<const char*>(name), wire_len);
}

}  // namespace

std::optional<TsigRecord> read_tsig(const uint8_t* msg, size_t len, size_t offset, size_t end) {
  size_t owner_len = 0, alg_len = 0;
  TsigRecord t;
  t.offset = offset;
  t.key = lower_name_at(msg, len, offset, owner_len);
  if (t.key.empty() || end < offset + owner_len + 10) return std::nullopt;
  const size_t rdata = offset + owner_len + 10;
  if (get16(msg + offset + owner_len + 2) != class_any) return std::nullopt;  // RFC 8945 §4.2: class ANY
  if (size_t(get16(msg + offset + owner_len + 8)) != end - rdata) return std::nullopt;
  t.algorithm = lower_name_at(msg, len, rdata, alg_len);
  size_t p = rdata + alg_len;
  if (t.algorithm.empty() || end < p + 10) return std::nullopt;
  for (int i = 0; i < 6; ++i) t.time_signed = t.time_signed << 8 | msg[p + i];
  t.fudge = get16(msg + p + 6);
  const size_t mac_len = get16(msg + p + 8);
  p += 10;
  if (end < p + mac_len + 6) return std::nullopt;
  t.mac.assign(reinterpret_cast<const char*>(msg + p), mac_len);
  p += mac_len;
  t.original_id = get16(msg + p);
  t.error = get16(msg + p + 2);
  const size_t other_len = get16(msg + p + 4);
  p += 6;
  if (end != p + other_len) return std::nullopt;
  t.other.assign(reinterpret_cast<const char*>(msg + p), other_len);
  return t;
}

TsigVerdict tsig_verify(const std::vector<TsigKey>& keys, const uint8_t* msg, const TsigRecord& t, uint64_t now) {
  const TsigKey* key = nullptr;
  for (const TsigKey& k : keys)
    if (wire_name(k.name) == t.key) key = &k;
  if (!key || wire_name(key->algorithm + ".") != t.algorithm) return {TsigCheck::badkey, nullptr};
  const std::string expected = hmac(*key, unsigned_message(msg, t.offset, t.original_id) +
                                               variables(t.key, t.algorithm, t.time_signed, t.fudge, t.error, t.other));
  // RFC 8945 §5.2.2.1: a truncated MAC is allowed down to half the digest (and 10 bytes); we accept
  // only whole MACs, as a policy, and say so with BADTRUNC.
  if (t.mac.size() > expected.size() || t.mac.size() < std::max<size_t>(10, expected.size() / 2))
    return {TsigCheck::badsig, nullptr};
  if (CRYPTO_memcmp(expected.data(), t.mac.data(), t.mac.size()) != 0) return {TsigCheck::badsig, nullptr};
  // The signer chooses the fudge; we accept at most max_fudge_s of it, so that a captured message
  // cannot be replayed for hours (and the replay cache need not keep MACs that long).
  const uint64_t skew = now > t.time_signed ? now - t.time_signed : t.time_signed - now;
  if (skew > std::min<uint64_t>(t.fudge, max_fudge_s)) return {TsigCheck::badtime, key};
  if (t.mac.size() < expected.size()) return {TsigCheck::badtrunc, key};
  return {TsigCheck::ok, key};
}

const std::vector<uint8_t>* TsigReplays::find(const std::string& key, const std::string& mac, uint64_t now) {
  while (!expiry_.empty() && expiry_.begin()->first < now) {
    seen_.erase(expiry_.begin()->second);
    expiry_.erase(expiry_.begin());
  }
  const auto it = seen_.find({key, mac});
  return it == seen_.end() ? nullptr : &it->second.reply;
}

void TsigReplays::remember(const std::string& key, const std::string& mac, uint64_t time_signed, uint64_t now,
                           std::vector<uint8_t> reply) {
  if (seen_.size() >= capacity) return;  // bounded: only key holders can fill it, within 10 minutes
  const uint64_t forget_after = std::max(time_signed, now) + max_fudge_s;
  const auto [it, fresh] = seen_.emplace(std::make_pair(key, mac), Seen{forget_after, std::move(reply)});
  if (fresh) expiry_.emplace(forget_after, it->first);
}

std::string tsig_append(std::vector<uint8_t>& reply, const TsigKey* key, const TsigRecord& request, uint16_t error,
                        uint64_t now) {
  const uint64_t time_signed = error == tsig_error::badtime ? request.time_signed : now;
  const uint16_t fudge = 300;
  std::string other;
  if (error == tsig_error::badtime) put48(other, now);
  std::string mac;
  if (key) {
    std::string data;
    put16s(data, uint16_t(request.mac.size()));
    data += request.mac;
    data.append(reinterpret_cast<const char*>(reply.data()), reply.size());
    mac = hmac(*key, data + variables(request.key, request.algorithm, time_signed, fudge, error, other));
  }
  append_rr(reply, tsig_rr(request.key, request.algorithm, time_signed, fudge, mac, request.original_id, error, other));
  return mac;
}

std::string tsig_append_next(std::vector<uint8_t>& message, const TsigKey& key, const TsigRecord& request,
                             const std::string& prior_mac, uint64_t now) {
  const uint16_t fudge = 300;
  std::string data;
  put16s(data, uint16_t(prior_mac.size()));
  data += prior_mac;
  data.append(reinterpret_cast<const char*>(message.data()), message.size());
  put48(data, now);
  put16s(data, fudge);
  const std::string mac = hmac(key, data);
  append_rr(message, tsig_rr(request.key, request.algorithm, now, fudge, mac, request.original_id, 0, ""));
  return mac;
}

std::string tsig_sign_request(std::vector<uint8_t>& msg, const TsigKey& key, uint64_t time_signed, uint16_t fudge) {
  const std::string name = wire_name(key.name);
  const std::string alg = wire_name(key.algorithm + ".");
  const uint16_t id = get16(msg.data());
  const std::string mac =
      hmac(key, std::string(msg.begin(), msg.end()) + variables(name, alg, time_signed, fudge, 0, ""));
  append_rr(msg, tsig_rr(name, alg, time_signed, fudge, mac, id, 0, ""));
  return mac;
}

std::optional<std::pair<size_t, size_t>> locate_tsig(const uint8_t* msg, size_t len) {
  if (len < header_size) return std::nullopt;
  const size_t qd = get16(msg + 4), rrs = size_t(get16(msg + 6)) + get16(msg + 8) + get16(msg + 10);
  if (get16(msg + 10) == 0) return std::nullopt;
  size_t pos = header_size;
  for (size_t i = 0; i < qd; ++i) {
    const size_t after = skip_dname(msg, len, pos);  // the offset after the name
    if (!after || len - after < 4) return std::nullopt;
    pos = after + 4;
  }
  size_t last = 0, last_type = 0;
  for (size_t i = 0; i < rrs; ++i) {
    last = pos;
    const size_t after = skip_dname(msg, len, pos);
    if (!after || len - after < 10) return std::nullopt;
    const size_t rdlen = get16(msg + after + 8);
    if (len - after - 10 < rdlen) return std::nullopt;
    last_type = get16(msg + after);
    pos = after + 10 + rdlen;
  }
  if (pos != len || last_type != rr_type::tsig) return std::nullopt;
  return std::make_pair(last, len);
}

std::string TsigReplyCheck::check(const uint8_t* msg, size_t len, uint64_t now) {
  ++messages_;
  const auto at = locate_tsig(msg, len);
  if (!at) {
    if (messages_ == 1) return "the reply is not signed";
    if (++unsigned_count_ > 99) return "more than 99 unsigned messages in a row (RFC 8945 §5.3.1)";
    unsigned_.append(reinterpret_cast<const char*>(msg), len);
    return {};
  }
  const std::optional<TsigRecord> t = read_tsig(msg, len, at->first, at->second);
  if (!t) return "a malformed TSIG record";
  if (t->key != wire_name(key_.name) || t->algorithm != wire_name(key_.algorithm + "."))
    return "signed with another key or algorithm";
  if (t->error) return std::string("TSIG error ") + std::to_string(t->error) + " from the server (our key or clock is wrong)";
  std::string data;
  put16s(data, uint16_t(prior_mac_.size()));
  data += prior_mac_ + unsigned_ + unsigned_message(msg, t->offset, t->original_id);
  if (messages_ == 1) data += variables(t->key, t->algorithm, t->time_signed, t->fudge, t->error, t->other);
  else {
    put48(data, t->time_signed);
    put16s(data, t->fudge);
  }
  const std::string expected = hmac(key_, data);
  if (t->mac.size() != expected.size() || CRYPTO_memcmp(expected.data(), t->mac.data(), expected.size()) != 0)
    return "bad signature";
  const uint64_t skew = now > t->time_signed ? now - t->time_signed : t->time_signed - now;
  if (skew > std::min<uint64_t>(t->fudge, max_fudge_s)) return "signature time outside the fudge (clock skew)";
  prior_mac_ = t->mac;
  unsigned_.clear();
  unsigned_count_ = 0;
  return {};
}

}  // namespace dnsd
