// `dnsd register` (see register.hpp): a small blocking HTTP/1.1 client for the control API.
#include "register.hpp"

#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "config.hpp"
#include "names.hpp"
#include "openssl.hpp"
#include "raii.hpp"

namespace dnsd {

namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string host;
  std::string port;
  bool tls = false;
  std::shared_ptr<SSL_CTX> ctx;  // https only (an SslCtxPtr's handle)
};

using AddrInfoPtr = CPtr<addrinfo, freeaddrinfo>;

struct Response {
  int status = 0;
  std::string body;
};

// Thrown when dnsd cannot be reached (worth retrying), as opposed to an answer saying no.
struct Unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Endpoint parse_url(const std::string& url, const RegisterOptions& o) {
  const bool tls = url.rfind("https://", 0) == 0;
  if (!tls && url.rfind("http://", 0) != 0)
    throw std::runtime_error("--control must be http://HOST:PORT or https://HOST:PORT, not '" + url + "'");
  std::string rest = url.substr(tls ? 8 : 7);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  Endpoint ep;
  ep.tls = tls;
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') {
    ep.host = rest;
    ep.port = tls ? "443" : "80";
  } else {
    ep.host = rest.substr(0, colon);
    ep.port = rest.substr(colon + 1);
  }
  if (ep.host.size() > 1 && ep.host.front() == '[') ep.host = ep.host.substr(1, ep.host.size() - 2);
  if (!tls) return ep;
  ep.ctx = client_tls_context("TLS", o.ca_file, o.cert_file, o.key_file);
  return ep;
}

std::string tls_error() {
  const unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return e ? buf : "TLS failure";
}

Response http(const Endpoint& ep, const std::string& method, const std::string& path, const std::string& token,
              const std::string& body) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(ep.host.c_str(), ep.port.c_str(), &hints, &found); rc != 0)
    throw Unreachable("cannot resolve " + ep.host + ": " + gai_strerror(rc));
  const AddrInfoPtr res(found);
  Fd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int rc = fd ? ::connect(fd.get(), res->ai_addr, res->ai_addrlen) : -1;
  const int err = errno;
  if (rc != 0) throw Unreachable(std::string("cannot connect to ") + ep.host + ":" + ep.port + ": " + std::strerror(err));
  SslPtr ssl;
  if (ep.tls) {
    ssl.reset(SSL_new(ep.ctx.get()));
    if (!ssl) throw std::runtime_error("cannot create a TLS session");
    verify_peer_name(ssl.get(), ep.host);  // the endpoint's certificate must be valid for --control's host
    SSL_set_fd(ssl.get(), fd.get());
    if (SSL_connect(ssl.get()) != 1) throw std::runtime_error("TLS with " + ep.host + ": " + tls_error());
  }
  auto send_some = [&](const char* p, size_t n) -> ssize_t {
    return ssl ? SSL_write(ssl.get(), p, int(n)) : ::send(fd.get(), p, n, MSG_NOSIGNAL);
  };
  auto recv_some = [&](char* p, size_t n) -> ssize_t {
    return ssl ? SSL_read(ssl.get(), p, int(n)) : ::recv(fd.get(), p, n, 0);
  };
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + ep.host + "\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "PUT") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  for (size_t sent = 0; sent < req.size();) {
    const ssize_t n = send_some(req.data() + sent, req.size() - sent);
    if (n <= 0) throw Unreachable("connection lost while sending");
    sent += size_t(n);
  }
  std::string raw;
  char buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (!(ssl && SSL_pending(ssl.get()) > 0) && ::poll(&p, 1, 10000) != 1) throw Unreachable("no reply within 10 s");
    const ssize_t n = recv_some(buf, sizeof buf);
    if (n < 0 && !ssl) throw Unreachable("connection lost while reading");
    if (n <= 0) break;  // TLS: close_notify or the end of the stream
    raw.append(buf, size_t(n));
  }
  Response r;
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) throw Unreachable("not an HTTP reply");
  r.status = std::atoi(raw.c_str() + 9);
  const auto head_end = raw.find("\r\n\r\n");
  r.body = head_end == std::string::npos ? "" : raw.substr(head_end + 4);
  return r;
}

// Retries while dnsd is unreachable, with exponential backoff up to the deadline.
Response http_retrying(const Endpoint& ep, const std::string& method, const std::string& path, const std::string& token,
                       const std::string& body, Clock::time_point deadline) {
  double delay = 0.2;
  for (;;) {
    try {
      return http(ep, method, path, token, body);
    } catch (const Unreachable& e) {
      if (Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay)) > deadline)
        throw std::runtime_error(std::string(e.what()) + " (gave up)");
      std::cerr << "dnsd register: " << e.what() << " (retrying in " << delay << " s)\n";
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      delay = std::min(delay * 2, 5.0);
    }
  }
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string error_text(const Response& r) {
  try {
    YAML::Node n = YAML::Load(r.body);
    std::string msg = n["error"] ? n["error"].as<std::string>() : r.body;
    if (n["field"]) msg += " (field " + n["field"].as<std::string>() + ")";
    return "HTTP " + std::to_string(r.status) + ": " + msg;
  } catch (const std::exception&) {
    return "HTTP " + std::to_string(r.status) + ": " + r.body;
  }
}

void print_config(const RegisterOptions& o, const YAML::Node& cluster) {
  const std::string host = o.host.back() == '.' ? o.host.substr(0, o.host.size() - 1) : o.host;
  const int peer_port = o.peer_port ? o.peer_port : cluster["peer_port"].as<int>();
  const int client_port = o.client_port ? o.client_port : cluster["client_port"].as<int>();
  const std::string peer_scheme = cluster["peer_tls"].as<bool>() ? "https" : "http";
  const std::string client_scheme = cluster["client_tls"].as<bool>() ? "https" : "http";
  std::string zone = o.zone;
  if (!zone.empty() && zone.back() == '.') zone.pop_back();
  // Different tokens keep two clusters of one zone from fusing.
  const std::string token = (o.cluster.empty() ? "" : o.cluster + ".") + zone;
  std::vector<std::pair<std::string, std::string>> kv = {
      {"name", o.member},
      {"discovery-srv", zone},
  };
  if (!o.cluster.empty()) kv.emplace_back("discovery-srv-name", o.cluster);
  kv.emplace_back("initial-advertise-peer-urls", peer_scheme + "://" + host + ":" + std::to_string(peer_port));
  kv.emplace_back("advertise-client-urls", client_scheme + "://" + host + ":" + std::to_string(client_port));
  kv.emplace_back("initial-cluster-token", token);
  kv.emplace_back("initial-cluster-state", "new");
  if (o.output == "flags") {
    std::string line;
    for (const auto& [k, v] : kv) line += (line.empty() ? "" : " ") + ("--" + k + "=" + v);
    std::cout << line << "\n";
    return;
  }
  if (o.output == "dropin") std::cout << "[Service]\n";
  for (const auto& [k, v] : kv) {
    std::string env = "ETCD_" + k;
    for (char& c : env) c = c == '-' ? '_' : char(std::toupper(static_cast<unsigned char>(c)));
    if (o.output == "dropin") std::cout << "Environment=" << env << "=" << v << "\n";
    else std::cout << env << "=" << v << "\n";
  }
}

}  // namespace

int run_register(const RegisterOptions& o) {
  std::signal(SIGPIPE, SIG_IGN);  // TLS writes go through write(): a closed connection must be an error, not death
  try {
    if (o.output != "flags" && o.output != "env" && o.output != "dropin")
      throw std::runtime_error("-o must be flags, env or dropin");
    if (o.zone.empty() || o.member.empty() || o.host.empty() || o.control.empty() || o.token_file.empty())
      throw std::runtime_error("--control, --token-file, --zone, --member and --host are required");
    const Endpoint ep = parse_url(o.control, o);
    const std::string token = read_token_file(o.token_file);
    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout_s));
    const std::string base = "/v1/zones/" + o.zone + "/clusters/" + (o.cluster.empty() ? "_" : o.cluster);

    std::string body = "{\"host\": " + json_string(absolute_name(o.host)) + ", \"addresses\": [";
    for (size_t i = 0; i < o.addresses.size(); ++i) body += (i ? ", " : "") + json_string(o.addresses[i]);
    body += "]";
    if (o.peer_port) body += ", \"peer_port\": " + std::to_string(o.peer_port);
    if (o.client_port) body += ", \"client_port\": " + std::to_string(o.client_port);
    body += "}";
    const Response put = http_retrying(ep, "PUT", base + "/members/" + o.member, token, body, deadline);
    if (put.status / 100 != 2) throw std::runtime_error("registration refused: " + error_text(put));
    std::cerr << "dnsd register: " << o.member << " registered in " << base.substr(10) << "\n";

    YAML::Node cluster = YAML::Load(put.body);
    size_t last_count = SIZE_MAX;
    while (o.wait && cluster["gate"].as<std::string>() == "closed") {
      const size_t count = cluster["members"].size();
      if (count != last_count)
        std::cerr << "dnsd register: waiting for the cluster to complete (" << count << "/"
                  << cluster["expected_size"].as<int>() << " members)\n";
      last_count = count;
      if (Clock::now() > deadline) throw std::runtime_error("the cluster did not complete in time");
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      const Response get = http_retrying(ep, "GET", base, "", "", deadline);
      if (get.status != 200) throw std::runtime_error("cannot read the cluster: " + error_text(get));
      cluster = YAML::Load(get.body);
    }
    print_config(o, cluster);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dnsd register: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace dnsd
