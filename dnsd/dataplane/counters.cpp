// Prometheus text rendering of the workers' counters (see counters.hpp). Control thread, on request.
#include "counters.hpp"

#include <array>

#include "wire.hpp"

namespace dnsd {

namespace {
uint64_t sum(const std::vector<const Counters*>& workers, const Counters::Counter Counters::*field) {
  uint64_t total = 0;
  for (const Counters* c : workers) total += (c->*field).load(std::memory_order_relaxed);
  return total;
}

template <size_t N>
std::array<uint64_t, N> sum_array(const std::vector<const Counters*>& workers,
                                  const std::array<Counters::Counter, N> Counters::*field) {
  std::array<uint64_t, N> total{};
  for (const Counters* c : workers)
    for (size_t i = 0; i < N; ++i) total[i] += (c->*field)[i].load(std::memory_order_relaxed);
  return total;
}

const char* qtype_name(size_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 255: return "ANY";
    default: return nullptr;
  }
}
}  // namespace

std::string render_prometheus(const std::vector<const Counters*>& workers) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  const auto queries = sum_array(workers, &Counters::queries);
  line("# HELP dnsd_queries_total DNS messages received, by transport.");
  line("# TYPE dnsd_queries_total counter");
  line("dnsd_queries_total{transport=\"udp\"} " + std::to_string(queries[0]));
  line("dnsd_queries_total{transport=\"tcp\"} " + std::to_string(queries[1]));
  const auto responses = sum_array(workers, &Counters::responses);
  line("# HELP dnsd_responses_total DNS responses sent, by rcode.");
  line("# TYPE dnsd_responses_total counter");
  for (size_t rc = 0; rc < responses.size(); ++rc)
    if (const char* name = rcode_name(rc)) line("dnsd_responses_total{rcode=\"" + std::string(name) + "\"} " + std::to_string(responses[rc]));
  const auto qtypes = sum_array(workers, &Counters::qtypes);
  line("# HELP dnsd_queries_by_qtype_total Parsed queries, by question type.");
  line("# TYPE dnsd_queries_by_qtype_total counter");
  uint64_t other = 0;
  for (size_t t = 0; t < qtypes.size(); ++t) {
    if (const char* name = qtype_name(t)) line("dnsd_queries_by_qtype_total{qtype=\"" + std::string(name) + "\"} " + std::to_string(qtypes[t]));
    else other += qtypes[t];
  }
  line("dnsd_queries_by_qtype_total{qtype=\"other\"} " + std::to_string(other));
  // The plain counters: name, help, field.
  struct Plain {
    const char* name;
    const char* help;
    Counters::Counter Counters::*field;
  };
  static const Plain plain[] = {
      {"dnsd_responses_truncated_total", "UDP responses sent with TC=1.", &Counters::truncated},
      {"dnsd_packets_dropped_total", "Messages not answered (unreadable header, QR=1) or replies not sent.", &Counters::dropped},
      {"dnsd_packets_malformed_total", "Messages that could not be parsed (too short, or answered FORMERR).", &Counters::malformed},
      {"dnsd_tcp_connections_total", "TCP connections accepted.", &Counters::tcp_connections},
      {"dnsd_rrl_dropped_total", "UDP responses not sent because of response rate limiting.", &Counters::rrl_dropped},
      {"dnsd_rrl_slipped_total", "Rate-limited UDP responses sent truncated (TC=1) instead.", &Counters::rrl_slipped},
      {"dnsd_handed_over_total", "DNS UPDATE and TSIG-signed messages passed to the control thread.", &Counters::handed_over},
      {"dnsd_tcp_refused_total", "TCP connections closed at once by the connection cap.", &Counters::tcp_refused},
      {"dnsd_tsig_unknown_key_total", "Signed messages naming a key we do not have (BADKEY, answered by a worker).",
       &Counters::tsig_unknown_key},
      {"dnsd_updates_unsigned_total", "Unsigned DNS UPDATEs (refused by a worker).", &Counters::update_unsigned},
      {"dnsd_handoff_limited_total", "UPDATE and signed messages over UDP sent to TCP: too many from their source.",
       &Counters::handoff_limited},
      {"dnsd_tcp_accept_errors_total", "Failed TCP accepts (out of descriptors); accepting paused briefly.", &Counters::tcp_accept_errors},
      {"dnsd_tcp_deadline_closed_total", "TCP connections closed because a message did not arrive whole in time.",
       &Counters::tcp_deadline_closed},
  };
  for (const Plain& c : plain) {
    line(std::string("# HELP ") + c.name + " " + c.help);
    line(std::string("# TYPE ") + c.name + " counter");
    line(std::string(c.name) + " " + std::to_string(sum(workers, c.field)));
  }
  return out;
}

}  // namespace dnsd
