#pragma once

// Go's net.ParseIP / net.ParseCIDR as the cloud SDKs use them on API
// strings, for the labels that print the parsed value.

#include <string>

namespace sdscope::discovery {

// net.ParseIP(s).String(): the canonical form (IPv4-mapped IPv6 printed as
// IPv4), "<nil>" when s is no IP address.
std::string go_ip_string(const std::string& s);

// net.ParseIP(s).To4() != nil: an IPv4 address, also in IPv4-mapped form.
bool go_is_ipv4(const std::string& s);

// The String() of the network net.ParseCIDR(s) returns: the address masked
// to its prefix, then "/<bits>"; "<nil>" when s is no CIDR.
std::string go_cidr_network_string(const std::string& s);

} // namespace sdscope::discovery
