// Go's IP parsing and printing for API strings (see go_ip.h).
#include "discovery/go_ip.h"

#include <arpa/inet.h>

#include <algorithm>

namespace sdscope::discovery {

namespace {

constexpr unsigned char k_v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Parses s as IPv4 (4 bytes) or IPv6 (16 bytes) into bytes; returns the
// length, 0 when s is neither (zones are not IPs to ParseIP).
int parse_ip(const std::string& s, unsigned char bytes[16]) {
  if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
    return 4;
  }
  if (s.find('%') == std::string::npos && inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
    return 16;
  }
  return 0;
}

std::string format_ip(const unsigned char* bytes, int length) {
  char text[INET6_ADDRSTRLEN];
  if (length == 16 && std::equal(bytes, bytes + 12, k_v4_mapped_prefix)) {
    return inet_ntop(AF_INET, bytes + 12, text, sizeof text); // Go prints these as IPv4
  }
  return inet_ntop(length == 4 ? AF_INET : AF_INET6, bytes, text, sizeof text);
}

} // namespace

std::string go_ip_string(const std::string& s) {
  unsigned char bytes[16];
  int length = parse_ip(s, bytes);
  return length == 0 ? "<nil>" : format_ip(bytes, length);
}

bool go_is_ipv4(const std::string& s) {
  unsigned char bytes[16];
  int length = parse_ip(s, bytes);
  return length == 4 || (length == 16 && std::equal(bytes, bytes + 12, k_v4_mapped_prefix));
}

std::string go_cidr_network_string(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos) {
    return "<nil>";
  }
  std::string address = s.substr(0, slash);
  std::string bits_text = s.substr(slash + 1);
  unsigned char bytes[16];
  int length = parse_ip(address, bytes);
  // ParseCIDR takes the IP family from the text (a ':' means IPv6) and at
  // most three decimal digits of prefix length.
  bool v6 = address.find(':') != std::string::npos;
  if (length == 0 || (length == 16) != v6 || bits_text.empty() || bits_text.size() > 3 ||
      bits_text.find_first_not_of("0123456789") != std::string::npos) {
    return "<nil>";
  }
  int bits = std::stoi(bits_text);
  if (bits > length * 8) {
    return "<nil>";
  }
  for (int i = 0; i < length; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    bytes[i] &= static_cast<unsigned char>(0xff00 >> keep);
  }
  char text[INET6_ADDRSTRLEN];
  return std::string(inet_ntop(length == 4 ? AF_INET : AF_INET6, bytes, text, sizeof text)) + "/" +
         std::to_string(bits);
}

} // namespace sdscope::discovery
