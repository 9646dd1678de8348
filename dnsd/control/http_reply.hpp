// An incremental HTTP/1.x reply parser for dnsd's HTTP clients (the health prober on the control
// thread, the CLI's blocking client): status line, headers, and a body delimited by Content-Length,
// chunked transfer coding or the end of the connection. Bytes are fed as they arrive, in any split;
// interim 1xx replies are skipped. Every limit is enforced (head size, body size) and every malformed
// reply is an error that says what was wrong: the bytes come from the network. Control plane and CLI.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dnsd {

class HttpReplyParser {
 public:
  enum class State { more, done, error };

  // `max_body`: a longer body is an error ("reply body over N bytes"). `head_only`: the reply to a
  // HEAD request (no body whatever its headers say).
  explicit HttpReplyParser(size_t max_body = 1 << 20, bool head_only = false) : max_body_(max_body), head_only_(head_only) {}

  // Starts a new reply; keeps the buffers' capacity (a kept-alive connection parses one per request).
  void reset(bool head_only = false);
  // Starts a new reply and gives the buffers' memory back (a connection kept idle for long).
  void release();
  // Consumes `data`. Bytes after a complete reply are not consumed: `leftover()` counts them (a server
  // that sends what was not asked for; the connection cannot be reused).
  State feed(std::string_view data);
  // The connection ended: completes a body that runs to the end of the connection, and is an error
  // anywhere else ("connection closed before a reply" before any byte, "... in the reply" after).
  State end();

  State state() const noexcept { return state_; }
  int status() const noexcept { return status_; }
  const std::string& body() const noexcept { return body_; }
  // Whether the connection may carry another request: HTTP/1.1 without "Connection: close", or
  // HTTP/1.0 with "Connection: keep-alive"; a body delimited by the connection's end, or bytes after
  // the reply, rule it out.
  bool keep_alive() const noexcept { return keep_alive_ && leftover_ == 0; }
  size_t leftover() const noexcept { return leftover_; }
  const std::string& error() const noexcept { return error_; }

 private:
  enum class Phase { status, headers, body_length, body_to_end, chunk_size, chunk_data, chunk_end, trailers, done };
  State fail(std::string why);
  // One line of the head (without its CR LF); false with an error set when it is malformed.
  bool on_status_line(std::string_view line);
  bool on_header(std::string_view line);
  bool on_chunk_size(std::string_view line);
  // The head ended: picks how the body is delimited.
  void start_body();
  bool append_body(std::string_view bytes);

  size_t max_body_;
  bool head_only_;
  State state_ = State::more;
  Phase phase_ = Phase::status;
  std::string line_;  // a head, chunk-size or trailer line being gathered
  size_t head_bytes_ = 0;
  int status_ = 0;
  bool http10_ = false;
  bool keep_alive_ = true;
  bool close_ = false, keep_alive_header_ = false;
  bool chunked_ = false;
  bool to_end_ = false;  // a transfer coding other than chunked: the body runs to the connection's end
  bool has_length_ = false;
  size_t length_ = 0;     // Content-Length, or the current chunk's size
  size_t remaining_ = 0;  // bytes of the body (or chunk) still to come
  bool any_byte_ = false;
  size_t leftover_ = 0;
  std::string body_;
  std::string error_;
};

}  // namespace dnsd
