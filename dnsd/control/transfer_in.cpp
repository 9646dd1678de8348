// Reading a transfer in (see transfer_in.hpp).
#include "transfer_in.hpp"

#include "names.hpp"
#include "state_store.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

uint32_t soa_serial(const ldns_rr* soa) { return ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)); }

ldns_rr_type expected_qtype(TransferReader::Kind kind) {
  switch (kind) {
    case TransferReader::Kind::soa: return LDNS_RR_TYPE_SOA;
    case TransferReader::Kind::axfr: return LDNS_RR_TYPE_AXFR;
    case TransferReader::Kind::ixfr: return LDNS_RR_TYPE_IXFR;
  }
  return LDNS_RR_TYPE_SOA;
}

}  // namespace

TransferReader::TransferReader(std::string apex, Kind kind, uint16_t id, uint32_t ours, std::optional<TsigReplyCheck> tsig)
    : apex_(lower_wire(apex)), kind_(kind), id_(id), ours_(ours), tsig_(std::move(tsig)) {}

TransferReader::State TransferReader::fail(std::string why) {
  if (state_ != State::failed) error_ = std::move(why);
  state_ = State::failed;
  return state_;
}

TransferReader::State TransferReader::feed(const uint8_t* msg, size_t len, uint64_t now) {
  if (state_ != State::more) return fail("a message after the end of the transfer");
  ++messages_;
  bytes_ += len;
  if (bytes_ > 2 * max_copy_bytes) return fail("more than " + std::to_string(2 * max_copy_bytes >> 20) + " MiB transferred");
  if (len < header_size) return fail("a message shorter than a DNS header");
  if (get16(msg) != id_) return fail("a reply with another ID");
  if (!(msg[2] & 0x80) || (msg[2] >> 3 & 0x0F) != 0) return fail("not a reply to a query");
  if (tsig_)
    if (std::string why = tsig_->check(msg, len, now); !why.empty()) return fail("TSIG: " + why);
  ldns_pkt* parsed = nullptr;
  if (ldns_wire2pkt(&parsed, msg, len) != LDNS_STATUS_OK) {
    ldns_pkt_free(parsed);
    return fail("a malformed message");
  }
  const PktPtr pkt(parsed);
  // Without our key, a signature cannot be checked: a signed reply to an unsigned request is odd.
  if (!tsig_ && ldns_pkt_tsig(pkt.get())) return fail("a signed reply to an unsigned request");
  const uint8_t rc = uint8_t(ldns_pkt_get_rcode(pkt.get()));
  if (rc != rcode::noerror) {
    fall_back_ = kind_ == Kind::ixfr && (rc == rcode::notimp || rc == rcode::formerr);
    const char* name = rcode_name(rc);
    return fail(std::string("the primary answered ") + (name ? name : "rcode " + std::to_string(rc)));
  }
  if (ldns_pkt_tc(pkt.get())) return fail("a truncated reply");
  const ldns_rr_list* question = ldns_pkt_question(pkt.get());
  const size_t qd = question ? ldns_rr_list_rr_count(question) : 0;
  if (qd > 1 || (qd == 0 && messages_ == 1)) return fail("the reply does not carry our question");
  if (qd == 1) {
    const ldns_rr* q = ldns_rr_list_rr(question, 0);
    if (lower_wire(ldns_rr_owner(q)) != apex_ || ldns_rr_get_type(q) != expected_qtype(kind_) ||
        ldns_rr_get_class(q) != LDNS_RR_CLASS_IN)
      return fail("the reply is for another question");
  }
  const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
  const size_t count = answer ? ldns_rr_list_rr_count(answer) : 0;
  if (kind_ == Kind::soa) {
    if (!ldns_pkt_aa(pkt.get())) return fail("the SOA answer is not authoritative (AA clear)");
    for (size_t i = 0; i < count; ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && lower_wire(ldns_rr_owner(rr)) == apex_ && ldns_rr_rd_count(rr) == 7) {
        serial_ = soa_serial(rr);
        outcome_ = serial_greater(serial_, ours_) ? Outcome::whole : Outcome::up_to_date;
        return state_ = State::done;
      }
    }
    return fail("the reply has no SOA for the zone");
  }
  for (size_t i = 0; i < count; ++i) {
    if (state_ != State::more) return fail("records after the end of the transfer");
    if (take(RrPtr(ldns_rr_clone(ldns_rr_list_rr(answer, i)))) == State::failed) return state_;
  }
  if (state_ == State::done && tsig_ && !tsig_->last_signed()) return fail("TSIG: the last message is not signed");
  return state_;
}

TransferReader::State TransferReader::take(RrPtr rr) {
  if (++rrs_ > 2 * max_copy_records) return fail("more than " + std::to_string(2 * max_copy_records) + " records");
  const bool soa = ldns_rr_get_type(rr.get()) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr.get()) == 7 &&
                   lower_wire(ldns_rr_owner(rr.get())) == apex_;
  switch (phase_) {
    case Phase::first:
      if (!soa) return fail("the transfer does not start with the zone's SOA");
      serial_ = soa_serial(rr.get());
      if (kind_ == Kind::axfr) {
        records_.push_back(std::move(rr));
        phase_ = Phase::whole;
      } else if (!serial_greater(serial_, ours_)) {
        outcome_ = Outcome::up_to_date;  // the SOA alone: nothing newer
        state_ = State::done;
      } else {
        first_soa_ = std::move(rr);
        phase_ = Phase::second;
      }
      return state_;
    case Phase::second:  // IXFR: an SOA starts the changes (RFC 1995 §4); anything else, a whole zone
      if (soa) {
        changes_.push_back({std::move(rr), nullptr, {}, {}});
        phase_ = Phase::removed;
      } else {
        records_.push_back(std::move(first_soa_));
        records_.push_back(std::move(rr));
        phase_ = Phase::whole;
      }
      return state_;
    case Phase::whole:
      if (!soa) {
        records_.push_back(std::move(rr));
        return state_;
      }
      if (soa_serial(rr.get()) != serial_) return fail("the closing SOA has another serial");
      outcome_ = Outcome::whole;
      return state_ = State::done;
    case Phase::removed:
      if (soa) {
        changes_.back().soa_to = std::move(rr);
        phase_ = Phase::added;
      } else {
        changes_.back().removed.push_back(std::move(rr));
      }
      return state_;
    case Phase::added:
      if (!soa) {
        changes_.back().added.push_back(std::move(rr));
        return state_;
      }
      // The last change ends at the primary's serial, and that SOA again closes the reply.
      if (soa_serial(rr.get()) == serial_ && soa_serial(changes_.back().soa_to.get()) == serial_) {
        outcome_ = Outcome::incremental;
        return state_ = State::done;
      }
      changes_.push_back({std::move(rr), nullptr, {}, {}});
      phase_ = Phase::removed;
      return state_;
  }
  return state_;
}

}  // namespace dnsd
