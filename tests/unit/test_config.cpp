// Config validation: every error names its file and line.
#include <catch2/catch.hpp>

#include "compile.hpp"
#include "config.hpp"
#include "temp_dir.hpp"

using namespace dnsd;
using dnsd::test::TempDir;

namespace {

const char* daemon_yaml = "listen: [\"127.0.0.1:1053\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n";

// Line 1..N of a minimal valid zone; rows below append or replace text.
const char* zone_head =
    "zone: lab.example.com\n"                                  // 1
    "soa: { mname: ns1.lab.example.com, rname: hostmaster.lab.example.com }\n"  // 2
    "ns: [ns1.lab.example.com]\n";                             // 3

// Loads and compiles; returns every diagnostic text ("" when the config is good).
std::string errors_of(const std::string& daemon, const std::string& zone, TempDir& dir) {
  const std::string conf = dir.write("dnsd.yaml", daemon);
  dir.write("zones/lab.yaml", zone);
  try {
    DaemonConfig cfg = load_config(conf);
    StateStore state(cfg.state_dir, true);
    compile_config(cfg, state);
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("a minimal config loads", "[config]") {
  TempDir dir;
  CHECK(errors_of(daemon_yaml, std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n", dir) == "");
}

TEST_CASE("zone file errors carry file:line", "[config]") {
  struct Row {
    const char* what;
    std::string zone;
    std::string expect;  // substring: "lab.yaml:LINE: message"
  };
  const std::string head = std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n";  // lines 1-5
  const std::string cluster = head +
                              "clusters:\n"           // 6
                              "  - name: c1\n"        // 7
                              "    members:\n";       // 8
  const std::vector<Row> rows = {
      {"unknown key", head + "colour: blue\n", "lab.yaml:6: unknown key 'colour' in zone file"},
      {"missing soa", "zone: lab.example.com\nns: [ns1.lab.example.com]\n", "lab.yaml:1: missing required key 'soa'"},
      {"missing ns", "zone: lab.example.com\nsoa: { mname: a.example, rname: b.example }\n", "lab.yaml:1: missing required key 'ns'"},
      {"unknown soa key", "zone: lab.example.com\nns: [ns1.lab.example.com]\nsoa: { mname: a.b, rname: b.c, serial: 5 }\n",
       "lab.yaml:3: unknown key 'serial' in soa"},
      {"record syntax", std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  www IN A not-an-address\n",
       "lab.yaml:6: bad record"},
      {"a type name with a typo (ldns reads it as TYPE0)", std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  www IN CNAM\n",
       "lab.yaml:6: record 'www.lab.example.com.': unknown type"},
      {"a name a zone file cannot carry", std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  a\"b IN A 192.0.2.1\n",
       "lab.yaml:6: name 'a\"b.lab.example.com.' has a character a zone file cannot carry"},
      {"a type number over 65535", std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  odd IN TYPE739210 \\# 0\n",
       "lab.yaml:6: 'TYPE739210': a type or class number is 0 to 65535"},
      {"a type number over 65535 followed by other characters (ldns reads the leading digits)",
       std::string(zone_head) + "records: |\n  odd IN TYPE739210.2.1 \\# 0\n", "lab.yaml:5: 'TYPE739210.2.1': a type or class number is 0 to 65535"},
      {"a signed type number (ldns reads TYPE-360 as 4294966936)", std::string(zone_head) + "records: |\n  odd IN TYPE-360 \\# 0\n",
       "lab.yaml:5: 'TYPE-360': a type or class number is 0 to 65535"},
      {"a NUL byte, which would hide the rest of the line", std::string(zone_head) + "records: \"odd IN TYPE2533333\\0 x\"\n",
       ": a NUL byte: a zone file line cannot carry one"},
      {"out-of-zone record", std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  www.example.org. IN A 192.0.2.1\n",
       "lab.yaml:6: record 'www.example.org.' is outside the zone"},
      {"CNAME beside other data", std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  www IN CNAME ns1\n  www IN TXT \"x\"\n",
       "lab.yaml:6: CNAME at 'www.lab.example.com.' beside other data"},
      {"bad address", cluster + "      - { name: e1, host: e1.lab.example.com, addresses: [192.0.2.300] }\n",
       "lab.yaml:9: address '192.0.2.300' is not an IPv4 or IPv6 address"},
      {"duplicate member name", cluster + "      - { name: e1, host: e1.lab.example.com, addresses: [192.0.2.1] }\n"
                                          "      - { name: e1, host: e2.lab.example.com, addresses: [192.0.2.2] }\n",
       "lab.yaml:10: duplicate member name 'e1'"},
      {"duplicate SRV target", cluster + "      - { name: e1, host: e1.lab.example.com, addresses: [192.0.2.1] }\n"
                                         "      - { name: e2, host: E1.lab.example.com, addresses: [192.0.2.2] }\n",
       "lab.yaml:10: duplicate SRV target 'E1.lab.example.com.'"},
      {"all-numeric target", cluster + "      - { name: e1, host: 10.0.0.9, addresses: [192.0.2.1] }\n",
       "lab.yaml:9: host '10.0.0.9' is not a valid host name"},
      {"label starting with -", cluster + "      - { name: e1, host: -e1.lab.example.com, addresses: [192.0.2.1] }\n",
       "lab.yaml:9: host '-e1.lab.example.com' is not a valid host name"},
      {"label over 63", cluster + "      - { name: e1, host: " + std::string(64, 'a') + ".lab.example.com }\n",
       "lab.yaml:9: host '" + std::string(64, 'a') + ".lab.example.com' is not a valid host name"},
      {"port out of range", cluster + "      - { name: e1, host: e1.lab.example.com, addresses: [192.0.2.1], peer_port: 70000 }\n",
       "lab.yaml:9: peer_port must be an integer from 1 to 65535, not '70000'"},
      {"unknown member key", cluster + "      - { name: e1, host: e1.lab.example.com, adresses: [192.0.2.1] }\n",
       "lab.yaml:9: unknown key 'adresses' in member"},
      {"missing member host", cluster + "      - { name: e1 }\n", "lab.yaml:9: missing required key 'host' in member"},
      {"in-zone host without address", cluster + "      - { name: e1, host: e1.lab.example.com }\n",
       "lab.yaml:9: target 'e1.lab.example.com.' is inside the zone but has no A or AAAA record"},
      {"empty cluster without registration", head + "clusters:\n  - name: c1\n    members: []\n",
       "lab.yaml:7: cluster 'c1' has no members"},
      {"name generated twice by records: and a cluster",
       std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  e1 IN A 192.0.2.9\nclusters:\n  - name: c1\n    members:\n"
                                "      - { name: e1, host: e1.lab.example.com, addresses: [192.0.2.1] }\n",
       "lab.yaml:10: 'e1.lab.example.com. A' is generated twice"},
      {"SRV set generated twice by two clusters",
       head + "clusters:\n  - members: [{ name: a, host: a.lab.example.com, addresses: [192.0.2.1] }]\n"
              "  - name: ssl\n    peer_tls: false\n    members: [{ name: b, host: b.lab.example.com, addresses: [192.0.2.2] }]\n",
       "lab.yaml:8: '_etcd-server-ssl._tcp.lab.example.com. SRV' is generated twice"},
      {"one host in two clusters (its addresses would be generated twice; the second is named)",
       head + "clusters:\n  - name: a\n    members: [{ name: a1, host: h.lab.example.com, addresses: [192.0.2.1] }]\n"
              "  - name: b\n    members: [{ name: b1, host: H.lab.example.com, addresses: [192.0.2.2] }]\n",
       "lab.yaml:10: host 'H.lab.example.com.' is generated twice (another member has the same host)"},
      {"SRV target that is a CNAME",
       std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  alias IN CNAME ns1\nclusters:\n  - name: c1\n    members:\n"
                                "      - { name: e1, host: alias.lab.example.com }\n",
       "lab.yaml:10: target 'alias.lab.example.com.' is a CNAME"},
      {"in-zone NS without address", std::string(zone_head), "target 'ns1.lab.example.com.' is inside the zone but has no A or AAAA"},
      {"in-zone SRV target with records, none of them an address",
       std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n  web IN TXT \"no address\"\n  _http._tcp IN SRV 0 0 80 web\n",
       "lab.yaml:7: target 'web.lab.example.com.' is inside the zone but has no A or AAAA"},
      {"YAML syntax", std::string(zone_head) + "records: [unclosed\n", "lab.yaml:5: YAML syntax error"},
      {"a transfer rule with host bits set", head + "transfer:\n  allow:\n    - { address: 127.0.0.1/8 }\n",
       "lab.yaml:8: transfer.allow address '127.0.0.1/8' is not an address or ADDRESS/PREFIX"},
      {"a transfer rule that is no address", head + "transfer:\n  allow:\n    - { address: ns1 }\n",
       "lab.yaml:8: transfer.allow address 'ns1' is not an address"},
      {"a transfer rule with a prefix too long", head + "transfer:\n  allow:\n    - { address: \"::1/129\" }\n",
       "lab.yaml:8: transfer.allow address '::1/129'"},
      {"a transfer key not in tsig_keys", head + "transfer:\n  allow:\n    - { address: 127.0.0.0/8, key: nokey }\n",
       "lab.yaml:8: transfer key 'nokey.' is not in tsig_keys"},
      {"a notify target with a bad port", head + "transfer:\n  notify:\n    - { address: \"127.0.0.1:99999\" }\n",
       "lab.yaml:8: transfer.notify address '127.0.0.1:99999' is not ADDRESS, ADDRESS:PORT or [IPV6]:PORT"},
      {"an unknown key in transfer", head + "transfer:\n  allow: []\n  deny: []\n", "lab.yaml:8: unknown key 'deny' in transfer"},
      {"a secondary zone with data of its own", "zone: lab.example.com\nprimaries:\n  - { address: 127.0.0.1 }\nns: [ns1.lab.example.com]\n",
       "lab.yaml:4: unknown key 'ns' in secondary zone file (primaries:)"},
      {"a secondary zone without primaries", "zone: lab.example.com\nprimaries: []\n", "lab.yaml:2: primaries must be a list of at least one server"},
      {"a primary that is no address", "zone: lab.example.com\nprimaries:\n  - { address: ns1.example.org }\n",
       "lab.yaml:3: primaries address 'ns1.example.org' is not ADDRESS, ADDRESS:PORT or [IPV6]:PORT"},
      {"a primary key not in tsig_keys", "zone: lab.example.com\nprimaries:\n  - { address: \"[::1]:5300\", key: nokey }\n",
       "lab.yaml:3: primary key 'nokey.' is not in tsig_keys"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    TempDir dir;
    const std::string errors = errors_of(daemon_yaml, row.zone, dir);
    CHECK_THAT(errors, Catch::Contains(row.expect));
  }
}

TEST_CASE("daemon config errors carry file:line", "[config]") {
  struct Row {
    const char* what;
    std::string daemon;
    std::string expect;
  };
  const std::vector<Row> rows = {
      {"unknown key", std::string(daemon_yaml) + "listne: []\n", "dnsd.yaml:4: unknown key 'listne' in daemon config"},
      {"missing listen", "zones: [\"zones/*.yaml\"]\n", "dnsd.yaml:1: missing required key 'listen'"},
      {"bad listen", "listen: [\"127.0.0.1\"]\nzones: [\"zones/*.yaml\"]\n", "dnsd.yaml:1: listen '127.0.0.1' must be ADDRESS:PORT"},
      {"bad port", "listen: [\"127.0.0.1:99999\"]\nzones: [\"zones/*.yaml\"]\n", "dnsd.yaml:1: listen '127.0.0.1:99999'"},
      {"glob without match", "listen: [\"127.0.0.1:1053\"]\nzones: [\"nothing/*.yaml\"]\n", "dnsd.yaml:2: zones pattern 'nothing/*.yaml' matches no file"},
      {"bad log level", std::string(daemon_yaml) + "log: { level: loud }\n", "dnsd.yaml:4: log level 'loud'"},
      {"bad workers", std::string(daemon_yaml) + "workers: many\n", "dnsd.yaml:4: workers must be an integer"},
      {"bad duration", std::string(daemon_yaml) + "tcp: { idle_timeout: 10 parsecs }\n", "dnsd.yaml:4: idle_timeout must be a duration"},
      {"control without listen", std::string(daemon_yaml) + "control: {}\n", "dnsd.yaml:4: missing required key 'listen' in control"},
      {"tsig algorithm", std::string(daemon_yaml) + "tsig_keys:\n  - { name: k, algorithm: hmac-md5, secret: \"YWJj\" }\n",
       "dnsd.yaml:5: algorithm must be hmac-sha256 or hmac-sha512, not 'hmac-md5'"},
      {"tsig secret not base64", std::string(daemon_yaml) + "tsig_keys:\n  - { name: k, algorithm: hmac-sha256, secret: \"no!\" }\n",
       "dnsd.yaml:5: the secret of tsig key 'k' is not base64"},
      {"tsig key twice", std::string(daemon_yaml) + "tsig_keys:\n  - { name: k, algorithm: hmac-sha256, secret: \"YWJj\" }\n"
                                                     "  - { name: K., algorithm: hmac-sha256, secret: \"YWJj\" }\n",
       "dnsd.yaml:6: duplicate tsig key 'K.'"},
      {"tsig secret file missing", std::string(daemon_yaml) + "tsig_keys:\n  - { name: k, algorithm: hmac-sha256, secret_file: k.key }\n",
       "dnsd.yaml:5: secret_file '"},
      {"rrl without a rate", std::string(daemon_yaml) + "rrl: { slip: 2 }\n",
       "dnsd.yaml:4: missing required key 'responses_per_second' in rrl"},
      {"rrl prefix out of range", std::string(daemon_yaml) + "rrl: { responses_per_second: 5, ipv4_prefix: 33 }\n",
       "dnsd.yaml:4: ipv4_prefix must be an integer from 8 to 32"},
      {"zones pattern matching a directory", "listen: [\"127.0.0.1:1053\"]\nzones: [\"zo*\"]\n",
       "zones: not a regular file"},
      {"cookie secret not hex", std::string(daemon_yaml) + "cookies: { secret: \"e5e973e5a6b2a43f48e7dc849e37bfzz\" }\n",
       "dnsd.yaml:4: cookies secret must be 32 hex digits"},
      {"cookie secret too short", std::string(daemon_yaml) + "cookies: { secret: \"e5e9\" }\n",
       "dnsd.yaml:4: cookies secret must be 32 hex digits"},
      {"tsig key without secret", std::string(daemon_yaml) + "tsig_keys:\n  - { name: k, algorithm: hmac-sha256 }\n",
       "dnsd.yaml:5: tsig key 'k' needs secret or secret_file"},
  };
  const std::string zone = std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n";
  for (const Row& row : rows) {
    INFO(row.what);
    TempDir dir;
    CHECK_THAT(errors_of(row.daemon, zone, dir), Catch::Contains(row.expect));
  }
}

TEST_CASE("update keys must be declared in tsig_keys, and key names compare as domain names", "[config][update]") {
  TempDir dir;
  const std::string zone = std::string(zone_head) + "update: { keys: [ddns-key, missing] }\n";
  const std::string daemon = std::string(daemon_yaml) + "tsig_keys:\n  - { name: DDNS-Key., algorithm: hmac-sha512, secret_file: k.key }\n";
  dir.write("k.key", "key \"DDNS-Key\" {\n\talgorithm hmac-sha512;\n\tsecret \"YWJjZA==\";\n};\n");  // BIND's format
  const std::string e = errors_of(daemon, zone, dir);
  CHECK_THAT(e, Catch::Contains("lab.yaml:4: update key 'missing.' is not in tsig_keys"));
  CHECK_THAT(e, !Catch::Contains("'ddns-key.'"));
  dir.write("zones/lab.yaml", std::string(zone_head) + "update: { keys: [ddns-key] }\n");
  const DaemonConfig cfg = load_config(dir.path("dnsd.yaml"));
  REQUIRE(cfg.tsig_keys.size() == 1);
  CHECK(cfg.tsig_keys[0].name == "ddns-key.");
  CHECK(cfg.tsig_keys[0].secret == "abcd");
  CHECK(cfg.zones[0].update_keys == std::vector<std::string>{"ddns-key."});
  CHECK(decode_base64("YWJj") == "abc");
  CHECK(decode_base64("YW Jj\nZA==") == "abcd");
  CHECK_FALSE(decode_base64("YWJ"));
  CHECK_FALSE(decode_base64("YW=j"));
  CHECK_FALSE(decode_base64("YWJ*"));
}

TEST_CASE("cookies: a configured secret reaches the snapshot, enabled: false turns them off", "[config][cookie]") {
  TempDir dir;
  dir.write("zones/lab.yaml", std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\n");
  auto snapshot_of = [&](const std::string& extra) {
    DaemonConfig cfg = load_config(dir.write("dnsd.yaml", std::string(daemon_yaml) + extra));
    StateStore state(cfg.state_dir, true);
    return compile_config(cfg, state).snapshot;
  };
  auto on = snapshot_of("cookies: { secret: \"e5e973e5a6b2a43f48e7dc849e37bfcf\" }\n");
  REQUIRE(on->cookies());
  CHECK(on->cookie_secret()[0] == 0xe5);
  CHECK(on->cookie_secret()[15] == 0xcf);
  CHECK_FALSE(snapshot_of("cookies: { enabled: false, secret: \"e5e973e5a6b2a43f48e7dc849e37bfcf\" }\n")->cookies());
  CHECK_FALSE(snapshot_of("")->cookies());  // no secret yet: dnsd run draws a random one at start
}

TEST_CASE("every error is reported, not just the first", "[config]") {
  TempDir dir;
  const std::string e = errors_of(std::string(daemon_yaml) + "bogus: 1\n",
                                  std::string(zone_head) + "records: |\n  ns1 IN A 192.0.2.53\ncolour: red\n", dir);
  CHECK_THAT(e, Catch::Contains("dnsd.yaml:4: unknown key 'bogus'"));
  CHECK_THAT(e, Catch::Contains("lab.yaml:6: unknown key 'colour'"));
}

TEST_CASE("warnings: dual-stack targets and clear-text peers", "[config]") {
  TempDir dir;
  const std::string conf = dir.write("dnsd.yaml", daemon_yaml);
  dir.write("zones/lab.yaml", std::string(zone_head) +
                                  "records: |\n  ns1 IN A 192.0.2.53\nclusters:\n  - peer_tls: false\n    members:\n"
                                  "      - { name: e1, host: e1.lab.example.com, addresses: [192.0.2.1, 2001:db8::1] }\n");
  const DaemonConfig cfg = load_config(conf);
  REQUIRE(cfg.warnings.size() == 2);
  CHECK_THAT(to_string(cfg.warnings[0]), Catch::Contains("lab.yaml:9: warning: member 'e1' has both A and AAAA"));
  CHECK_THAT(to_string(cfg.warnings[1]), Catch::Contains("lab.yaml:7: warning: the unnamed cluster publishes clear-text peers"));
}

TEST_CASE("durations, host:port and Go host names", "[config]") {
  CHECK(parse_duration_ms("250ms") == 250u);
  CHECK(parse_duration_ms("2s") == 2000u);
  CHECK(parse_duration_ms("5m") == 300000u);
  CHECK(parse_duration_ms("1h") == 3600000u);
  CHECK(parse_duration_ms("7") == 7000u);
  CHECK_FALSE(parse_duration_ms("s"));
  CHECK_FALSE(parse_duration_ms("5d"));
  CHECK_FALSE(parse_duration_ms("-1s"));

  CHECK(parse_host_port("[::1]:53")->v6);
  CHECK(parse_host_port("127.0.0.1:1053")->port == 1053);
  CHECK_FALSE(parse_host_port("::1:53"));
  CHECK_FALSE(parse_host_port("127.0.0.1:"));
  CHECK_FALSE(parse_host_port("localhost:53"));

  CHECK(go_valid_hostname("etcd-1.c1.lab.example.com."));
  CHECK(go_valid_hostname("_etcd-server._tcp.example.com."));
  CHECK_FALSE(go_valid_hostname("10.0.0.9."));
  CHECK_FALSE(go_valid_hostname("-a.example."));
  CHECK_FALSE(go_valid_hostname("a-.example."));
  CHECK_FALSE(go_valid_hostname("a..example."));
  CHECK_FALSE(go_valid_hostname(std::string(64, 'a') + ".example."));
  CHECK(go_valid_hostname(std::string(63, 'a') + ".example."));
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  CHECK_FALSE(go_valid_hostname(long_name + "abcde."));
}

TEST_CASE("health config keys: defaults and errors with file:line", "[health][config]") {
  TempDir dir;
  const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"z.yaml\"]\n");
  const std::string head =
      "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n"
      "clusters:\n  - client_tls: true\n    members: [{ name: a, host: a.example.org }]\n";
  dir.write("z.yaml", head + "    health: {}\n");
  const DaemonConfig cfg = load_config(conf);
  const HealthOptions& h = *cfg.zones.at(0).clusters.at(0).health;
  CHECK(h.scheme == "https");  // from client_tls
  CHECK(h.path == "/health");
  CHECK(h.interval_ms == 2000);
  CHECK(h.timeout_ms == 1000);
  CHECK(h.rise == 2);
  CHECK(h.fall == 3);
  CHECK_FALSE(h.fail_closed);
  dir.write("z.yaml", head + "    health: { scheme: gopher, interval: 1s, timeout: 2s, fall: 0, ca_file: nope.pem, colour: 1 }\n");
  try {
    load_config(conf);
    FAIL("no error");
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Catch::Contains("z.yaml:7: scheme must be http or https, not 'gopher'"));
    CHECK_THAT(m, Catch::Contains("z.yaml:7: fall must be an integer from 1 to 100"));
    CHECK_THAT(m, Catch::Contains("nope.pem' does not exist"));
    CHECK_THAT(m, Catch::Contains("z.yaml:7: unknown key 'colour' in health"));
    CHECK_THAT(m, Catch::Contains("z.yaml:7: timeout must not exceed interval"));
  }
}

TEST_CASE("a listen address says what is wrong with it", "[config]") {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"127.0.0.1:99999", "'127.0.0.1:99999': port 99999 is out of range (0-65535)"},
      {"127.0.0.1:x", "'127.0.0.1:x': the port 'x' is not a number"},
      {"1.2.3:53", "'1.2.3:53': '1.2.3' is not an IPv4 address"},
      {"[1.2.3.4]:53", "'[1.2.3.4]:53': '1.2.3.4' is not an IPv6 address"},
      {"::1:53", "'::1:53' must be ADDRESS:PORT or [IPV6]:PORT (an IPv6 address goes in brackets: [::1]:53)"},
      {"127.0.0.1", "'127.0.0.1' must be ADDRESS:PORT or [IPV6]:PORT"},
  };
  for (const auto& [text, problem] : rows) {
    INFO(text);
    CHECK_FALSE(parse_host_port(text));
    CHECK(host_port_problem(text) == problem);
  }
  CHECK(parse_host_port("[::1]:0"));
  CHECK(host_port_problem("127.0.0.1:53").empty());
}

TEST_CASE("every problem in one pass: the daemon config's and the zones', each once", "[config]") {
  TempDir dir;
  const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:99999\", \"1.2.3:53\"]\nzones: [\"zones/*.yaml\"]\n"
                                                  "workers: many\nstate_dir: state\n");
  dir.write("zones/lab.yaml", std::string(zone_head) +
                                  "records: |\n"                              // 4
                                  "  ns1 IN A 192.0.2.53\n"                   // 5
                                  "  www.other.org. IN A 192.0.2.1\n"         // 6
                                  "clusters:\n"                               // 7
                                  "  - name: c1\n"                            // 8
                                  "    members:\n"                            // 9
                                  "      - { name: a, host: a.lab.example.com }\n");  // 10
  try {
    load_config_reporting_all(conf);
    FAIL("the config loaded");
  } catch (const ConfigError& e) {
    std::vector<std::string> got;
    for (const Diagnostic& d : e.diagnostics()) got.push_back(d.loc.file().substr(dir.path().size()) + ":" +
                                                               std::to_string(d.loc.line) + ": " + d.message);
    CHECK(got == std::vector<std::string>{
                     "dnsd.yaml:1: listen '127.0.0.1:99999': port 99999 is out of range (0-65535)",
                     "dnsd.yaml:1: listen '1.2.3:53': '1.2.3' is not an IPv4 address",
                     "dnsd.yaml:3: workers must be an integer from 1 to 256 or auto (one per usable core), not 'many'",
                     "zones/lab.yaml:6: record 'www.other.org.' is outside the zone lab.example.com.",
                     "zones/lab.yaml:10: target 'a.lab.example.com.' is inside the zone but has no A or AAAA record"});
  }
}

TEST_CASE("a config that cannot be read says why, and nothing else", "[config]") {
  TempDir dir;
  for (const auto& [file, want] : std::vector<std::pair<std::string, std::string>>{
           {dir.path("missing.yaml"), "cannot read file: No such file or directory"},
           {dir.write("broken.yaml", "listen: [\n"), "YAML syntax error: did not find expected node content (while parsing a flow node from line 2)"}}) {
    try {
      load_config(file);
      FAIL("loaded");
    } catch (const ConfigError& e) {
      REQUIRE(e.diagnostics().size() == 1);
      CHECK(e.diagnostics()[0].message == want);
      CHECK(e.diagnostics()[0].loc.file() == file);  // absolute, as the zones' paths
    }
  }
}

TEST_CASE("a source location shares its file name among its copies, 8 bytes each", "[config]") {
  static_assert(sizeof(SourceLoc) == 8);
  const SourceLoc a("zones/lab.yaml", 7);
  SourceLoc b = a;
  CHECK(&b.file() == &a.file());  // one string
  CHECK(b.line == 7);
  const SourceLoc c = a.at(12);
  CHECK(&c.file() == &a.file());
  CHECK(c.line == 12);
  CHECK(a.line == 7);
  SourceLoc moved = std::move(b);
  CHECK(moved.file() == "zones/lab.yaml");
  CHECK(b.file().empty());  // NOLINT(bugprone-use-after-move): a moved-from location names no file
  b = moved;                // assigned again after the move
  CHECK(b.file() == "zones/lab.yaml");
  b = b;  // NOLINT(misc-redundant-expression): self-assignment keeps the name
  CHECK(b.file() == "zones/lab.yaml");
  b = SourceLoc();
  CHECK(b.file().empty());
  CHECK(b.line == 0);
  {
    std::vector<SourceLoc> many(1000, a);  // the name outlives every copy but the last
    many.clear();
  }
  CHECK(a.file() == "zones/lab.yaml");
  // Names past the first chunks of the table, and numbers freed and reused: each keeps its own.
  std::vector<SourceLoc> files;
  for (int i = 0; i < 3000; ++i) files.emplace_back("zones/" + std::to_string(i) + ".yaml", i);
  for (int i = 0; i < 3000; i += 2) files[size_t(i)] = SourceLoc();
  for (int i = 0; i < 3000; i += 2) files[size_t(i)] = SourceLoc("again/" + std::to_string(i), i);
  for (int i = 0; i < 3000; ++i) {
    const SourceLoc copy = files[size_t(i)];
    REQUIRE(copy.file() == (i % 2 ? "zones/" + std::to_string(i) + ".yaml" : "again/" + std::to_string(i)));
    REQUIRE(copy.line == i);
  }
  CHECK(a.file() == "zones/lab.yaml");
}

TEST_CASE("a cluster's health options are boxed: copies hold their own, an empty box is none", "[config]") {
  Cluster a;
  CHECK_FALSE(a.health);
  a.health = HealthOptions{};
  a.health->interval_ms = 500;
  Cluster b = a;  // deep: b's options are its own
  b.health->interval_ms = 700;
  CHECK(a.health->interval_ms == 500);
  CHECK(b.health->interval_ms == 700);
  b = Cluster{};
  CHECK_FALSE(b.health);
  b = a;
  a.health.reset();
  REQUIRE(b.health);
  CHECK(b.health->interval_ms == 500);
  CHECK(sizeof(Cluster) < 160);  // the options are not inline (they were 240 bytes of every cluster)
}

TEST_CASE("a member's addresses: one string, in order, as many as given", "[config]") {
  const AddressList none;
  CHECK(none.empty());
  CHECK(none.size() == 0);
  CHECK_FALSE(none.begin() != none.end());
  CHECK(none.front().empty());  // no first address: ""
  const AddressList one = {"192.0.2.1"};
  CHECK(one.size() == 1);
  CHECK(one.front() == "192.0.2.1");
  const AddressList three(std::vector<std::string>{"192.0.2.1", "2001:db8::1", "198.51.100.7"});
  std::vector<std::string> seen;
  for (std::string_view a : three) seen.emplace_back(a);
  CHECK(seen == std::vector<std::string>{"192.0.2.1", "2001:db8::1", "198.51.100.7"});
  CHECK(three.size() == 3);
  CHECK(three.front() == "192.0.2.1");
  CHECK(three == AddressList{"192.0.2.1", "2001:db8::1", "198.51.100.7"});
  CHECK_FALSE(three == AddressList{"192.0.2.1", "2001:db8::1"});
  AddressList grown;
  grown.push_back("192.0.2.1");
  grown.push_back("");  // none is valid: not held
  grown.push_back("2001:db8::1");
  CHECK(grown == AddressList{"192.0.2.1", "2001:db8::1"});
}
