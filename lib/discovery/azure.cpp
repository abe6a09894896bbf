// azure_sd: virtual machines and scale-set VMs from Azure Resource Manager
// (OAuth client credentials or managed identity), as Prometheus v2.45's
// discovery/azure/azure.go finds them through the autorest SDK (compute and
// network API version 2018-10-01); spec/sd-cloud.md §3.
//
// Per refresh: resolve the cloud (an unknown name fails every refresh), GET
// the subscription's (or resource group's) virtualMachines and
// virtualMachineScaleSets, each scale set's virtualMachines (every list
// followed through nextLink), then per VM its NICs by resource ID until the
// primary one. Every ARM request carries `Authorization: Bearer <token>`;
// the token comes from Azure AD (client credentials) or the instance
// metadata service (managed identity). ARM REST API:
// https://learn.microsoft.com/rest/api/compute/ and .../rest/api/virtualnetwork/
//
// Deviations from v2.45, each on purpose:
// - v2.45 builds a new client, and so fetches a new token, on every refresh;
//   here the token is kept until it is within 5 minutes of expiring (adal's
//   own margin), as the issue asks for cached tokens.
// - v2.45 fetches NICs concurrently and emits targets in arrival order;
//   here they are fetched one after another and targets keep VM order.
// - v2.45 sets no request timeout; here each request gets the refresh
//   interval, then fails the refresh (targets are kept meanwhile).
// - Where v2.45 dereferences a missing field and crashes (a VM without id,
//   name, type, location or osDisk), the refresh fails instead.
// - adal retries IMDS token requests with back-off and also knows App
//   Service / Cloud Shell identity endpoints; here IMDS is asked once.
#include "discovery/azure.h"

#include <iterator>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::azure {

namespace {

// Authentication methods added after v2.45, with the first release that
// knows them.
struct LaterMethod {
  std::string_view name;
  std::string_view since;
};
// autorest's path escaping of path parameters: url.QueryEscape with
// spaces as %20.
std::string autorest_path_escape(std::string_view s) {
  std::string escaped = util::query_escape(s);
  std::string out;
  for (char c : escaped) {
    out += c == '+' ? std::string("%20") : std::string(1, c);
  }
  return out;
}

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";

constexpr LaterMethod k_later_methods[] = {{"SDK", "2.52"}, {"WorkloadIdentity", "3.11"}};

// The cloud names autorest's EnvironmentFromName knows (upper-cased).
constexpr std::string_view k_environments[] = {"AZURECHINACLOUD",  "AZUREGERMANCLOUD",  "AZURECLOUD",
                                               "AZUREPUBLICCLOUD", "AZUREUSGOVERNMENT", "AZUREUSGOVERNMENTCLOUD",
                                               "AZURESTACKCLOUD"};

} // namespace

void Config::validate(yaml::Checker& c) const {
  // Order as in v2.45: subscription, the OAuth credentials, the method name.
  if (subscription_id.empty()) {
    c.error("azure SD configuration requires a subscription_id");
    return;
  }
  if (authentication_method == "OAuth") {
    if (tenant_id.empty()) {
      c.error("azure SD configuration requires a tenant_id");
      return;
    }
    if (client_id.empty()) {
      c.error("azure SD configuration requires a client_id");
      return;
    }
    if (client_secret.empty()) {
      c.error("azure SD configuration requires a client_secret");
      return;
    }
  }
  if (authentication_method != "OAuth" && authentication_method != "ManagedIdentity") {
    // Later releases know more methods: still v2.45's error, with a note.
    for (const LaterMethod& m : k_later_methods) {
      if (authentication_method == m.name) {
        c.warning_at("authentication_method",
                     fmt::format("authentication_method {} is new in Prometheus {}; v2.45 rejects it",
                                 util::go_quote(authentication_method), m.since));
      }
    }
    c.error_at("authentication_method",
               fmt::format("unknown authentication_type {}. Supported types are \"OAuth\" or \"ManagedIdentity\"",
                           util::go_quote(authentication_method)));
    return;
  }
  // The environment is only resolved when the client is built, on every
  // refresh; an unknown name passes the load and then fails each refresh.
  std::string upper;
  for (char ch : environment) {
    upper += ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  bool known = false;
  for (std::string_view e : k_environments) {
    known = known || upper == e;
  }
  if (!known) {
    c.warning_at("environment",
                 fmt::format("every refresh will fail: could not create Azure client: autorest/azure: There is no "
                             "cloud environment matching the name {}",
                             util::go_quote(upper)));
  }
  // v2.45 does not validate the inline HTTP client here (it does since 2.48).
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

std::string endpoint_option(const DiscovererOptions& options, std::string_view key) {
  auto it = options.endpoints.find(std::string(key));
  return it == options.endpoints.end() ? "" : it->second;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, const DiscovererOptions& options) {
  // ARM requests go through the configured HTTP client; adal's token
  // requests use Go's default client, not the HTTP block.
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  Result<std::unique_ptr<net::HttpClient>> token_client = net::HttpClient::make(net::HttpClientConfig{});
  if (!token_client) {
    return fail(token_client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, options, std::move(*client), std::move(*token_client)));
}

Discovery::Discovery(const Config& config, const DiscovererOptions& options, std::unique_ptr<net::HttpClient> client,
                     std::unique_ptr<net::HttpClient> token_client)
    : m_config(config), m_arm_override(endpoint_option(options, k_arm_endpoint_key)),
      m_ad_override(endpoint_option(options, k_ad_endpoint_key)),
      m_imds_override(endpoint_option(options, k_imds_endpoint_key)),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)), m_now(unix_now),
      m_tokens(std::move(token_client), [this] { return m_now(); }) {}

void Discovery::set_clock(std::function<int64_t()> now) { m_now = std::move(now); }

std::string Discovery::arm_path(std::string_view path) const {
  // autorest: the base URL without trailing slashes, then the path.
  std::string base = m_arm_base;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base + (path.starts_with('/') ? "" : "/") + std::string(path);
}

Result<Discovery::ArmResponse> Discovery::arm_get(const std::string& url, bool next_page, std::string_view client,
                                                  std::string_view method, bool allow_not_found,
                                                  std::stop_token stop) {
  Result<std::string> token = m_tokens.token(m_token_request, url, m_timeout, stop);
  if (!token) {
    return fail(token.error()); // autorest passes the authorizer's DetailedError up unwrapped
  }
  net::HttpHeaders headers{{"Authorization", "Bearer " + *token}, {"User-Agent", std::string(k_user_agent)}};
  if (next_page) { // the SDK's next-page preparers add AsJSON()
    headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  }
  std::string_view sending = next_page ? "Failure sending next results request" : "Failure sending request";
  std::string_view responding =
      next_page ? "Failure responding to next results request" : "Failure responding to request";
  Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, std::move(stop));
  if (!response) {
    return fail(fmt::format("{}#{}: {}: StatusCode=0 -- Original Error: {}", client, method, sending,
                            response.error()));
  }
  if (response->status == 404 && allow_not_found) {
    return ArmResponse{true, {}};
  }
  if (response->status != 200) {
    return fail(fmt::format("{}#{}: {}: StatusCode={} -- Original Error: {}", client, method, responding,
                            response->status,
                            service_error(response->status, response->content_type, response->body)));
  }
  return ArmResponse{false, std::move(response->body)};
}

template <class T, class Parse>
Result<std::vector<T>> Discovery::list_all(const std::string& url, std::string_view client, std::string_view method,
                                           std::string_view next_method, Parse parse, std::stop_token stop) {
  std::vector<T> all;
  std::string next = url;
  for (bool first = true; !next.empty(); first = false) {
    std::string_view name = first ? method : next_method;
    Result<ArmResponse> response = arm_get(next, !first, client, name, false, stop);
    if (!response) {
      return fail(response.error());
    }
    Result<Page<T>> page = parse(response->body);
    if (!page) {
      return fail(fmt::format("{}#{}: {}: StatusCode=200 -- Original Error: {}", client, name,
                              first ? "Failure responding to request" : "Failure responding to next results request",
                              page.error()));
    }
    std::move(page->values.begin(), page->values.end(), std::back_inserter(all));
    next = std::move(page->next_link);
  }
  return all;
}

Result<std::vector<VirtualMachine>> Discovery::list_vms(std::stop_token stop) {
  std::string path = "/subscriptions/" + autorest_path_escape(m_config.subscription_id);
  if (!m_config.resource_group.empty()) {
    path += "/resourceGroups/" + autorest_path_escape(m_config.resource_group);
  }
  path += "/providers/Microsoft.Compute/virtualMachines?api-version=" + std::string(k_api_version);
  bool all = m_config.resource_group.empty();
  return list_all<VirtualMachine>(
      arm_path(path), "compute.VirtualMachinesClient", all ? "ListAll" : "List",
      all ? "listAllNextResults" : "listNextResults",
      [](std::string_view body) { return parse_vm_page(body, ""); }, std::move(stop));
}

Result<std::vector<ScaleSet>> Discovery::list_scale_sets(std::stop_token stop) {
  std::string path = "/subscriptions/" + autorest_path_escape(m_config.subscription_id);
  if (!m_config.resource_group.empty()) {
    path += "/resourceGroups/" + autorest_path_escape(m_config.resource_group);
  }
  path += "/providers/Microsoft.Compute/virtualMachineScaleSets?api-version=" + std::string(k_api_version);
  bool all = m_config.resource_group.empty();
  return list_all<ScaleSet>(arm_path(path), "compute.VirtualMachineScaleSetsClient", all ? "ListAll" : "List",
                            all ? "listAllNextResults" : "listNextResults", parse_scale_set_page, std::move(stop));
}

Result<std::vector<VirtualMachine>> Discovery::list_scale_set_vms(const ScaleSet& scale_set, std::stop_token stop) {
  Result<std::string> resource_group = resource_group_of(scale_set.id);
  if (!resource_group) {
    return fail("could not parse scale set ID: " + resource_group.error());
  }
  std::string path = "/subscriptions/" + autorest_path_escape(m_config.subscription_id) + "/resourceGroups/" +
                     autorest_path_escape(*resource_group) +
                     "/providers/Microsoft.Compute/virtualMachineScaleSets/" + autorest_path_escape(scale_set.name) +
                     "/virtualMachines?api-version=" + std::string(k_api_version);
  Result<std::vector<VirtualMachine>> vms = list_all<VirtualMachine>(
      arm_path(path), "compute.VirtualMachineScaleSetVMsClient", "List", "listNextResults",
      [&](std::string_view body) { return parse_vm_page(body, scale_set.name); }, std::move(stop));
  if (!vms) {
    return fail("could not list virtual machine scale set vms: " + vms.error());
  }
  return vms;
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<CloudEnvironment> environment = environment_from_name(m_config.environment);
  if (!environment) {
    return fail("could not create Azure client: " + environment.error());
  }
  m_arm_base = m_arm_override.empty() ? environment->resource_manager : m_arm_override;
  m_token_request = TokenRequest{};
  m_token_request.resource = environment->resource_manager;
  m_token_request.client_id = m_config.client_id;
  if (m_config.authentication_method == "ManagedIdentity") {
    m_token_request.managed_identity = true;
    m_token_request.token_url = (m_imds_override.empty() ? std::string(k_imds_base) : m_imds_override) +
                                std::string(k_imds_token_path);
  } else {
    std::string authority = m_ad_override.empty() ? environment->active_directory : m_ad_override;
    if (authority.empty()) {
      return fail("could not create Azure client: parameter 'activeDirectoryEndpoint' cannot be empty");
    }
    m_token_request.tenant_id = m_config.tenant_id;
    m_token_request.client_secret = m_config.client_secret.value;
    m_token_request.token_url = oauth_token_url(authority, m_config.tenant_id);
  }

  Result<std::vector<VirtualMachine>> machines = list_vms(stop);
  if (!machines) {
    return fail("could not get virtual machines: could not list virtual machines: " + machines.error());
  }
  Result<std::vector<ScaleSet>> scale_sets = list_scale_sets(stop);
  if (!scale_sets) {
    return fail("could not get virtual machine scale sets: could not list virtual machine scale sets: " +
                scale_sets.error());
  }
  for (const ScaleSet& scale_set : *scale_sets) {
    Result<std::vector<VirtualMachine>> vms = list_scale_set_vms(scale_set, stop);
    if (!vms) {
      return fail("could not get virtual machine scale set vms: " + vms.error());
    }
    std::move(vms->begin(), vms->end(), std::back_inserter(*machines));
  }

  LabelContext context{m_config.subscription_id, m_config.tenant_id, m_config.port};
  // v2.45 fetches the NIC ID verbatim as the path, scale-set NICs too.
  NicFetcher fetch_nic = [&](const std::string& nic_id) -> Result<NicLookup> {
    Result<ArmResponse> response = arm_get(arm_path(nic_id) + "?api-version=" + std::string(k_api_version), false,
                                           "network.InterfacesClient", "Get", true, stop);
    if (!response) {
      return fail(response.error());
    }
    if (response->not_found) {
      return NicLookup{true, {}};
    }
    Result<NetworkInterface> nic = parse_network_interface(response->body);
    if (!nic) {
      return fail("network.InterfacesClient#Get: Failure responding to request: StatusCode=200 -- Original Error: " +
                  nic.error());
    }
    return NicLookup{false, std::move(*nic)};
  };
  model::TargetGroup group; // Source "" in v2.45
  for (const VirtualMachine& vm : *machines) {
    Result<std::optional<model::Labels>> target = target_for_vm(vm, context, fetch_nic);
    if (!target) {
      return fail("unable to complete Azure service discovery: " + target.error());
    }
    if (*target) {
      group.targets.push_back(std::move(**target));
    }
  }
  std::vector<model::TargetGroup> groups;
  groups.push_back(std::move(group));
  return groups;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms, options);
}

} // namespace sdscope::discovery::azure
