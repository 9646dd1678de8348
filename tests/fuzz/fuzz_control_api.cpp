// Fuzz target: the registration API on a started zone state (config loaded, state dir, snapshot
// published), as the control endpoint calls it: each input is METHOD\nPATH\nAUTHORIZATION\nBODY.
// Properties: a reply is one of the statuses the API defines with a JSON object body, a write never
// succeeds without the token, and the registrations file on disk always loads without a problem.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "config.hpp"
#include "log.hpp"
#include "registration_api.hpp"
#include "zone_state.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Fixture {
  std::filesystem::path dir;
  dnsd::SnapshotSlot slot;
  dnsd::HealthTable health;
  std::unique_ptr<dnsd::ZoneState> zones;
  std::unique_ptr<dnsd::RegistrationApi> api;
  Fixture() {
    dir = std::filesystem::temp_directory_path() / ("dnsd-fuzz-api-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "zones");
    std::ofstream(dir / "token") << "s3cret\n";
    std::ofstream(dir / "dnsd.yaml") << "listen: [\"127.0.0.1:0\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n"
                                        "workers: 1\ncontrol: { listen: \"127.0.0.1:0\", token_file: token }\n"
                                        "log: { level: off }\n";
    std::ofstream(dir / "zones" / "lab.yaml")
        << "zone: lab.example.com\nsoa: { mname: ns1.lab.example.com, rname: h.lab.example.com }\n"
           "ns: [ns1.lab.example.com]\nrecords: |\n  ns1 IN A 192.0.2.53\nclusters:\n"
           "  - name: c1\n    members: [{ name: s1, host: s1.lab.example.com, addresses: [192.0.2.1] }]\n"
           "  - name: r1\n    registration: true\n    expected_size: 2\n"
           "  - registration: true\n    peer_tls: false\n";
    dnsd::init_logging();
    const dnsd::DaemonConfig config = dnsd::load_config((dir / "dnsd.yaml").string());
    dnsd::set_log_level(config.log_level);
    zones = std::make_unique<dnsd::ZoneState>(slot, health);
    zones->start(config);
    api = std::make_unique<dnsd::RegistrationApi>(*zones);
    api->set_token(dnsd::read_token_file(config.token_file));
  }
  ~Fixture() {
    api.reset();
    zones.reset();
    std::filesystem::remove_all(dir);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  dnsd::HttpRequest req;
  size_t pos = 0;
  for (std::string* field : {&req.method, &req.path, &req.authorization}) {
    const size_t nl = text.find('\n', pos);
    *field = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  req.body = text.substr(pos);
  const dnsd::HttpReply reply = fixture().api->handle(req);
  static const std::set<int> statuses = {200, 201, 400, 401, 403, 404, 405, 409, 413, 500};
  check(statuses.count(reply.status) == 1);
  check(!reply.body.empty() && reply.body.front() == '{');
  const bool write = req.method == "PUT" || req.method == "DELETE";
  if (write && reply.status / 100 == 2) check(req.authorization == "Bearer s3cret");
  std::vector<std::string> problems;
  dnsd::Registry::load((fixture().dir / "state").string(), problems);
  check(problems.empty());
  return 0;
}
