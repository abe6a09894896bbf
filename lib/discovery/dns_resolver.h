#pragma once

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "discovery/dns_wire.h"

namespace sdscope::discovery::dns {

// The outcome of looking up one name.
struct Resolution {
  std::string name;
  std::optional<Message> message; // the reply that answered; no answers when every candidate was NXDOMAIN
  std::string error;              // why there is no message
  bool done = false;              // false when stopped before the lookup ended
};

// Looks up every name at once with record type qtype, one Resolution per name
// in the same order. The nameservers and search list are read from
// /etc/resolv.conf on each call, unless server_override ("ip:port", several
// separated by commas; for tests only) names the servers, with no search
// domains. Returns promptly once stop is requested; unfinished lookups are
// then not done.
std::vector<Resolution> resolve(const std::vector<std::string>& names, uint16_t qtype,
                                const std::string& server_override, std::stop_token stop);

} // namespace sdscope::discovery::dns
