#pragma once

// File access with the error texts of Go's os package, for messages that
// must read like Prometheus's ("open <path>: no such file or directory").

#include <string>

#include "util/result.h"

namespace sdscope::util {

// syscall.Errno's text: strerror with a lower-case first letter.
std::string errno_text(int err);

// os.ReadFile: the whole file, or `open <path>: <reason>` / `read <path>: <reason>`.
Result<std::string> os_read_file(const std::string& path);

// os.Stat's error for path (`stat <path>: <reason>`), "" when it exists.
std::string os_stat_error(const std::string& path);

} // namespace sdscope::util
