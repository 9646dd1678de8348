// Health probes: what decides a probe from etcd's /health reply. (Probing real members over HTTP
// and HTTPS is the e2e tier's: tests/e2e, health_*.)
#include <catch2/catch.hpp>

#include "prober.hpp"

using namespace dnsd;

TEST_CASE("the /health body decides a probe", "[health]") {
  std::string err;
  CHECK(health_body_ok(200, "{\"health\":\"true\",\"reason\":\"\"}", err));
  CHECK(health_body_ok(200, "{ \"health\": true }", err));
  CHECK(health_body_ok(200, "ok", err));  // /readyz and /livez
  CHECK_FALSE(health_body_ok(200, "{\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}", err));
  CHECK_THAT(err, Catch::Contains("RAFT NO LEADER"));
  CHECK_FALSE(health_body_ok(503, "{\"health\":\"true\"}", err));
  CHECK(err == "HTTP status 503");
}
