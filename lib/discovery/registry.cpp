#include "discovery/registry.h"

#include <algorithm>

#include "discovery/aws.h"
#include "discovery/azure.h"
#include "discovery/consul.h"
#include "discovery/digitalocean.h"
#include "discovery/dns.h"
#include "discovery/docker.h"
#include "discovery/dockerswarm.h"
#include "discovery/ec2.h"
#include "discovery/ecs.h"
#include "discovery/elasticache.h"
#include "discovery/eureka.h"
#include "discovery/file.h"
#include "discovery/gce.h"
#include "discovery/hetzner.h"
#include "discovery/http.h"
#include "discovery/ionos.h"
#include "discovery/kubernetes.h"
#include "discovery/kuma.h"
#include "discovery/lightsail.h"
#include "discovery/linode.h"
#include "discovery/marathon.h"
#include "discovery/msk.h"
#include "discovery/nerve.h"
#include "discovery/nomad.h"
#include "discovery/oci.h"
#include "discovery/openstack.h"
#include "discovery/outscale.h"
#include "discovery/ovhcloud.h"
#include "discovery/puppetdb.h"
#include "discovery/rds.h"
#include "discovery/scaleway.h"
#include "discovery/serverset.h"
#include "discovery/stackit.h"
#include "discovery/triton.h"
#include "discovery/uyuni.h"
#include "discovery/vultr.h"

namespace sdscope::discovery {

namespace {

// The one table of mechanisms, sorted by key. Each line names the unit
// that owns the mechanism's config block (and, later, its discoverer).
// `since` marks mechanisms newer than v2.45; the last flag says whether
// sdscope runs the discoverer (Mechanism::discovers).
constexpr Mechanism k_mechanisms[] = {
    {"aws", "aws_sd_configs", &aws::parse_config, "3.8", false, true},
    {"azure", "azure_sd_configs", &azure::parse_config, {}, true, true},
    {"consul", "consul_sd_configs", &consul::parse_config, {}, false, true},
    {"digitalocean", "digitalocean_sd_configs", &digitalocean::parse_config, {}, true, true},
    {"dns", "dns_sd_configs", &dns::parse_config, {}, true, true},
    {"docker", "docker_sd_configs", &docker::parse_config, {}, true, true},
    {"dockerswarm", "dockerswarm_sd_configs", &dockerswarm::parse_config, {}, true, true},
    {"ec2", "ec2_sd_configs", &ec2::parse_config, {}, true, true},
    {"ecs", "ecs_sd_configs", &ecs::parse_config, "3.8", false, true},
    {"elasticache", "elasticache_sd_configs", &elasticache::parse_config, "3.11", false, true},
    {"eureka", "eureka_sd_configs", &eureka::parse_config, {}, true, true},
    {"file", "file_sd_configs", &file::parse_config, {}, true, true},
    {"gce", "gce_sd_configs", &gce::parse_config, {}, true, true},
    {"hetzner", "hetzner_sd_configs", &hetzner::parse_config, {}, true, true},
    {"http", "http_sd_configs", &http::parse_config, {}, true, true},
    {"ionos", "ionos_sd_configs", &ionos::parse_config, {}, true, true},
    {"kubernetes", "kubernetes_sd_configs", &kubernetes::parse_config, {}, false, true},
    {"kuma", "kuma_sd_configs", &kuma::parse_config, {}, false, true},
    {"lightsail", "lightsail_sd_configs", &lightsail::parse_config, {}, true, true},
    {"linode", "linode_sd_configs", &linode::parse_config, {}, false, true},
    {"marathon", "marathon_sd_configs", &marathon::parse_config, {}, true, true},
    {"msk", "msk_sd_configs", &msk::parse_config, "3.10", false, true},
    {"nerve", "nerve_sd_configs", &nerve::parse_config, {}, true, true},
    {"nomad", "nomad_sd_configs", &nomad::parse_config, {}, false, true},
    {"oci", "oci_sd_configs", &oci::parse_config, "3.14", false, true},
    {"openstack", "openstack_sd_configs", &openstack::parse_config, {}, true, true},
    {"outscale", "outscale_sd_configs", &outscale::parse_config, "3.12", false, true},
    {"ovhcloud", "ovhcloud_sd_configs", &ovhcloud::parse_config, {}, true, true},
    {"puppetdb", "puppetdb_sd_configs", &puppetdb::parse_config, {}, true, true},
    {"rds", "rds_sd_configs", &rds::parse_config, "3.11", false, true},
    {"scaleway", "scaleway_sd_configs", &scaleway::parse_config, {}, true, true},
    {"serverset", "serverset_sd_configs", &serverset::parse_config, {}, true, true},
    {"stackit", "stackit_sd_configs", &stackit::parse_config, "3.5", false, true},
    {"triton", "triton_sd_configs", &triton::parse_config, {}, true, true},
    {"uyuni", "uyuni_sd_configs", &uyuni::parse_config, {}, true, true},
    {"vultr", "vultr_sd_configs", &vultr::parse_config, {}, true, true},
};

} // namespace

std::span<const Mechanism> mechanisms() { return k_mechanisms; }

const Mechanism* find_mechanism(std::string_view name) {
  for (const Mechanism& m : k_mechanisms) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

} // namespace sdscope::discovery
