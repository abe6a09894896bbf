#pragma once

#include <string>

#include <tl/expected.hpp>

namespace sdscope {

// Result of an operation that can fail for reasons outside our control
// (I/O, network, malformed outside input). The error is a human-readable
// message that each layer prefixes with its own context.
template <class T> using Result = tl::expected<T, std::string>;

inline tl::unexpected<std::string> fail(std::string message) {
  return tl::unexpected<std::string>(std::move(message));
}

} // namespace sdscope
