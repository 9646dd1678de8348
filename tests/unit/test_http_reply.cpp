// The HTTP reply parser the prober and the CLI read replies with: every delimiting of a body, fed
// whole and a byte at a time, and every malformed reply refused with its reason.
#include <catch2/catch.hpp>

#include "http_reply.hpp"

using namespace dnsd;
using State = HttpReplyParser::State;

namespace {

// Feeds `reply` whole into one parser and a byte at a time into another; both must agree.
State parse(HttpReplyParser& p, const std::string& reply, bool end = false) {
  HttpReplyParser bytewise(1 << 20);
  for (char c : reply) bytewise.feed(std::string_view(&c, 1));
  p.feed(reply);
  if (end) {
    p.end();
    bytewise.end();
  }
  CHECK(bytewise.state() == p.state());
  CHECK(bytewise.status() == p.status());
  CHECK(bytewise.body() == p.body());
  CHECK(bytewise.error() == p.error());
  CHECK(bytewise.keep_alive() == p.keep_alive());
  return p.state();
}

}  // namespace

TEST_CASE("HTTP replies: each way a body is delimited", "[http]") {
  HttpReplyParser p;
  SECTION("Content-Length, kept alive") {
    CHECK(parse(p, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"health\":\"true\"}") == State::done);
    CHECK(p.status() == 200);
    CHECK(p.body() == "{\"health\":\"true\"}");
    CHECK(p.keep_alive());
  }
  SECTION("chunked, with extensions and trailers; bare LF line ends") {
    CHECK(parse(p, "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5;x=y\nhello\n6\n world\n0\nTrailer: 1\n\n") == State::done);
    CHECK(p.body() == "hello world");
    CHECK(p.keep_alive());
  }
  SECTION("no length: the body ends with the connection") {
    CHECK(parse(p, "HTTP/1.1 503 Service Unavailable\r\n\r\nnot yet") == State::more);
    CHECK(p.end() == State::done);
    CHECK(p.status() == 503);
    CHECK(p.body() == "not yet");
    CHECK_FALSE(p.keep_alive());
  }
  SECTION("a transfer coding other than chunked runs to the end too, whatever Content-Length says") {
    CHECK(parse(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcd", true) == State::done);
    CHECK(p.body() == "abcd");
  }
  SECTION("interim replies are skipped") {
    CHECK(parse(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok") == State::done);
    CHECK(p.status() == 201);
    CHECK(p.body() == "ok");
  }
  SECTION("204, 304 and the reply to HEAD have no body") {
    CHECK(parse(p, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n") == State::done);
    p.reset(true);
    CHECK(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n") == State::done);
    CHECK(p.body().empty());
  }
  SECTION("whether the connection can be reused") {
    CHECK(parse(p, "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n") == State::done);
    CHECK_FALSE(p.keep_alive());
    p.reset();
    CHECK(p.feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == State::done);
    CHECK_FALSE(p.keep_alive());
    p.reset();
    CHECK(p.feed("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\nContent-Length: 0\r\n\r\n") == State::done);
    CHECK(p.keep_alive());
    p.reset();
    CHECK(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab") == State::done);
    CHECK(p.body() == "a");
    CHECK(p.leftover() == 1);
    CHECK_FALSE(p.keep_alive());  // bytes nobody asked for
  }
  SECTION("reset() parses the next reply on the same connection") {
    CHECK(p.feed("HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\nx") == State::done);
    p.reset();
    CHECK(p.state() == State::more);
    CHECK(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") == State::done);
    CHECK(p.status() == 200);
    CHECK(p.body() == "ok");
  }
}

TEST_CASE("HTTP replies: malformed ones are refused with the reason", "[http]") {
  struct Row {
    std::string reply;
    bool end;
    const char* error;
  };
  const std::string big_head = "HTTP/1.1 200 OK\r\n" + std::string(17000, 'a') + ": b\r\n\r\n";
  const Row rows[] = {
      {"", true, "connection closed before a reply"},
      {"HTTP/1.1 200 OK\r\nContent-Le", true, "connection closed in the middle of the reply"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true, "connection closed in the middle of the reply"},
      {"SSH-2.0-OpenSSH_9.2\r\n", false, "not an HTTP/1.x reply: 'SSH-2.0-OpenSSH_9.2'"},
      {"HTTP/2 200\r\n", false, "not an HTTP/1.x reply: 'HTTP/2 200'"},
      {"HTTP/1.1 2x0 OK\r\n", false, "a malformed HTTP status line: 'HTTP/1.1 2x0 OK'"},
      {"HTTP/1.1 2000 OK\r\n", false, "a malformed HTTP status line: 'HTTP/1.1 2000 OK'"},
      {"HTTP/1.1 099 Low\r\n", false, "HTTP status 99 is not a status"},
      {"HTTP/1.1 101 Switching Protocols\r\n\r\n", false, "the server switched protocols (HTTP status 101)"},
      {"HTTP/1.1 200 OK\r\nno colon\r\n", false, "a malformed header line in the reply: 'no colon'"},
      {"HTTP/1.1 200 OK\r\nBad Name: x\r\n", false, "a malformed header name in the reply: 'Bad Name'"},
      {"HTTP/1.1 200 OK\r\nA: b\r\n  folded\r\n", false, "a folded header line in the reply"},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n", false, "a malformed Content-Length in the reply: '-1'"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n", false, "two different Content-Length headers in the reply"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", false, "reply body over 1048576 bytes"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, "a malformed chunked reply (chunk size 'zz')"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n", false, "reply body over 1048576 bytes"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY\r\n", false, "a malformed chunked reply (no line end after a chunk)"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(2000, '0'), false, "a malformed chunked reply (chunk line too long)"},
      {"HTTP/1.1 200 OK\r\n\r\n" + std::string(1100000, 'x'), false, "reply body over 1048576 bytes"},
      {big_head, false, "reply head over 16384 bytes"},
      {"HTTP/1.1 200 O\x01K\r\nX\x7f: y\r\n", false, "a malformed header name in the reply: 'X?'"},
  };
  for (const Row& row : rows) {
    INFO(row.reply.substr(0, 80));
    HttpReplyParser p;
    parse(p, row.reply, row.end);
    CHECK(p.state() == State::error);
    CHECK(p.error() == row.error);
    CHECK_FALSE(p.keep_alive());
    CHECK(p.feed("HTTP/1.1 200 OK\r\n\r\n") == State::error);  // an error stays one
  }
}
