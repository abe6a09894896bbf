#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sdscope::discovery::dns {

// What resolv.conf says, read as miekg/dns does (ClientConfigFromReader).
struct ResolvConf {
  std::vector<std::string> servers; // "nameserver" values as written (port 53 unless "host:port" from a test)
  std::vector<std::string> search;  // the last "search" or "domain" line wins
  int ndots = 1;                    // options ndots:N, clamped to 0..15
};
ResolvConf parse_resolv_conf(std::string_view text);

// The absolute names tried for name, in order (miekg/dns ClientConfig.NameList).
std::vector<std::string> name_list(std::string_view name, const ResolvConf& conf);

} // namespace sdscope::discovery::dns
