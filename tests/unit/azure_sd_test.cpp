// azure_sd: the ARM body decoding and VM mapping (pure), the clouds and
// token URLs, and the discoverer against a loopback fixture that plays
// Azure AD, the instance metadata service and Azure Resource Manager
// (bearer token checked on every ARM request, nextLink paging).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "discovery/azure.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace azure = sdscope::discovery::azure;

namespace {

constexpr std::string_view k_sub = "sub-1";
constexpr std::string_view k_tenant = "tenant-1";
constexpr std::string_view k_client = "client-1";
constexpr std::string_view k_secret = "s3cret+/=";

// ARM's answer to a request whose bearer token it does not accept.
constexpr std::string_view k_invalid_token_body =
    R"({"error":{"code":"InvalidAuthenticationToken","message":"The access token is invalid."}})";
// Azure AD's answer to a wrong client secret (v1 endpoint).
constexpr std::string_view k_invalid_client_body =
    R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]})";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string vm_json(std::string_view rg, std::string_view name, std::string_view nics,
                    std::string_view extra_properties = "") {
  return fmt::format(R"({{"id":"/subscriptions/sub-1/resourceGroups/{0}/providers/Microsoft.Compute/virtualMachines/{1}",
    "name":"{1}","type":"Microsoft.Compute/virtualMachines","location":"westeurope",
    "properties":{{"storageProfile":{{"osDisk":{{"osType":"Linux"}}}},{2}
      "networkProfile":{{"networkInterfaces":[{3}]}}}}}})",
                     rg, name, extra_properties, nics);
}

std::string nic_ref(std::string_view rg, std::string_view name) {
  return fmt::format(R"({{"id":"/subscriptions/sub-1/resourceGroups/{}/providers/Microsoft.Network/networkInterfaces/{}"}})",
                     rg, name);
}

std::string nic_json(std::string_view primary, std::string_view private_ip, std::string_view public_ip = "") {
  std::string public_part =
      public_ip.empty() ? "" : fmt::format(R"(,"publicIPAddress":{{"properties":{{"ipAddress":"{}"}}}})", public_ip);
  return fmt::format(R"({{"name":"nic","properties":{{"primary":{},"ipConfigurations":[
    {{"name":"ipconfig1","properties":{{"privateIPAddress":"{}"{}}}}},
    {{"name":"ipconfig2","properties":{{"privateIPAddress":"10.9.9.9"}}}}]}}}})",
                     primary, private_ip, public_part);
}

// A fake Azure on 127.0.0.1. Azure AD issues "tok-<n>" for the right client
// secret; IMDS issues "msi-<n>"; ARM serves `routes` (path -> body, "@BASE@"
// replaced by the fixture's URL) to requests with the current token only.
class FakeAzure {
public:
  FakeAzure() {
    m_server.set_keep_alive_timeout(1);
    m_server.Post(R"(/([^/]+)/oauth2/token)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      ++token_requests;
      token_request_target = req.target;
      token_form = req.body;
      token_content_type = req.get_header_value("Content-Type");
      if (ad_status != 200) {
        res.status = ad_status;
        res.set_content(ad_body, "application/json; charset=utf-8");
        return;
      }
      if (req.get_param_value("client_secret") != k_secret || req.get_param_value("client_id") != k_client) {
        res.status = 401;
        res.set_content(std::string(k_invalid_client_body), "application/json; charset=utf-8");
        return;
      }
      issue("tok-", res);
    });
    m_server.Get("/metadata/identity/oauth2/token", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      ++token_requests;
      token_request_target = req.target;
      if (req.get_header_value("Metadata") != "true") {
        res.status = 400;
        res.set_content(R"({"error":"invalid_request","error_description":"Required metadata header not specified"})",
                        "application/json");
        return;
      }
      issue("msi-", res);
    });
    m_server.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        arm_requests.push_back(req.target);
        user_agents.push_back(req.get_header_value("User-Agent"));
        wait = delay;
        if (req.get_header_value("Authorization") != "Bearer " + current_token) {
          res.status = 401;
          res.set_header("WWW-Authenticate", R"(Bearer error="invalid_token")");
          res.set_content(std::string(k_invalid_token_body), "application/json; charset=utf-8");
          return;
        }
        auto it = routes.find(req.path);
        if (it == routes.end()) {
          res.status = 404;
          res.set_content(R"({"error":{"code":"NotFound","message":"The resource was not found."}})",
                          "application/json; charset=utf-8");
        } else {
          res.status = it->second.first;
          std::string body = it->second.second;
          for (size_t at; (at = body.find("@BASE@")) != std::string::npos;) {
            body.replace(at, 6, url());
          }
          res.set_content(body, "application/json; charset=utf-8");
        }
      }
      std::this_thread::sleep_for(wait);
    });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  template <class Fn> void change(Fn fn) {
    std::lock_guard lock(m_mutex);
    fn();
  }
  template <class T> T get(const T& field) {
    std::lock_guard lock(m_mutex);
    return field;
  }
  void stop() { m_serving.stop(); }
  void route(const std::string& path, std::string body, int status = 200) {
    change([&] { routes[path] = {status, std::move(body)}; });
  }
  discovery::DiscovererOptions options() const {
    return {{{"azure", url()}, {"azure_ad", url() + "/"}, {"azure_imds", url()}}};
  }

  int port = 0;
  int token_requests = 0;
  std::string token_request_target, token_form, token_content_type;
  int ad_status = 200;
  std::string ad_body;
  std::string current_token;
  int64_t expires_on = unix_now() + 3600;
  std::map<std::string, std::pair<int, std::string>> routes;
  std::vector<std::string> arm_requests;
  std::vector<std::string> user_agents;
  std::chrono::milliseconds delay{0};

private:
  void issue(const std::string& prefix, httplib::Response& res) {
    current_token = prefix + std::to_string(token_requests);
    res.set_content(fmt::format(R"({{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599",
      "expires_on":"{}","not_before":"{}","resource":"https://management.azure.com/","access_token":"{}"}})",
                                expires_on, expires_on - 3600, current_token),
                    "application/json; charset=utf-8");
  }

  httplib::Server m_server;
  test::LoopbackServer m_serving;
  std::mutex m_mutex;
};

azure::Config oauth_config(model::Duration interval = model::Duration::minutes(5)) {
  azure::Config config;
  config.subscription_id = std::string(k_sub);
  config.tenant_id = std::string(k_tenant);
  config.client_id = std::string(k_client);
  config.client_secret.value = std::string(k_secret);
  config.refresh_interval = interval;
  config.port = 9100;
  return config;
}

const std::string k_vms_path = "/subscriptions/sub-1/providers/Microsoft.Compute/virtualMachines";
const std::string k_sets_path = "/subscriptions/sub-1/providers/Microsoft.Compute/virtualMachineScaleSets";
const std::string k_set_vms_path =
    "/subscriptions/sub-1/resourceGroups/rg-ss/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/virtualMachines";
const std::string k_nic_base = "/subscriptions/sub-1/resourceGroups/";

// Two pages of VMs (vm1 with a primary NIC, vm2 whose NIC is gone), one
// scale set with one VM, each NIC served.
void serve_inventory(FakeAzure& fx) {
  fx.route(k_vms_path, R"({"value":[)" + vm_json("RG-One", "vm1", nic_ref("RG-One", "nic1")) +
                           R"(],"nextLink":"@BASE@/page2/vms?api-version=2018-10-01&$skiptoken=abc"})");
  fx.route("/page2/vms", R"({"value":[)" + vm_json("rg-two", "vm2", nic_ref("rg-two", "gone")) + "]}");
  fx.route(k_sets_path, R"({"value":[{"id":"/subscriptions/sub-1/resourceGroups/RG-SS/providers/Microsoft.Compute/virtualMachineScaleSets/ss1","name":"ss1"}]})");
  fx.route(k_set_vms_path,
           R"({"value":[{"instanceId":"0","id":"/subscriptions/sub-1/resourceGroups/RG-SS/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/virtualMachines/0",
             "name":"ss1_0","type":"Microsoft.Compute/virtualMachineScaleSets/virtualMachines","location":"westeurope",
             "properties":{"osProfile":{"computerName":"ss1000000"},"hardwareProfile":{"vmSize":"Standard_B1s"},
               "storageProfile":{"osDisk":{"osType":"Windows"}},
               "networkProfile":{"networkInterfaces":[{"id":"/subscriptions/sub-1/resourceGroups/RG-SS/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/virtualMachines/0/networkInterfaces/ssnic"}]}}}]})");
  fx.route(k_nic_base + "RG-One/providers/Microsoft.Network/networkInterfaces/nic1", nic_json("true", "10.0.0.4"));
  fx.route(k_nic_base + "RG-SS/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/virtualMachines/0/"
                        "networkInterfaces/ssnic",
           nic_json("true", "10.1.0.5"));
}

model::Labels vm1_target() {
  return {{"__address__", "10.0.0.4:9100"},
          {"__meta_azure_machine_id",
           "/subscriptions/sub-1/resourceGroups/RG-One/providers/Microsoft.Compute/virtualMachines/vm1"},
          {"__meta_azure_machine_location", "westeurope"},
          {"__meta_azure_machine_name", "vm1"},
          {"__meta_azure_machine_os_type", "Linux"},
          {"__meta_azure_machine_private_ip", "10.0.0.4"},
          {"__meta_azure_machine_resource_group", "rg-one"},
          {"__meta_azure_subscription_id", "sub-1"},
          {"__meta_azure_tenant_id", "tenant-1"}};
}

model::Labels ss1_target() {
  return {{"__address__", "10.1.0.5:9100"},
          {"__meta_azure_machine_computer_name", "ss1000000"},
          {"__meta_azure_machine_id",
           "/subscriptions/sub-1/resourceGroups/RG-SS/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/"
           "virtualMachines/0"},
          {"__meta_azure_machine_location", "westeurope"},
          {"__meta_azure_machine_name", "ss1_0"},
          {"__meta_azure_machine_os_type", "Windows"},
          {"__meta_azure_machine_private_ip", "10.1.0.5"},
          {"__meta_azure_machine_resource_group", "rg-ss"},
          {"__meta_azure_machine_scale_set", "ss1"},
          {"__meta_azure_machine_size", "Standard_B1s"},
          {"__meta_azure_subscription_id", "sub-1"},
          {"__meta_azure_tenant_id", "tenant-1"}};
}

// A NIC fetcher over canned bodies; an absent ID is a 404.
azure::NicFetcher nics_from(std::map<std::string, std::string> bodies) {
  return [bodies](const std::string& id) -> Result<azure::NicLookup> {
    auto it = bodies.find(id);
    if (it == bodies.end()) {
      return azure::NicLookup{true, {}};
    }
    Result<azure::NetworkInterface> nic = azure::parse_network_interface(it->second);
    if (!nic) {
      return fail(nic.error());
    }
    return azure::NicLookup{false, *nic};
  };
}

const azure::LabelContext k_context{"sub-1", "tenant-1", 80};

} // namespace

TEST_SUITE("azure_sd") {
  TEST_CASE("azure mapping: every label of a VM with tags, size, computer name and a public IP") {
    std::string body = R"({"value":[)" +
                       vm_json("My-RG", "web", nic_ref("My-RG", "secondary") + "," + nic_ref("My-RG", "main"),
                               R"("hardwareProfile":{"vmSize":"Standard_D2s_v3"},"osProfile":{"computerName":"web-host"},)") +
                       "]}";
    // tags at the top level of the VM
    body.insert(body.find(R"("location")"), R"("tags":{"env":"prod","team.name":"a b"},)");
    auto page = azure::parse_vm_page(body, "");
    REQUIRE_MESSAGE(page, (page ? "" : page.error()));
    REQUIRE(page->values.size() == 1);
    CHECK(page->next_link == "");
    const azure::VirtualMachine& vm = page->values[0];
    CHECK(vm.network_interfaces.size() == 2);

    std::string nic_prefix = "/subscriptions/sub-1/resourceGroups/My-RG/providers/Microsoft.Network/networkInterfaces/";
    auto target = azure::target_for_vm(vm, k_context,
                                       nics_from({{nic_prefix + "secondary", nic_json("false", "10.0.0.9")},
                                                  {nic_prefix + "main", nic_json("true", "10.0.0.5", "20.1.2.3")}}));
    REQUIRE(target);
    REQUIRE(*target);
    model::Labels want{{"__address__", "10.0.0.5:80"},
                       {"__meta_azure_machine_computer_name", "web-host"},
                       {"__meta_azure_machine_id",
                        "/subscriptions/sub-1/resourceGroups/My-RG/providers/Microsoft.Compute/virtualMachines/web"},
                       {"__meta_azure_machine_location", "westeurope"},
                       {"__meta_azure_machine_name", "web"},
                       {"__meta_azure_machine_os_type", "Linux"},
                       {"__meta_azure_machine_private_ip", "10.0.0.5"},
                       {"__meta_azure_machine_public_ip", "20.1.2.3"},
                       {"__meta_azure_machine_resource_group", "my-rg"},
                       {"__meta_azure_machine_size", "Standard_D2s_v3"},
                       {"__meta_azure_machine_tag_env", "prod"},
                       {"__meta_azure_machine_tag_team_name", "a b"},
                       {"__meta_azure_subscription_id", "sub-1"},
                       {"__meta_azure_tenant_id", "tenant-1"}};
    CHECK(**target == want);

    // An IPv6 private address is bracketed.
    auto v6 = azure::target_for_vm(vm, k_context, nics_from({{nic_prefix + "secondary", nic_json("true", "fd00::5")}}));
    REQUIRE(v6);
    REQUIRE(*v6);
    CHECK((*v6)->get("__address__") == "[fd00::5]:80");
  }

  TEST_CASE("azure mapping: NIC walk - 404, deallocated, no properties, no IP configuration, no private IP") {
    std::string rg = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/";
    azure::VirtualMachine vm;
    vm.id = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm";
    vm.name = "vm";
    vm.network_interfaces = {rg + "a", rg + "b"};

    auto gone = azure::target_for_vm(vm, k_context, nics_from({{rg + "b", nic_json("true", "10.0.0.1")}}));
    REQUIRE(gone);
    CHECK(!*gone); // the first NIC is a 404: the VM is dropped, not the refresh

    auto deallocated = azure::target_for_vm(
        vm, k_context, nics_from({{rg + "a", R"({"properties":{}})"}, {rg + "b", nic_json("true", "10.0.0.1")}}));
    REQUIRE(deallocated);
    CHECK(!*deallocated);

    auto next_nic = azure::target_for_vm(
        vm, k_context, nics_from({{rg + "a", R"({"name":"x"})"}, {rg + "b", nic_json("true", "10.0.0.1")}}));
    REQUIRE(next_nic);
    REQUIRE(*next_nic);
    CHECK((*next_nic)->get("__address__") == "10.0.0.1:80");

    auto no_config = azure::target_for_vm(
        vm, k_context,
        nics_from({{rg + "a", R"({"properties":{"primary":true,"ipConfigurations":[]}})"},
                   {rg + "b", nic_json("true", "10.0.0.2")}}));
    REQUIRE(no_config);
    REQUIRE(*no_config);
    CHECK((*no_config)->get("__address__") == "10.0.0.2:80");

    auto none_primary = azure::target_for_vm(
        vm, k_context, nics_from({{rg + "a", nic_json("false", "10.0.0.1")}, {rg + "b", nic_json("false", "10.0.0.2")}}));
    REQUIRE(none_primary);
    CHECK(!*none_primary);

    auto no_private = azure::target_for_vm(
        vm, k_context,
        nics_from({{rg + "a", R"({"properties":{"primary":true,"ipConfigurations":[{"properties":{}}]}})"}}));
    REQUIRE(!no_private);
    CHECK(no_private.error() == "unable to find a private IP for VM vm");

    auto fetch_error = azure::target_for_vm(vm, k_context, [](const std::string&) -> Result<azure::NicLookup> {
      return fail("boom");
    });
    REQUIRE(!fetch_error);
    CHECK(fetch_error.error() == "boom");

    vm.id = "/subscriptions/sub-1/resourceGroups/rg";
    auto bad_id = azure::target_for_vm(vm, k_context, nics_from({}));
    REQUIRE(!bad_id);
    CHECK(bad_id.error() == "invalid ID '/subscriptions/sub-1/resourceGroups/rg'. Refusing to create azureResource");
  }

  TEST_CASE("azure mapping: bodies the SDK rejects, and empty bodies") {
    auto empty = azure::parse_vm_page("  ", "");
    REQUIRE(empty);
    CHECK(empty->values.empty());

    auto syntax = azure::parse_vm_page("{", "");
    REQUIRE(!syntax);
    CHECK(syntax.error().starts_with("Error occurred unmarshalling JSON - Error = '"));
    CHECK(syntax.error().ends_with("' JSON = '{'"));

    auto value_type = azure::parse_vm_page(R"({"value":{}})", "");
    REQUIRE(!value_type);
    CHECK(value_type.error().find("json: cannot unmarshal object into Go struct field VirtualMachineListResult.value "
                                  "of type []compute.VirtualMachine") != std::string::npos);

    auto name_type = azure::parse_scale_set_page(R"({"value":[{"id":"x","name":5}]})");
    REQUIRE(!name_type);
    CHECK(name_type.error().find("json: cannot unmarshal number into Go value of type string") != std::string::npos);

    auto no_id = azure::parse_vm_page(R"({"value":[{"name":"a","type":"t","location":"l"}]})", "");
    REQUIRE(!no_id);
    CHECK(no_id.error() == "an ARM resource without id (Prometheus v2.45 crashes on it)");

    auto primary_type = azure::parse_network_interface(R"({"properties":{"primary":"yes"}})");
    REQUIRE(!primary_type);
    CHECK(primary_type.error().find("Go struct field InterfacePropertiesFormat.primary of type bool") !=
          std::string::npos);
  }

  TEST_CASE("azure service errors: OData, unwrapped, not OData, unparsable") {
    CHECK(azure::service_error(401, "application/json", k_invalid_token_body) ==
          "autorest/azure: Service returned an error. Status=401 Code=\"InvalidAuthenticationToken\" "
          "Message=\"The access token is invalid.\"");
    CHECK(azure::service_error(400, "application/json", R"({"code":"Bad","message":"m","target":"t"})") ==
          "autorest/azure: Service returned an error. Status=400 Code=\"Bad\" Message=\"m\" Target=\"t\"");
    CHECK(azure::service_error(502, "application/json", R"({"oops":1})") ==
          "autorest/azure: Service returned an error. Status=502 Code=\"Unknown\" Message=\"Unknown service error\" "
          "Details=[{\"oops\":1}]");
    CHECK(azure::service_error(500, "text/plain", "") == "autorest/azure: error response cannot be parsed: \"\" error: EOF");
  }

  TEST_CASE("azure clouds: names in any case, token URLs, unknown names, Azure Stack file") {
    auto pub = azure::environment_from_name("AzurePublicCloud");
    REQUIRE(pub);
    CHECK(pub->active_directory == "https://login.microsoftonline.com/");
    CHECK(pub->resource_manager == "https://management.azure.com/");
    auto china = azure::environment_from_name("azurechinacloud");
    REQUIRE(china);
    CHECK(china->active_directory == "https://login.chinacloudapi.cn/");
    CHECK(china->resource_manager == "https://management.chinacloudapi.cn/");
    auto german = azure::environment_from_name("AzureGermanCloud");
    REQUIRE(german);
    CHECK(german->active_directory == "https://login.microsoftonline.de/");
    CHECK(german->resource_manager == "https://management.microsoftazure.de/");
    for (std::string_view name : {"AzureUSGovernmentCloud", "AZUREUSGOVERNMENT"}) {
      auto gov = azure::environment_from_name(name);
      REQUIRE(gov);
      CHECK(gov->active_directory == "https://login.microsoftonline.us/");
      CHECK(gov->resource_manager == "https://management.usgovcloudapi.net/");
    }
    auto unknown = azure::environment_from_name("Mars");
    REQUIRE(!unknown);
    CHECK(unknown.error() == "autorest/azure: There is no cloud environment matching the name \"MARS\"");

    CHECK(azure::oauth_token_url("https://login.microsoftonline.com/", "t1") ==
          "https://login.microsoftonline.com/t1/oauth2/token?api-version=1.0");
    CHECK(azure::oauth_token_url("http://127.0.0.1:1/adfs", "t1") == "http://127.0.0.1:1/t1/oauth2/token?api-version=1.0");
    CHECK(azure::oauth_token_url("http://127.0.0.1:1", "t1") == "http://127.0.0.1:1/t1/oauth2/token?api-version=1.0");

    auto dir = test::scratch_dir();
    test::write_file(dir / "env.json", R"({"name":"stack","activeDirectoryEndpoint":"https://adfs.local/adfs/",
      "resourceManagerEndpoint":"https://arm.local/"})");
    const char* saved = std::getenv("AZURE_ENVIRONMENT_FILEPATH");
    std::string saved_value = saved == nullptr ? "" : saved;
    setenv("AZURE_ENVIRONMENT_FILEPATH", (dir / "env.json").c_str(), 1);
    auto stack = azure::environment_from_name("AzureStackCloud");
    setenv("AZURE_ENVIRONMENT_FILEPATH", (dir / "missing.json").c_str(), 1);
    auto missing = azure::environment_from_name("AZURESTACKCLOUD");
    if (saved == nullptr) {
      unsetenv("AZURE_ENVIRONMENT_FILEPATH");
    } else {
      setenv("AZURE_ENVIRONMENT_FILEPATH", saved_value.c_str(), 1);
    }
    REQUIRE(stack);
    CHECK(stack->active_directory == "https://adfs.local/adfs/");
    CHECK(stack->resource_manager == "https://arm.local/");
    REQUIRE(!missing);
    CHECK(missing.error() == "open " + (dir / "missing.json").string() + ": no such file or directory");
  }

  TEST_CASE("azure refresh: OAuth token once, every ARM request with it, nextLink, scale sets, 404 NIC skipped") {
    FakeAzure fx;
    serve_inventory(fx);
    auto discovery = azure::Discovery::make(oauth_config(), fx.options());
    REQUIRE(discovery);
    auto groups = (*discovery)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "");
    CHECK((*groups)[0].labels.empty());
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0] == vm1_target());
    CHECK((*groups)[0].targets[1] == ss1_target());

    // The token request: Azure AD v1 client credentials, form-encoded.
    CHECK(fx.get(fx.token_requests) == 1);
    CHECK(fx.get(fx.token_request_target) == "/tenant-1/oauth2/token?api-version=1.0");
    CHECK(fx.get(fx.token_content_type) == "application/x-www-form-urlencoded");
    CHECK(fx.get(fx.token_form) == "client_id=client-1&client_secret=s3cret%2B%2F%3D&grant_type=client_credentials&"
                                   "resource=https%3A%2F%2Fmanagement.azure.com%2F");

    std::vector<std::string> want{
        "/subscriptions/sub-1/providers/Microsoft.Compute/virtualMachines?api-version=2018-10-01",
        "/page2/vms?api-version=2018-10-01&$skiptoken=abc",
        "/subscriptions/sub-1/providers/Microsoft.Compute/virtualMachineScaleSets?api-version=2018-10-01",
        "/subscriptions/sub-1/resourceGroups/rg-ss/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/"
        "virtualMachines?api-version=2018-10-01",
        "/subscriptions/sub-1/resourceGroups/RG-One/providers/Microsoft.Network/networkInterfaces/nic1?api-version="
        "2018-10-01",
        "/subscriptions/sub-1/resourceGroups/rg-two/providers/Microsoft.Network/networkInterfaces/gone?api-version="
        "2018-10-01",
        "/subscriptions/sub-1/resourceGroups/RG-SS/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/"
        "virtualMachines/0/networkInterfaces/ssnic?api-version=2018-10-01"};
    CHECK(fx.get(fx.arm_requests) == want);
    for (const std::string& ua : fx.get(fx.user_agents)) {
      CHECK(ua == "Prometheus/2.45.0");
    }

    // Two more refreshes reuse the token (the fixture would 401 any other).
    REQUIRE((*discovery)->refresh({}));
    REQUIRE((*discovery)->refresh({}));
    CHECK(fx.get(fx.token_requests) == 1);
    CHECK(fx.get(fx.arm_requests).size() == 3 * want.size());

    // Within 5 minutes of expiry the token is fetched again (the new one
    // lives longer), then reused.
    fx.change([&] { fx.expires_on = unix_now() + 7200; });
    (*discovery)->set_clock([] { return unix_now() + 3600 - 299; });
    REQUIRE((*discovery)->refresh({}));
    CHECK(fx.get(fx.token_requests) == 2);
    REQUIRE((*discovery)->refresh({}));
    CHECK(fx.get(fx.token_requests) == 2);
    // A token already inside the margin is fetched for every request.
    fx.change([&] { fx.expires_on = unix_now() + 3600; });
    (*discovery)->set_clock([] { return unix_now() + 7200 - 299; });
    REQUIRE((*discovery)->refresh({}));
    CHECK(fx.get(fx.token_requests) == 2 + static_cast<int>(want.size()));
  }

  TEST_CASE("azure refresh: a token ARM does not accept gets ARM's InvalidAuthenticationToken error") {
    FakeAzure fx;
    serve_inventory(fx);
    auto discovery = azure::Discovery::make(oauth_config(), fx.options());
    REQUIRE(discovery);
    REQUIRE((*discovery)->refresh({}));
    fx.change([&] { fx.current_token = "revoked-elsewhere"; });
    auto failed = (*discovery)->refresh({});
    REQUIRE(!failed);
    CHECK(failed.error() ==
          "could not get virtual machines: could not list virtual machines: compute.VirtualMachinesClient#ListAll: "
          "Failure responding to request: StatusCode=401 -- Original Error: autorest/azure: Service returned an "
          "error. Status=401 Code=\"InvalidAuthenticationToken\" Message=\"The access token is invalid.\"");
    CHECK(failed.error().find("tok-") == std::string::npos);
  }

  TEST_CASE("azure refresh: ManagedIdentity asks IMDS with Metadata: true and the client_id") {
    FakeAzure fx;
    serve_inventory(fx);
    azure::Config config = oauth_config();
    config.authentication_method = "ManagedIdentity";
    config.tenant_id.clear();
    config.client_secret.value.clear();
    auto discovery = azure::Discovery::make(config, fx.options());
    REQUIRE(discovery);
    auto groups = (*discovery)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0].get("__meta_azure_tenant_id") == "");
    CHECK(fx.get(fx.token_request_target) == "/metadata/identity/oauth2/token?api-version=2018-02-01&client_id="
                                             "client-1&resource=https%3A%2F%2Fmanagement.azure.com%2F");
    CHECK(fx.get(fx.current_token) == "msi-1");
    REQUIRE((*discovery)->refresh({}));
    CHECK(fx.get(fx.token_requests) == 1);

    config.client_id.clear(); // the system-assigned identity
    auto system = azure::Discovery::make(config, fx.options());
    REQUIRE(system);
    REQUIRE((*system)->refresh({}));
    CHECK(fx.get(fx.token_request_target) ==
          "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F");
  }

  TEST_CASE("azure refresh: resource_group narrows both lists; the token resource follows the environment") {
    FakeAzure fx;
    azure::Config config = oauth_config();
    config.resource_group = "My RG";
    config.environment = "AzureChinaCloud";
    // (the fixture routes by the decoded path)
    fx.route("/subscriptions/sub-1/resourceGroups/My RG/providers/Microsoft.Compute/virtualMachines", R"({"value":[]})");
    fx.route("/subscriptions/sub-1/resourceGroups/My RG/providers/Microsoft.Compute/virtualMachineScaleSets",
             R"({"value":[]})");
    auto discovery = azure::Discovery::make(config, fx.options());
    REQUIRE(discovery);
    auto groups = (*discovery)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].targets.empty()); // an empty result is still one group
    CHECK(fx.get(fx.arm_requests) ==
          std::vector<std::string>{
              "/subscriptions/sub-1/resourceGroups/My%20RG/providers/Microsoft.Compute/virtualMachines?api-version="
              "2018-10-01",
              "/subscriptions/sub-1/resourceGroups/My%20RG/providers/Microsoft.Compute/virtualMachineScaleSets?api-"
              "version=2018-10-01"});
    CHECK(fx.get(fx.token_form).ends_with("resource=https%3A%2F%2Fmanagement.chinacloudapi.cn%2F"));
  }

  TEST_CASE("azure refresh: failures") {
    FakeAzure fx;
    serve_inventory(fx);
    std::string base = fx.url();

    // A wrong client secret: Azure AD's 401, no secret in the error.
    azure::Config wrong = oauth_config();
    wrong.client_secret.value = "not-it";
    auto denied = azure::Discovery::make(wrong, fx.options());
    REQUIRE(denied);
    auto ad_error = (*denied)->refresh({});
    REQUIRE(!ad_error);
    CHECK(ad_error.error() ==
          "could not get virtual machines: could not list virtual machines: azure.BearerAuthorizer#WithAuthorization: "
          "Failed to refresh the Token for request to " + base + k_vms_path +
          "?api-version=2018-10-01: StatusCode=401 -- Original Error: adal: Refresh request failed. Status Code = "
          "'401'. Response body: " + std::string(k_invalid_client_body) + " Endpoint " + base +
          "/tenant-1/oauth2/token?api-version=1.0");
    CHECK(ad_error.error().find("not-it") == std::string::npos);

    auto discovery = azure::Discovery::make(oauth_config(model::Duration::seconds(1)), fx.options());
    REQUIRE(discovery);
    REQUIRE((*discovery)->refresh({}));

    fx.route(k_sets_path, R"({"error":{"code":"InternalServerError","message":"Something went wrong."}})", 500);
    auto server_error = (*discovery)->refresh({});
    REQUIRE(!server_error);
    CHECK(server_error.error() ==
          "could not get virtual machine scale sets: could not list virtual machine scale sets: "
          "compute.VirtualMachineScaleSetsClient#ListAll: Failure responding to request: StatusCode=500 -- Original "
          "Error: autorest/azure: Service returned an error. Status=500 Code=\"InternalServerError\" "
          "Message=\"Something went wrong.\"");

    fx.route(k_sets_path, R"({"value":[]})");
    fx.route("/page2/vms", "{");
    auto malformed = (*discovery)->refresh({});
    REQUIRE(!malformed);
    CHECK(malformed.error().starts_with("could not get virtual machines: could not list virtual machines: "
                                        "compute.VirtualMachinesClient#listAllNextResults: Failure responding to next "
                                        "results request: StatusCode=200 -- Original Error: Error occurred "
                                        "unmarshalling JSON - Error = '"));

    fx.route("/page2/vms", R"({"value":[]})");
    fx.route(k_nic_base + "RG-One/providers/Microsoft.Network/networkInterfaces/nic1",
             R"({"error":{"code":"Throttled","message":"Too many requests."}})", 429);
    auto nic_error = (*discovery)->refresh({});
    REQUIRE(!nic_error);
    CHECK(nic_error.error() ==
          "unable to complete Azure service discovery: network.InterfacesClient#Get: Failure responding to request: "
          "StatusCode=429 -- Original Error: autorest/azure: Service returned an error. Status=429 "
          "Code=\"Throttled\" Message=\"Too many requests.\"");

    serve_inventory(fx);
    fx.route(k_sets_path, R"({"value":[{"id":"/bad/id","name":"x"}]})");
    auto bad_id = (*discovery)->refresh({});
    REQUIRE(!bad_id);
    CHECK(bad_id.error() == "could not get virtual machine scale set vms: could not parse scale set ID: invalid ID "
                            "'/bad/id'. Refusing to create azureResource");
    serve_inventory(fx);

    fx.change([&] { fx.delay = 1500ms; });
    auto start = std::chrono::steady_clock::now();
    auto slow = (*discovery)->refresh({}); // each request gets the refresh interval
    CHECK(std::chrono::steady_clock::now() - start < 1400ms);
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("could not get virtual machines: could not list virtual machines: "
                                   "compute.VirtualMachinesClient#ListAll: Failure sending request: StatusCode=0 -- "
                                   "Original Error: Get \"" + base + k_vms_path));
    fx.change([&] { fx.delay = 0ms; });

    azure::Config mars = oauth_config();
    mars.environment = "Mars";
    auto unknown = azure::Discovery::make(mars, fx.options());
    REQUIRE(unknown);
    auto no_cloud = (*unknown)->refresh({});
    REQUIRE(!no_cloud);
    CHECK(no_cloud.error() ==
          "could not create Azure client: autorest/azure: There is no cloud environment matching the name \"MARS\"");

    fx.stop();
    auto unreachable = (*discovery)->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("could not get virtual machines: could not list virtual machines: "
                                          "compute.VirtualMachinesClient#ListAll: Failure sending request: "
                                          "StatusCode=0 -- Original Error: Get \"" + base));
    auto fresh = azure::Discovery::make(oauth_config(), fx.options()); // no token yet: Azure AD is down too
    REQUIRE(fresh);
    auto no_ad = (*fresh)->refresh({});
    REQUIRE(!no_ad);
    CHECK(no_ad.error().find("StatusCode=0 -- Original Error: adal: Failed to execute the refresh request. Error = "
                             "'Post \"" + base + "/tenant-1/oauth2/token?api-version=1.0\": ") != std::string::npos);
  }

  TEST_CASE("azure make_discoverer: reports each failure and keeps the last good targets") {
    FakeAzure fx;
    serve_inventory(fx);
    test::RecordingSink sink;
    test::RunningDiscoverer running(oauth_config(model::Duration::seconds(1)).make_discoverer(fx.options()), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->targets == std::vector<model::Labels>{vm1_target(), ss1_target()});

    fx.route(k_vms_path, R"({"error":{"code":"InternalServerError","message":"down"}})", 500);
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1).find("Status=500 Code=\"InternalServerError\" Message=\"down\"") != std::string::npos);
    CHECK(sink.update_count() == 1); // nothing sent: the last targets stay
    CHECK(running.stop() < 1s);
  }
}
