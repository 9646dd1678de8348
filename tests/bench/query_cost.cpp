// Instructions per answer on the hot path, deterministically: the bench zone compiled, then the query
// mix answered N times through query_process() (as a worker does, cookies and RRL classification
// included). Run under callgrind: tests/bench/callgrind.sh prints instructions per query by function.
// Usage: bench_query_cost ZONE_DIR QUERIES_FILE N
#include <arpa/inet.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "compile.hpp"
#include "query.hpp"
#include "wire.hpp"

namespace {

std::vector<uint8_t> make_query(const std::string& name, uint16_t type, uint16_t id) {
  std::vector<uint8_t> q = {uint8_t(id >> 8), uint8_t(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  std::stringstream labels(name);
  for (std::string label; std::getline(labels, label, '.');) {
    q.push_back(uint8_t(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(), {0, uint8_t(type >> 8), uint8_t(type), 0, 1});
  return q;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DNSD_YAML QUERIES_FILE N\n", argv[0]);
    return 2;
  }
  dnsd::DaemonConfig cfg = dnsd::load_config(argv[1]);
  cfg.cookie_secret = "0123456789abcdef";
  dnsd::StateStore state(cfg.state_dir, true);
  const dnsd::CompiledConfig compiled = dnsd::compile_config(cfg, state);
  std::vector<std::vector<uint8_t>> queries;
  std::ifstream in(argv[2]);
  for (std::string name, type; in >> name >> type;)
    queries.push_back(make_query(name, type == "SRV" ? 33 : type == "AAAA" ? 28 : type == "SOA" ? 6 : 1,
                                 uint16_t(queries.size())));
  const long n = std::atol(argv[3]);
  std::vector<uint8_t> out(dnsd::max_message);
  dnsd::Counters counters;
  const uint8_t client[4] = {127, 0, 0, 1};
  size_t bytes = 0;
  for (long i = 0; i < n; ++i) {
    const auto& q = queries[size_t(i) % queries.size()];
    dnsd::MessageContext context;
    context.client_ip = client;
    context.client_ip_len = 4;
    context.now = 1800000000;
    bytes += dnsd::query_process(compiled.snapshot.get(), q.data(), q.size(), out.data(), 1232, dnsd::Transport::udp,
                                 counters, &context).size;
  }
  std::printf("%ld queries, %.1f bytes per reply\n", n, double(bytes) / double(n));
  return 0;
}
