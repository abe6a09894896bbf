#pragma once

// Go's strconv.ParseInt (base 10) and strconv.ParseBool with their error
// texts, for decoders that fill Go structs from text (encoding/xml, XML-RPC).

#include <cstdint>
#include <string_view>

#include "util/result.h"

namespace sdscope::discovery {

// strconv.ParseInt(s, 10, bits): an optional sign and decimal digits;
// fails with `strconv.ParseInt: parsing "s": invalid syntax` or
// `... value out of range`.
Result<int64_t> go_parse_int(std::string_view s, int bits = 64);

// strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False; fails
// with `strconv.ParseBool: parsing "s": invalid syntax`.
Result<bool> go_parse_bool(std::string_view s);

} // namespace sdscope::discovery
