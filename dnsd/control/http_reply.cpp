// The incremental HTTP/1.x reply parser (see http_reply.hpp). The head is read line by line (LF or
// CR LF), the body by count: Content-Length, chunk sizes (RFC 9112 §7.1), or to the connection's end.
#include "http_reply.hpp"

#include <cstring>

namespace dnsd {

namespace {

constexpr size_t max_head = 16 * 1024;  // status line and headers; trailers count against it too
constexpr size_t max_chunk_line = 1024;

// Bytes from the network, quoted in an error: at most 40, anything unprintable as '?'.
std::string shown(std::string_view s) {
  std::string out(s.substr(0, 40));
  for (char& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool equals_lower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (char(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]) != lower[i]) return false;
  return true;
}

// Calls f(token) for each comma-separated element of a header value, trimmed, empty ones skipped.
template <typename F>
void each_element(std::string_view value, F f) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view element = trim(value.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

void HttpReplyParser::reset(bool head_only) {
  head_only_ = head_only;
  state_ = State::more;
  phase_ = Phase::status;
  line_.clear();
  head_bytes_ = 0;
  status_ = 0;
  http10_ = false;
  keep_alive_ = true;
  close_ = keep_alive_header_ = chunked_ = to_end_ = has_length_ = false;
  length_ = remaining_ = 0;
  any_byte_ = false;
  leftover_ = 0;
  body_.clear();
  error_.clear();
}

void HttpReplyParser::release() {
  reset(head_only_);
  std::string().swap(body_);
  std::string().swap(line_);
}

HttpReplyParser::State HttpReplyParser::fail(std::string why) {
  error_ = std::move(why);
  keep_alive_ = false;
  body_.clear();  // never half a body
  return state_ = State::error;
}

HttpReplyParser::State HttpReplyParser::feed(std::string_view data) {
  if (state_ == State::error) return state_;
  if (!data.empty()) any_byte_ = true;
  while (!data.empty()) {
    switch (phase_) {
      case Phase::done:
        leftover_ += data.size();
        return state_;
      case Phase::body_length:
      case Phase::chunk_data:
      case Phase::body_to_end: {
        const size_t n = phase_ == Phase::body_to_end ? data.size() : std::min(remaining_, data.size());
        if (!append_body(data.substr(0, n))) return state_;
        data.remove_prefix(n);
        if (phase_ == Phase::body_to_end) break;
        remaining_ -= n;
        if (remaining_ == 0) {
          if (phase_ == Phase::body_length) {
            phase_ = Phase::done;
            state_ = State::done;
          } else {
            phase_ = Phase::chunk_end;
          }
        }
        break;
      }
      default: {  // a line: the status, a header, a chunk size, a chunk's end, a trailer
        const size_t lf = data.find('\n');
        const size_t take = lf == std::string_view::npos ? data.size() : lf + 1;
        const size_t limit = phase_ == Phase::chunk_size || phase_ == Phase::chunk_end ? max_chunk_line : max_head;
        const size_t counted = phase_ == Phase::chunk_size || phase_ == Phase::chunk_end ? line_.size() : head_bytes_;
        if (counted + take > limit)
          return fail(phase_ == Phase::chunk_size || phase_ == Phase::chunk_end ? "a malformed chunked reply (chunk line too long)"
                                                                               : "reply head over " + std::to_string(max_head) + " bytes");
        if (phase_ != Phase::chunk_size && phase_ != Phase::chunk_end) head_bytes_ += take;
        std::string_view line;
        if (lf == std::string_view::npos) {
          line_.append(data);
          return state_;
        }
        if (line_.empty()) {
          line = data.substr(0, lf);
        } else {
          line_.append(data.substr(0, lf));
          line = line_;
        }
        data.remove_prefix(take);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        bool ok = true;
        switch (phase_) {
          case Phase::status: ok = on_status_line(line); break;
          case Phase::headers:
            if (line.empty()) start_body();
            else ok = on_header(line);
            break;
          case Phase::chunk_size: ok = on_chunk_size(line); break;
          case Phase::chunk_end:
            ok = line.empty();
            if (!ok) fail("a malformed chunked reply (no line end after a chunk)");
            phase_ = Phase::chunk_size;
            break;
          case Phase::trailers:
            if (line.empty()) {
              phase_ = Phase::done;
              state_ = State::done;
            }
            break;
          default: break;
        }
        line_.clear();
        if (!ok || state_ == State::error) return state_;
      }
    }
  }
  return state_;
}

HttpReplyParser::State HttpReplyParser::end() {
  if (state_ != State::more) return state_;
  if (phase_ == Phase::body_to_end) {
    phase_ = Phase::done;
    return state_ = State::done;
  }
  return fail(any_byte_ ? "connection closed in the middle of the reply" : "connection closed before a reply");
}

bool HttpReplyParser::on_status_line(std::string_view line) {
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ') {
    fail("not an HTTP/1.x reply: '" + shown(line) + "'");
    return false;
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      fail("a malformed HTTP status line: '" + shown(line) + "'");
      return false;
    }
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ') {
    fail("a malformed HTTP status line: '" + shown(line) + "'");
    return false;
  }
  if (status < 100 || status > 599) {
    fail("HTTP status " + std::to_string(status) + " is not a status");
    return false;
  }
  status_ = status;
  http10_ = line[7] == '0';
  phase_ = Phase::headers;
  return true;
}

bool HttpReplyParser::on_header(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    fail("a folded header line in the reply");
    return false;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    fail("a malformed header line in the reply: '" + shown(line) + "'");
    return false;
  }
  const std::string_view name = line.substr(0, colon);
  for (char c : name)
    if (!is_token_char(c)) {
      fail("a malformed header name in the reply: '" + shown(name) + "'");
      return false;
    }
  const std::string_view value = trim(line.substr(colon + 1));
  if (equals_lower(name, "content-length")) {
    if (value.empty() || value.size() > 12 || value.find_first_not_of("0123456789") != std::string_view::npos) {
      fail("a malformed Content-Length in the reply: '" + shown(value) + "'");
      return false;
    }
    const size_t length = std::stoull(std::string(value));
    if (has_length_ && length != length_) {
      fail("two different Content-Length headers in the reply");
      return false;
    }
    has_length_ = true;
    length_ = length;
  } else if (equals_lower(name, "transfer-encoding")) {
    // The last coding decides: chunked, or a body that runs to the connection's end.
    bool last_chunked = false;
    each_element(value, [&](std::string_view coding) { last_chunked = equals_lower(coding, "chunked"); });
    chunked_ = last_chunked;
    to_end_ = !last_chunked;
  } else if (equals_lower(name, "connection")) {
    each_element(value, [&](std::string_view option) {
      if (equals_lower(option, "close")) close_ = true;
      if (equals_lower(option, "keep-alive")) keep_alive_header_ = true;
    });
  }
  return true;
}

void HttpReplyParser::start_body() {
  keep_alive_ = !close_ && (!http10_ || keep_alive_header_);
  if (status_ == 101) {
    fail("the server switched protocols (HTTP status 101)");
    return;
  }
  if (status_ < 200) {  // an interim reply (100 Continue, 103 Early Hints): the real one follows
    const bool head_only = head_only_;
    const size_t leftover = leftover_;
    reset(head_only);
    any_byte_ = true;
    leftover_ = leftover;
    return;
  }
  if (head_only_ || status_ == 204 || status_ == 304) {
    phase_ = Phase::done;
    state_ = State::done;
  } else if (chunked_) {
    phase_ = Phase::chunk_size;
  } else if (has_length_ && !to_end_) {
    remaining_ = length_;
    if (length_ > max_body_) {
      fail("reply body over " + std::to_string(max_body_) + " bytes");
      return;
    }
    phase_ = length_ == 0 ? Phase::done : Phase::body_length;
    if (length_ == 0) state_ = State::done;
  } else {
    keep_alive_ = false;  // the body ends with the connection
    phase_ = Phase::body_to_end;
  }
}

bool HttpReplyParser::on_chunk_size(std::string_view line) {
  const size_t semicolon = line.find(';');
  const std::string_view digits = trim(line.substr(0, semicolon));
  if (digits.empty() || digits.size() > 10 || digits.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
    fail("a malformed chunked reply (chunk size '" + shown(digits) + "')");
    return false;
  }
  const size_t size = std::stoull(std::string(digits), nullptr, 16);
  if (size == 0) {
    phase_ = Phase::trailers;
    return true;
  }
  if (size > max_body_ - body_.size()) {
    fail("reply body over " + std::to_string(max_body_) + " bytes");
    return false;
  }
  remaining_ = size;
  phase_ = Phase::chunk_data;
  return true;
}

bool HttpReplyParser::append_body(std::string_view bytes) {
  if (bytes.size() > max_body_ - body_.size()) {
    fail("reply body over " + std::to_string(max_body_) + " bytes");
    return false;
  }
  body_.append(bytes);
  return true;
}

}  // namespace dnsd
