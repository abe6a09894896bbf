#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace sdscope::util {

// Go's base64.StdEncoding.EncodeToString (padded).
std::string encode_base64_std(std::string_view in);

// Go's base64.StdEncoding.DecodeString: padding required, '\r' and '\n'
// skipped anywhere; errors read `illegal base64 data at input byte <n>`.
Result<std::string> decode_base64_std(std::string_view text);

} // namespace sdscope::util
