// dns_sd: SRV, A, AAAA and MX lookups through the system resolver
// (discovery/dns/dns.go in Prometheus v2.45). Config block only; see
// spec/sd-platforms.md §3.1.
#include "discovery/dns.h"

namespace sdscope::discovery::dns {

void Config::validate(yaml::Checker& c) const {
  if (names.empty()) {
    // Prometheus says "SRV" whatever the record type is.
    c.error("DNS-SD config must contain at least one SRV record name");
    return;
  }
  // Go's strings.ToUpper: besides a-z, U+017F (long s) and U+0131
  // (dotless i) upper-case to ASCII letters, so "\u017Frv" is SRV.
  std::string upper;
  for (size_t i = 0; i < type.size(); ++i) {
    char ch = type[i];
    if (ch >= 'a' && ch <= 'z') {
      upper += static_cast<char>(ch - 'a' + 'A');
    } else if (type.compare(i, 2, "\xC5\xBF") == 0) {
      upper += 'S';
      ++i;
    } else if (type.compare(i, 2, "\xC4\xB1") == 0) {
      upper += 'I';
      ++i;
    } else {
      upper += ch;
    }
  }
  if (upper == "A" || upper == "AAAA" || upper == "MX") {
    if (port == 0) {
      c.error("a port is required in DNS-SD configs for all record types except SRV");
      return;
    }
  } else if (upper != "SRV") {
    if (upper == "NS") {
      c.warning_at("type", "record type NS is new in Prometheus 2.49; v2.45 rejects it");
    }
    c.error_at("type", "invalid DNS-SD records type " + type);
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::dns
