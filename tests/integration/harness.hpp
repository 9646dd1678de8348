// Integration harness: starts the real dnsd binary on a free loopback port, sends raw queries over
// UDP and TCP, and stops the process (by PID, always, even when a test fails).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../unit/packet.hpp"
#include "../unit/temp_dir.hpp"

namespace dnsd::test {

// A loopback port that was free for both UDP and TCP a moment ago.
uint16_t free_port();

// Starts argv[0] with its stdout and stderr appended to log_path. The child is killed with SIGKILL if
// the test process dies first (PR_SET_PDEATHSIG): no dnsd outlives its test or holds ctest's output.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path);

// A child process owned by a test: stopped (SIGTERM, then SIGKILL) when it goes out of scope.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running();
  // Waits up to timeout_ms for the process to exit; returns its exit status (128 + signal when
  // killed) or nullopt while it still runs.
  std::optional<int> wait_exit(int timeout_ms);
  std::string log() const;  // what it wrote to stdout and stderr so far
  bool wait_for_log(const std::string& text, int timeout_ms) const;

 private:
  std::string log_path_;
  pid_t pid_ = -1;
};

class DnsdProcess {
 public:
  // Runs `dnsd run -c config --listen 127.0.0.1:PORT [extra...]` (after `prefix`, a wrapper such as
  // prlimit, when given) and waits (bounded) until it answers.
  explicit DnsdProcess(const std::string& config, std::vector<std::string> extra = {}, bool wait_ready = true,
                       uint16_t port = 0, std::vector<std::string> prefix = {});
  ~DnsdProcess();
  DnsdProcess(const DnsdProcess&) = delete;
  DnsdProcess& operator=(const DnsdProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits up to timeout_ms for the process to exit; returns its exit status or nullopt.
  std::optional<int> wait_exit(int timeout_ms);
  std::string log() const;  // everything it wrote to stderr so far
  // Polls until the log contains `text` (bounded).
  bool wait_for_log(const std::string& text, int timeout_ms) const;

 private:
  TempDir dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// One UDP exchange; nullopt when no reply arrives within timeout_ms.
std::optional<Bytes> udp_exchange(uint16_t port, const Bytes& query, int timeout_ms = 1000);
// The same to any numeric address (IPv4 or IPv6) on a connected socket.
std::optional<Bytes> udp_exchange_to(const std::string& address, uint16_t port, const Bytes& query, int timeout_ms);
// Sends `query`, then a probe query on the same socket; returns the reply to `query` if one came before
// the probe's (UDP on loopback keeps order), so "no reply" is known without waiting for a timeout.
// Throws when the probe itself is not answered: the server is gone.
std::optional<Bytes> udp_exchange_probed(uint16_t port, const Bytes& query);
// Sends every query at once from one socket and collects replies until none came for quiet_ms.
std::vector<Bytes> udp_burst(uint16_t port, const std::vector<Bytes>& queries, int quiet_ms = 300);
// A TCP connection to 127.0.0.1:port (fd), or -1; tcp_connect_from binds the client to `source` first.
int tcp_connect(uint16_t port);
int tcp_connect_from(const std::string& source, uint16_t port);
// Sends all queries at once (pipelined), reads `expect` framed replies (bounded by timeout_ms).
std::vector<Bytes> tcp_exchange(uint16_t port, const std::vector<Bytes>& queries, size_t expect, int timeout_ms = 2000);
// Reads one framed reply from a connected socket; nullopt on EOF or timeout.
std::optional<Bytes> tcp_read_reply(int fd, int timeout_ms);
// An HTTP GET to 127.0.0.1:port; returns the whole response text ("" on failure).
std::string http_get(uint16_t port, const std::string& path);

struct HttpReply {
  int status = 0;  // 0: no reply
  std::string body;
};
// One HTTP/1.1 request to 127.0.0.1:port; token adds "Authorization: Bearer TOKEN".
HttpReply http_request(uint16_t port, const std::string& method, const std::string& path, const std::string& body = "",
                       const std::string& token = "");

// The minimal zone used by most integration tests, with `extra` appended to the zone YAML.
std::string write_config(const TempDir& dir, const std::string& zone_extra = "", const std::string& daemon_extra = "",
                         int workers = 2);

}  // namespace dnsd::test
