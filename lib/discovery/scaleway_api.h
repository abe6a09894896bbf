#pragma once

// The Scaleway API as scaleway-sdk-go (the release bundled with Prometheus
// v2.45) decodes it, and the mapping of its servers to targets: pure
// functions from response bodies to target groups.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "net/http_client.h"
#include "util/result.h"

namespace sdscope::discovery::scaleway {

// instance.Server (the fields the mapping reads). An absent pointer field of
// the SDK's struct is std::nullopt here.
struct InstanceServer {
  std::string id, name, hostname, organization, project, commercial_type, zone;
  std::string boot_type; // enum: "" in JSON decodes as "local"
  std::string state;     // enum: "" decodes as "running"
  std::vector<std::string> tags;
  struct Image {
    std::string id, name, arch; // arch enum: "" decodes as "x86_64"
  };
  std::optional<Image> image;
  struct Location {
    std::string cluster_id, hypervisor_id, node_id;
  };
  std::optional<Location> location;
  struct SecurityGroup {
    std::string id, name;
  };
  std::optional<SecurityGroup> security_group;
  std::optional<std::string> private_ip;
  std::optional<std::string> public_ip; // public_ip.address as net.IP prints it
  std::optional<std::string> ipv6;      // ipv6.address as net.IP prints it
};

// One page of GET /instance/v1/zones/<zone>/servers; total_count comes from
// the body (the X-Total-Count header overrides it, see the discoverer).
struct InstancePage {
  uint32_t total_count = 0;
  std::vector<InstanceServer> servers;
};
// Fails with Go's encoding/json wording.
Result<InstancePage> parse_instance_page(std::string_view body);

// The one group of role instance: servers with a private IP become targets
// at <private_ip>:<port> (v2.45's rule).
model::TargetGroup instance_group(const std::vector<InstanceServer>& servers, int port);

// baremetal.Server, Offer and OS (the fields the mapping reads).
struct BaremetalServer {
  std::string id, name, zone, project_id, offer_id;
  std::string status; // enum: "" decodes as "unknown"
  std::vector<std::string> tags;
  std::optional<std::string> install_os_id; // install.os_id when install is set
  struct Ip {
    std::string address; // as net.IP prints it
    std::string version;  // enum: "" decodes as "IPv4"
  };
  std::vector<Ip> ips;
};
struct BaremetalOffer {
  std::string id, name;
};
struct BaremetalOs {
  std::string id, name, version;
};
struct BaremetalServersPage {
  uint32_t total_count = 0;
  std::vector<BaremetalServer> servers;
};
struct BaremetalOffersPage {
  uint32_t total_count = 0;
  std::vector<BaremetalOffer> offers;
};
struct BaremetalOsPage {
  uint32_t total_count = 0;
  std::vector<BaremetalOs> os;
};
Result<BaremetalServersPage> parse_baremetal_servers_page(std::string_view body);
Result<BaremetalOffersPage> parse_baremetal_offers_page(std::string_view body);
Result<BaremetalOsPage> parse_baremetal_os_page(std::string_view body);

// The one group of role baremetal: every server, at its first IPv4 (else
// first IPv6; none without IPs). Fails on an IP version other than IPv4 and
// IPv6 (`unknown IP version: <v>`).
Result<model::TargetGroup> baremetal_group(const std::vector<BaremetalServer>& servers,
                                           const std::vector<BaremetalOffer>& offers,
                                           const std::vector<BaremetalOs>& os, int port);

// The error scaleway-sdk-go makes of a non-2xx response (hasResponseError):
// a typed error for the API's standard error bodies (e.g. the 401
// `denied_authentication` one), else `scaleway-sdk-go: http error <status>:
// <message>`.
std::string response_error(const net::HttpResponse& response);

} // namespace sdscope::discovery::scaleway
