// Fuzz target: what a primary (or anyone posing as one) sends a secondary. The first byte picks the
// request (SOA query, AXFR, IXFR from serial 1); the rest is a TCP stream of length-prefixed messages,
// fed to TransferReader with the ID of the first one (so that the checks past the ID are reached).
// Whatever it accepts is checked by check_copy; a copy that passes writes and reads back the same from
// its file; IXFR changes apply to a fixed copy or are refused. The input is also read as a copy file.
#include <cstdlib>

#include "transfer_in.hpp"
#include "zone_copy.hpp"

namespace {

const char* const apex = "lab.example.com.";

dnsd::ZoneCopy base_copy() {
  dnsd::ZoneCopy c;
  for (const char* text : {"lab.example.com. 60 IN SOA ns1.lab.example.com. h.example.org. 1 3600 600 86400 30",
                           "lab.example.com. 60 IN NS ns1.lab.example.com.", "ns1.lab.example.com. 60 IN A 127.0.0.1"}) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, text, 60, nullptr, nullptr) != LDNS_STATUS_OK) std::abort();
    c.rrs.emplace_back(rr);
  }
  return c;
}

std::vector<std::string> texts(const dnsd::ZoneCopy& c) {
  std::vector<std::string> out;
  for (const dnsd::RrPtr& rr : c.rrs) out.push_back(dnsd::take_ldns_string(ldns_rr2str(rr.get())));
  return out;
}

void check_servable(dnsd::ZoneCopy copy) {
  if (!dnsd::check_copy(apex, copy.rrs).empty()) return;
  dnsd::ZoneCopy back;
  if (!dnsd::parse_copy_file(dnsd::copy_file(copy), back).empty() || texts(back) != texts(copy)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    dnsd::ZoneCopy copy;
    if (dnsd::parse_copy_file(std::string(reinterpret_cast<const char*>(data), size), copy).empty())
      dnsd::check_copy(apex, copy.rrs);
  }
  if (size < 1) return 0;
  const auto kind = data[0] % 3 == 0 ? dnsd::TransferReader::Kind::soa
                    : data[0] % 3 == 1 ? dnsd::TransferReader::Kind::axfr
                                       : dnsd::TransferReader::Kind::ixfr;
  const uint8_t* p = data + 1;
  size_t left = size - 1;
  const uint16_t id = left >= 4 ? uint16_t(p[2] << 8 | p[3]) : 0;
  const dnsd::ZoneCopy base = base_copy();
  dnsd::TransferReader reader(apex, kind, id, base.serial(), std::nullopt);
  dnsd::TransferReader::State state = dnsd::TransferReader::State::more;
  while (left >= 2 && state == dnsd::TransferReader::State::more) {
    const size_t n = std::min<size_t>(size_t(p[0]) << 8 | p[1], left - 2);
    state = reader.feed(p + 2, n, 0);
    p += 2 + n;
    left -= 2 + n;
  }
  if (state == dnsd::TransferReader::State::failed && reader.error().empty()) std::abort();
  if (state != dnsd::TransferReader::State::done) return 0;
  if (reader.outcome() == dnsd::TransferReader::Outcome::whole && kind != dnsd::TransferReader::Kind::soa) {
    dnsd::ZoneCopy copy;
    copy.rrs = std::move(reader.records());
    check_servable(std::move(copy));
  } else if (reader.outcome() == dnsd::TransferReader::Outcome::incremental) {
    dnsd::ZoneCopy next;
    if (dnsd::apply_changes(base, reader.changes(), next).empty()) check_servable(std::move(next));
  }
  return 0;
}
