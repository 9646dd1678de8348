// Test helper (data plane): one message through query_process() against a snapshot, the reply kept
// as bytes with the verdict and the counters it moved.
#pragma once

#include <catch2/catch.hpp>

#include "packet.hpp"
#include "query.hpp"

namespace dnsd::test {

struct Exchange {
  Bytes reply;  // empty unless the verdict is reply
  Verdict verdict = Verdict::drop;
  Counters counters;

  Exchange(const Snapshot* snap, const Bytes& query, Transport t = Transport::udp, MessageContext* context = nullptr,
           size_t cap = 65535) {
    reply.resize(cap);
    const Processed p = query_process(snap, query.data(), query.size(), reply.data(), reply.size(), t, counters, context);
    verdict = p.verdict;
    reply.resize(p.verdict == Verdict::reply ? p.size : 0);
  }
};

}  // namespace dnsd::test

namespace Catch {
template <>
struct StringMaker<dnsd::Verdict> {
  static std::string convert(dnsd::Verdict v) {
    return v == dnsd::Verdict::reply ? "reply" : v == dnsd::Verdict::drop ? "drop" : "hand_over";
  }
};
}  // namespace Catch
