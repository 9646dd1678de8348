// The one way to include ldns from C++, and the owners of its handles. <ldns/common.h> defines `true`
// and `false` as the int macros 1 and 0 unless stdbool.h came first, which breaks C++ templates
// (fmt's among them). Control plane only: the data plane never links ldns.
#pragma once

#include <stdbool.h>  // NOLINT: defines __bool_true_false_are_defined for ldns
#include <ldns/ldns.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "raii.hpp"

namespace dnsd {

using RrPtr = CPtr<ldns_rr, ldns_rr_free>;
using RdfPtr = CPtr<ldns_rdf, ldns_rdf_deep_free>;
using PktPtr = CPtr<ldns_pkt, ldns_pkt_free>;

// An owned ldns_rdf that ldns may replace through a pointer to it (the $ORIGIN and previous-owner
// arguments of ldns_rr_new_frm_fp_l free the old name and store a new one).
class RdfSlot {
 public:
  explicit RdfSlot(ldns_rdf* rdf = nullptr) noexcept : rdf_(rdf) {}
  RdfSlot(const RdfSlot&) = delete;
  RdfSlot& operator=(const RdfSlot&) = delete;
  ~RdfSlot() { RdfPtr{rdf_}; }
  ldns_rdf** slot() noexcept { return &rdf_; }

 private:
  ldns_rdf* rdf_;
};

// Takes a string ldns allocated (ldns_rr2str, ldns_rdf2str, ...) and frees it; null gives "".
inline std::string take_ldns_string(char* text) {
  const std::unique_ptr<char, decltype(&std::free)> owned(text, &std::free);
  return text ? std::string(text) : std::string();
}

}  // namespace dnsd
