// The UPDATE and TSIG service (see update_service.hpp).
#include "update_service.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "ldns.hpp"
#include "log.hpp"
#include "names.hpp"
#include "packer.hpp"
#include "server.hpp"
#include "update.hpp"

namespace dnsd {

namespace {

const char* rcode_text(uint8_t rc) {
  const char* name = rcode_name(rc);
  return name ? name : "OTHER";
}


// Refusals of forged or unauthorised UPDATEs: at most 20 log lines a second.
LogBudget update_log("update", 20);

const char* tsig_error_text(uint16_t error) {
  switch (error) {
    case tsig_error::badkey: return "unknown key or algorithm";
    case tsig_error::badsig: return "bad signature";
    case tsig_error::badtime: return "time outside the fudge";
    default: return "truncated MAC";
  }
}

}  // namespace

UpdateService::UpdateService(event_base* base, Mailbox<Handoff>& mailbox, ZoneState& zones, TransferService& transfers,
                             SecondaryService& secondaries)
    : mailbox_(mailbox), zones_(zones), transfers_(transfers), secondaries_(secondaries) {
  event_.reset(event_new(
      base, mailbox_.fd(), EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* self) { static_cast<UpdateService*>(self)->on_mailbox(); }, this));
  if (!event_ || event_add(event_.get(), nullptr) != 0) throw std::runtime_error("cannot register the handoff mailbox");
}

void UpdateService::on_mailbox() {
  for (Handoff& h : mailbox_.take()) {
    std::vector<std::vector<uint8_t>> replies;
    try {
      replies = answer(h.message, h.transport, h.source);
    } catch (const std::exception& e) {
      spdlog::error("update: {}", e.what());
    }
    // Over TCP the connection waits for an answer to each message it handed over (a half-closed
    // client is kept until then): it is told even when there is nothing to send.
    if (h.transport == Transport::tcp) h.worker->post_tcp_reply({h.connection, std::move(replies)});
    else
      for (const std::vector<uint8_t>& reply : replies) send_udp_reply(h, reply.data(), reply.size());
  }
}

std::vector<std::vector<uint8_t>> UpdateService::answer(const std::vector<uint8_t>& msg, Transport transport,
                                                        std::string_view source) {
  QueryView q;
  if (parse_query(msg.data(), msg.size(), q) != ParseResult::ok) return {};  // the worker answered those
  const uint64_t now = uint64_t(std::time(nullptr));
  TsigRecord tsig;
  const TsigKey* key = nullptr;
  if (q.tsig_offset) {
    std::optional<TsigRecord> read = read_tsig(msg.data(), msg.size(), q.tsig_offset, q.tsig_end);
    if (!read) return {empty_reply(msg, q, rcode::formerr, q.edns)};
    tsig = std::move(*read);
    const TsigVerdict verdict = tsig_verify(zones_.config().tsig_keys, msg.data(), tsig, now);
    const TsigCheck check = verdict.check;
    key = verdict.key;
    // The same signed message again (a retransmission, or a replay): the first answer, not applied twice.
    if (check == TsigCheck::ok)
      if (const std::vector<uint8_t>* prior = replays_.find(tsig.key, tsig.mac, now)) {
        ++replays_answered_;
        return {*prior};
      }
    if (check != TsigCheck::ok) {
      ++tsig_failures_;
      const uint16_t error = check == TsigCheck::badkey    ? tsig_error::badkey
                             : check == TsigCheck::badsig  ? tsig_error::badsig
                             : check == TsigCheck::badtime ? tsig_error::badtime
                                                           : tsig_error::badtrunc;
      if (update_log.allow())
        spdlog::warn("tsig: {} message refused: {}", q.opcode == opcode_update ? "UPDATE" : "signed", tsig_error_text(error));
      std::vector<uint8_t> reply = empty_reply(msg, q, rcode::notauth, q.edns);
      tsig_append(reply, key, tsig, error, now);  // key is null for BADKEY and BADSIG: unsigned
      return {reply};
    }
  }
  // A copy: an UPDATE replaces the config, and the key it was verified with must sign the reply.
  std::optional<TsigKey> signer;
  if (key) signer = *key;
  key = signer ? &*signer : nullptr;
  // The message as it was signed: without its TSIG RR.
  std::vector<uint8_t> body(msg.begin(), msg.begin() + long(q.tsig_offset ? q.tsig_offset : msg.size()));
  if (q.tsig_offset) put16(body.data() + 10, uint16_t(get16(body.data() + 10) - 1));

  // A zone transfer: many messages, each signed, the first over the request's MAC and each later one
  // over the one before (RFC 8945 §5.3.1). Not kept for replays (a transfer repeated is harmless).
  if (q.opcode == 0 && (q.qtype == rr_type::axfr || q.qtype == rr_type::ixfr)) {
    std::vector<std::vector<uint8_t>> messages = transfers_.answer(body, q, source, key, transport);
    if (key) {
      std::string mac = tsig_append(messages.at(0), key, tsig, 0, now);
      for (size_t i = 1; i < messages.size(); ++i) mac = tsig_append_next(messages[i], *key, tsig, mac, now);
    }
    return messages;
  }
  std::vector<uint8_t> reply;
  if (q.opcode == 0) {
    // A signed query: answered from the snapshot like any other, then signed (RFC 8945 §5.3).
    const size_t limit = transport == Transport::tcp ? max_message
                         : q.edns ? std::clamp<size_t>(q.edns_payload, udp_plain_limit, our_edns_payload)
                                  : udp_plain_limit;
    const size_t tsig_size = tsig.key.size() + tsig.algorithm.size() + 10 + 16 + EVP_MAX_MD_SIZE;
    reply.resize(max_message);
    const auto snap = zones_.snapshot();
    const Processed p = query_process(snap.get(), body.data(), body.size(), reply.data(),
                                      transport == Transport::tcp ? max_message : our_edns_payload, transport, counters_);
    reply.resize(p.verdict == Verdict::reply ? p.size : 0);
    if (!reply.empty() && reply.size() + tsig_size > limit) {
      // No room for the signature: the header and question only, with TC (RFC 8945 §5.3).
      reply = empty_reply(body, q, uint8_t(reply[3] & 0x0F), q.edns);
      reply[2] |= 0x04 | 0x02;  // AA, TC
    }
  } else if (q.opcode == opcode_update) {
    const uint8_t rc = update(body, q, key, source);
    ++results_[rcode_text(rc)];
    reply = empty_reply(body, q, rc, q.edns);
  } else if (q.opcode == opcode_notify) {
    // RFC 1996 §4.7: the reply echoes the question, with AA.
    reply = empty_reply(body, q, secondaries_.notify(q, source, key), q.edns);
    reply[2] |= 0x04;
  } else {
    reply = empty_reply(body, q, rcode::notimp, q.edns);
  }
  if (key && !reply.empty()) {
    tsig_append(reply, key, tsig, 0, now);
    replays_.remember(tsig.key, tsig.mac, tsig.time_signed, now, reply);
  }
  if (reply.empty()) return {};
  return {reply};
}

uint8_t UpdateService::update(const std::vector<uint8_t>& msg, const QueryView& q, const TsigKey* key,
                              std::string_view source) {
  // The zone section: one SOA "question" naming a zone we serve (RFC 2136 §3.1).
  if (q.qtype != rr_type::soa || q.qclass != class_in) return rcode::formerr;
  const ZoneConfig* zone = zones_.zone_config({reinterpret_cast<const char*>(q.lname), q.qname_len});
  const ZoneRecords* served = zone ? zones_.served(name_key(zone->zone)) : nullptr;
  if (!zone || !served) return rcode_update::notauth;
  const std::string zk = name_key(zone->zone);
  const std::string who = (key ? "key " + key->name : std::string("an unsigned message")) + " from " + address_text(source);
  if (zone->update_keys.empty() || !key ||
      std::find(zone->update_keys.begin(), zone->update_keys.end(), key->name) == zone->update_keys.end()) {
    if (update_log.allow())
      spdlog::warn("update: {} refused for {}: {}", zk, who,
                   zone->update_keys.empty() ? "the zone takes no updates" : "not one of the zone's update keys");
    return rcode::refused;
  }
  ldns_pkt* parsed = nullptr;
  if (ldns_wire2pkt(&parsed, msg.data(), msg.size()) != LDNS_STATUS_OK) return rcode::formerr;
  const PktPtr pkt(parsed);
  const auto current = zones_.registry().records.find(zk);
  const UpdateResult result = apply_update(
      pkt.get(), *served, current == zones_.registry().records.end() ? std::vector<std::string>{} : current->second);
  if (result.rcode != rcode::noerror) {
    // An RR's text form has tabs between fields: one space each in a log line.
    std::string why = result.why;
    std::replace(why.begin(), why.end(), '\t', ' ');
    if (update_log.allow()) spdlog::info("update: {} by {}: {} ({})", zk, who, rcode_text(result.rcode), why);
    return result.rcode;
  }
  if (!result.changed) return rcode::noerror;
  if (Result<void> done = zones_.set_update_records(zk, result.records); !done) {
    spdlog::warn("update: {} by {} not applied: {}", zk, who, done.error().message);
    return done.error().kind == ErrorKind::rejected ? rcode::refused : rcode::servfail;
  }
  spdlog::info("update: {} changed by {}; {} UPDATE record(s) in the zone", zk, who, result.records.size());
  return rcode::noerror;
}

std::string UpdateService::metrics() const {
  std::string out = "# HELP dnsd_updates_total DNS UPDATE messages answered, by rcode.\n# TYPE dnsd_updates_total counter\n";
  for (const auto& [rc, n] : results_) out += "dnsd_updates_total{rcode=\"" + rc + "\"} " + std::to_string(n) + "\n";
  out += "# HELP dnsd_tsig_failures_total Signed messages rejected (BADKEY, BADSIG, BADTIME, BADTRUNC).\n"
         "# TYPE dnsd_tsig_failures_total counter\n";
  out += "dnsd_tsig_failures_total " + std::to_string(tsig_failures_) + "\n";
  out += "# HELP dnsd_tsig_replays_total Signed messages seen again (retransmitted or replayed): answered as the first time, not applied again.\n"
         "# TYPE dnsd_tsig_replays_total counter\n";
  out += "dnsd_tsig_replays_total " + std::to_string(replays_answered_) + "\n";
  return out;
}

}  // namespace dnsd
