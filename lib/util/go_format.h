#pragma once

// Go's formatting of floats, where API requests and
// label values must come out as Prometheus writes them.

#include <string>
#include <string_view>

namespace sdscope::util {

// Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read
// back as v, in exponent form ("1e+06") when the exponent is below -4 or at
// least 6.
std::string format_float_g(double v);

} // namespace sdscope::util
