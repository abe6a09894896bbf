// ec2_sd: EC2 instances from DescribeInstances (AWS Query API, SigV4), in
// Prometheus v2.45 discovery/aws/ec2.go. Config block only; see
// spec/sd-cloud.md §2.1 to §2.6.
#include "discovery/ec2.h"

#include <fmt/format.h>

namespace sdscope::discovery::ec2 {

void check_region(yaml::Checker& c, const std::string& region, std::string_view mechanism_error) {
  if (!region.empty()) {
    return;
  }
  // v2.45 fills an empty region from the instance metadata service while it
  // loads the config. That only works on an EC2 instance, so this is a note,
  // not an error.
  c.decoder().warning(c.node(), fmt::format("region is empty: Prometheus v2.45 asks the EC2 instance metadata "
                                            "service for it at load time and, off EC2, rejects the config with "
                                            "\"{}\"",
                                            mechanism_error));
}

void Config::validate(yaml::Checker& c) const {
  check_region(c, access.region, "EC2 SD configuration requires a region");
  for (const std::optional<Filter>& f : filters) {
    if (!f) {
      // Go dereferences the nil *EC2Filter and panics.
      c.error_at("filters", "null entry in filters: Prometheus v2.45 crashes on it (nil pointer dereference)");
      return;
    }
    if (f->values.empty()) {
      c.error_at("filters", "EC2 SD configuration filter values cannot be empty");
      return;
    }
  }
  // v2.45 does not validate the inline HTTP client here (it does since 2.48).
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::ec2
