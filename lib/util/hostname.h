#pragma once

#include <string>

#include "util/result.h"

namespace sdscope::util {

// The host's fully qualified name as Prometheus's osutil.GetFQDN finds it:
// the first name a reverse lookup gives for one of the addresses of
// os.Hostname(), absolute as Go's resolver returns it (with a trailing
// dot); the plain host name when no lookup works. Fails only when the host
// name itself cannot be read.
Result<std::string> fqdn();

} // namespace sdscope::util
