// Fuzz target: one message through query_process() against a compiled etcd zone, over UDP and TCP,
// with the properties every reply must have. A violated property aborts (a finding).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "fuzz_zone.hpp"
#include "ldns.hpp"
#include "query.hpp"
#include "wire.hpp"

namespace {

std::shared_ptr<const dnsd::Snapshot> snapshot() { return fuzz_zone().snapshot; }

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> out(dnsd::max_message);
  dnsd::Counters counters;
  dnsd::QueryView view;
  const dnsd::ParseResult parsed = dnsd::parse_query(data, size, view);
  for (dnsd::Transport t : {dnsd::Transport::udp, dnsd::Transport::tcp}) {
    static const uint8_t client[4] = {192, 0, 2, 1};
    dnsd::MessageContext context;
    context.client_ip = client;
    context.client_ip_len = sizeof client;
    context.now = 1800000000;
    const dnsd::Processed p = dnsd::query_process(snapshot().get(), data, size, out.data(), out.size(), t, counters, &context);
    check((parsed == dnsd::ParseResult::drop) == (p.verdict == dnsd::Verdict::drop));
    check(p.verdict != dnsd::Verdict::hand_over);  // the fuzz zone has no TSIG keys
    if (p.verdict != dnsd::Verdict::reply) continue;
    const size_t n = p.size;
    check(n >= dnsd::header_size);
    const size_t limit = t == dnsd::Transport::tcp ? dnsd::max_message
                         : view.edns && parsed == dnsd::ParseResult::ok
                             ? std::clamp<size_t>(view.edns_payload, 512, dnsd::our_edns_payload)
                             : dnsd::udp_plain_limit;
    check(n <= limit);                                      // fits what the client allowed
    check(std::memcmp(out.data(), data, 2) == 0);           // ID copied
    check(out[2] & 0x80);                                   // QR
    check((out[2] & 0x78) == (data[2] & 0x78));             // opcode copied
    if (view.has_question)                                  // the question echoed exactly
      check(dnsd::get16(out.data() + 4) == 1 &&
            std::memcmp(out.data() + 12, data + 12, view.question_len) == 0);
    ldns_pkt* parsed_reply = nullptr;
    check(ldns_wire2pkt(&parsed_reply, out.data(), n) == LDNS_STATUS_OK);  // every reply parses
    const dnsd::PktPtr owned(parsed_reply);
  }
  return 0;
}
