// Health probes: what decides a probe from etcd's /health reply. (Probing real members over HTTP
// and HTTPS is the e2e tier's: tests/e2e, health_*.)
#include <catch2/catch.hpp>

#include "prober.hpp"

using namespace dnsd;

TEST_CASE("the /health reply decides a probe, and says why it failed", "[health]") {
  struct Row {
    int status;
    const char* body;
    const char* error;  // "" = healthy
  };
  const Row rows[] = {
      {200, "{\"health\":\"true\",\"reason\":\"\"}", ""},
      {200, "{ \"health\": true }", ""},
      {200, "ok", ""},  // /readyz and /livez: the status decides
      {200, "{\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}", "unhealthy: {\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}"},
      {503, "{\"health\":\"true\"}", "HTTP status 503"},  // etcd up without quorum
      {0, "", "no HTTP reply"},
  };
  for (const Row& row : rows) {
    INFO(row.status << " " << row.body);
    const Result<void> r = check_health_reply(row.status, row.body);
    CHECK(r.ok() == (*row.error == '\0'));
    if (!r.ok()) CHECK(r.error().message == row.error);
  }
}
