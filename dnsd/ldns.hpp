// The one way to include ldns from C++: <ldns/common.h> defines `true` and `false` as the int macros
// 1 and 0 unless stdbool.h came first, which breaks C++ templates (fmt's among them).
#pragma once

#include <stdbool.h>  // NOLINT: defines __bool_true_false_are_defined for ldns
#include <ldns/ldns.h>
