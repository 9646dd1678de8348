// Integration harness (see harness.hpp).
#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace dnsd::test {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool bind_ok(int type, uint16_t port) {
  const int fd = socket(AF_INET, type, 0);
  const sockaddr_in a = loopback(port);
  const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// Claims a port against every other test on the machine, as checks.py's reserve_port does (the
// reasons are there): a file created exclusively, taken over when older than an hour.
bool reserve_port(uint16_t port) {
  const std::string dir = "/tmp/dnsd-test-ports";
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/" + std::to_string(port);
  const int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  if (fd >= 0) {
    close(fd);
    return true;
  }
  struct stat st{};
  if (stat(path.c_str(), &st) != 0 || time(nullptr) - st.st_mtime < 3600) return false;
  return utime(path.c_str(), nullptr) == 0;
}

bool poll_in(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

uint16_t free_port() {
  // Below the kernel's ephemeral range (32768+): a port picked there could equal a client port of an
  // earlier connection whose TIME_WAIT state then refuses our connects for a while.
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    const uint16_t port = uint16_t(20000 + rng() % 12000);
    if (port != 5353 && bind_ok(SOCK_STREAM, port) && bind_ok(SOCK_DGRAM, port) && reserve_port(port)) return port;
  }
  throw std::runtime_error("no free port");
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  dup2(fd, 1);
  dup2(fd, 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

namespace {

// Waits up to timeout_ms for pid to exit; resets pid to -1 and returns the status once it has.
std::optional<int> wait_for_exit(pid_t& pid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pid > 0) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_for_text(const std::string& path, const std::string& text, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_text(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, std::string log_path)
    : log_path_(std::move(log_path)), pid_(spawn(argv, log_path_)) {}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!wait_for_exit(pid_, 5000)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  return !wait_for_exit(pid_, 0).has_value();
}

std::optional<int> ChildProcess::wait_exit(int timeout_ms) { return wait_for_exit(pid_, timeout_ms); }
std::string ChildProcess::log() const { return read_text(log_path_); }
bool ChildProcess::wait_for_log(const std::string& text, int timeout_ms) const {
  return wait_for_text(log_path_, text, timeout_ms);
}

DnsdProcess::DnsdProcess(const std::string& config, std::vector<std::string> extra, bool wait_ready, uint16_t port,
                         std::vector<std::string> prefix)
    : port_(port ? port : free_port()) {
  const std::string log_path = dir_.path("stderr.log");
  std::vector<std::string> args = std::move(prefix);
  for (const char* a : {DNSD_BINARY, "run", "-c"}) args.emplace_back(a);
  args.insert(args.end(), {config, "--listen", "127.0.0.1:" + std::to_string(port_)});
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = spawn(args, log_path);
  if (!wait_ready) return;
  const Bytes probe = make_query("probe.invalid", 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (udp_exchange(port_, probe, 50)) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("dnsd exited at start:\n" + log());
    }
  }
  throw std::runtime_error("dnsd did not answer within 10 s:\n" + log());
}

DnsdProcess::~DnsdProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto status = wait_exit(5000);
  if (!status) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  // A clean stop exits 0. Anything else (a crash, a sanitizer report) is shown, and ctest fails the
  // test on the sanitizers' words (FAIL_REGULAR_EXPRESSION in tests/CMakeLists.txt).
  if (status != 0) std::fprintf(stderr, "dnsd did not stop cleanly (status %d):\n%s\n", status.value_or(-1), log().c_str());
}

void DnsdProcess::signal(int sig) const { kill(pid_, sig); }

std::optional<int> DnsdProcess::wait_exit(int timeout_ms) { return wait_for_exit(pid_, timeout_ms); }
std::string DnsdProcess::log() const { return read_text(dir_.path("stderr.log")); }
bool DnsdProcess::wait_for_log(const std::string& text, int timeout_ms) const {
  return wait_for_text(dir_.path("stderr.log"), text, timeout_ms);
}

std::optional<Bytes> udp_exchange(uint16_t port, const Bytes& query, int timeout_ms) {
  return udp_exchange_to("127.0.0.1", port, query, timeout_ms);
}

std::optional<Bytes> udp_exchange_to(const std::string& address, uint16_t port, const Bytes& query, int timeout_ms) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return std::nullopt;
  }
  const int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
  connect(fd, reinterpret_cast<const sockaddr*>(&ss), len);
  send(fd, query.data(), query.size(), 0);
  std::optional<Bytes> out;
  if (poll_in(fd, timeout_ms)) {
    Bytes buf(65536);
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) {
      buf.resize(size_t(n));
      out = buf;
    }
  }
  close(fd);
  return out;
}

std::vector<Bytes> udp_burst(uint16_t port, const std::vector<Bytes>& queries, int quiet_ms) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in a = loopback(port);
  connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  const int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  for (const Bytes& q : queries) send(fd, q.data(), q.size(), 0);
  std::vector<Bytes> out;
  Bytes buf(65536);
  while (poll_in(fd, quiet_ms)) {
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) break;
    out.emplace_back(buf.begin(), buf.begin() + n);
  }
  close(fd);
  return out;
}

std::optional<Bytes> udp_exchange_probed(uint16_t port, const Bytes& query) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in a = loopback(port);
  connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  QueryOptions o;
  o.id = query.size() >= 2 && rd16(query, 0) == 0xD0D0 ? 0xD0D1 : 0xD0D0;
  const Bytes probe = make_query("probe.invalid", 1, 1, o);
  send(fd, query.data(), query.size(), 0);
  send(fd, probe.data(), probe.size(), 0);
  std::optional<Bytes> out;
  bool probed = false;
  Bytes buf(65536);
  while (!probed && poll_in(fd, 2000)) {
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) break;
    const Bytes got(buf.begin(), buf.begin() + n);
    if (got.size() >= 12 && rd16(got, 0) == o.id && got.size() == probe.size()) probed = true;
    else out = got;
  }
  close(fd);
  if (!probed) throw std::runtime_error("the server did not answer the probe query");
  return out;
}

int tcp_connect(uint16_t port) { return tcp_connect_from("", port); }

int tcp_connect_from(const std::string& source, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local);
  }
  const sockaddr_in a = loopback(port);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::optional<Bytes> tcp_read_reply(int fd, int timeout_ms) {
  Bytes buf;
  size_t want = 2;
  bool have_len = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (buf.size() < want) {
    const int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0 || !poll_in(fd, left)) return std::nullopt;
    uint8_t chunk[4096];
    const ssize_t n = recv(fd, chunk, std::min(sizeof chunk, want - buf.size()), 0);
    if (n <= 0) return std::nullopt;
    buf.insert(buf.end(), chunk, chunk + n);
    if (!have_len && buf.size() == 2) {
      want = 2 + size_t(rd16(buf, 0));
      have_len = true;
    }
  }
  return Bytes(buf.begin() + 2, buf.end());
}

std::vector<Bytes> tcp_exchange(uint16_t port, const std::vector<Bytes>& queries, size_t expect, int timeout_ms) {
  std::vector<Bytes> out;
  const int fd = tcp_connect(port);
  if (fd < 0) return out;
  Bytes all;
  for (const Bytes& q : queries) {
    push16(all, uint16_t(q.size()));
    all.insert(all.end(), q.begin(), q.end());
  }
  send(fd, all.data(), all.size(), MSG_NOSIGNAL);
  while (out.size() < expect) {
    auto r = tcp_read_reply(fd, timeout_ms);
    if (!r) break;
    out.push_back(*r);
  }
  close(fd);
  return out;
}

std::string http_get(uint16_t port, const std::string& path) {
  const int fd = tcp_connect(port);
  if (fd < 0) return "";
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  while (poll_in(fd, 2000)) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  close(fd);
  return out;
}

HttpReply http_request(uint16_t port, const std::string& method, const std::string& path, const std::string& body,
                       const std::string& token) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  const int fd = tcp_connect(port);
  if (fd < 0) return {};
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[4096];
  while (poll_in(fd, 5000)) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, size_t(n));
  }
  close(fd);
  HttpReply r;
  if (raw.rfind("HTTP/1.1 ", 0) != 0) return r;
  r.status = std::atoi(raw.c_str() + 9);
  const auto end = raw.find("\r\n\r\n");
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  return r;
}

std::string write_config(const TempDir& dir, const std::string& zone_extra, const std::string& daemon_extra,
                         int workers) {
  dir.write("zones/lab.example.com.yaml",
            "zone: lab.example.com\n"
            "ttl: 30\n"
            "soa: { mname: ns1.lab.example.com, rname: hostmaster.lab.example.com, minimum: 10 }\n"
            "ns: [ns1.lab.example.com]\n"
            "records: |\n"
            "  ns1 3600 IN A 192.0.2.53\n"
            "clusters:\n"
            "  - name: c1\n"
            "    members:\n"
            "      - { name: e1, host: etcd-1.c1.lab.example.com, addresses: [192.0.2.21] }\n"
            "      - { name: e2, host: etcd-2.c1.lab.example.com, addresses: [192.0.2.22] }\n"
            "      - { name: e3, host: etcd-3.c1.lab.example.com, addresses: [192.0.2.23] }\n" +
                zone_extra);
  return dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\nworkers: " +
                                    std::to_string(workers) + "\n" + daemon_extra);
}

}  // namespace dnsd::test
