// digitalocean_sd: the droplet and database mappings (pure), and both roles
// against a loopback fake of the DigitalOcean API that checks every request.

#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cloud_api_fixture.h"
#include "discovery/digitalocean.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace digitalocean = sdscope::discovery::digitalocean;
using Answer = test::FakeCloudApi::Answer;
using Request = test::FakeCloudApi::Request;

namespace {

// DigitalOcean's answer to a missing or wrong token.
const char* const k_unauthorized = R"({"id":"Unauthorized","message":"Unable to authenticate you"})";

const char* const k_droplet_a = R"({
  "id": 3164444, "name": "web-1", "memory": 1024, "vcpus": 1, "disk": 25, "locked": false, "status": "active",
  "created_at": "2020-07-21T18:37:44Z", "features": ["backups", "ipv6", "virtio"], "backup_ids": [],
  "image": {"id": 63663980, "name": "20.04 (LTS) x64", "distribution": "Ubuntu", "slug": "ubuntu-20-04-x64",
            "public": true, "regions": ["nyc3"]},
  "size_slug": "s-1vcpu-1gb",
  "networks": {"v4": [{"ip_address": "10.128.192.124", "netmask": "255.255.0.0", "gateway": "nil", "type": "private"},
                      {"ip_address": "127.0.0.31", "netmask": "255.255.240.0", "gateway": "127.0.0.1", "type": "public"}],
               "v6": [{"ip_address": "2604:a880:800:10::7e4:a001", "netmask": 64, "gateway": "2604:a880:800:10::1",
                       "type": "public"}]},
  "region": {"name": "New York 3", "slug": "nyc3", "features": ["backups"], "available": true},
  "tags": ["web", "env:prod"], "vpc_uuid": "f9b0769c-e118-42fb-a0c4-fed15ef69662"})";

const char* const k_droplet_b = R"({
  "id": 3164445, "name": "private-only", "status": "off", "features": [], "tags": [],
  "image": {"slug": "", "name": "snapshot"}, "size_slug": "s-2vcpu-2gb",
  "networks": {"v4": [{"ip_address": "10.128.0.9", "type": "private"}], "v6": []},
  "region": {"slug": "fra1"}, "vpc_uuid": ""})";

const char* const k_droplet_no_v4 = R"({"id": 3164446, "name": "no-v4", "image": {}, "region": {},
                                        "networks": {"v4": [], "v6": []}})";

// Page n of 2, with godo-style links.
std::string droplets_page(int n) {
  if (n == 1) {
    return std::string(R"({"droplets":[)") + k_droplet_a + "," + k_droplet_no_v4 +
           R"(],"links":{"pages":{"last":"https://api.digitalocean.com/v2/droplets?page=2",)"
           R"("next":"https://api.digitalocean.com/v2/droplets?page=2"}},"meta":{"total":3}})";
  }
  return std::string(R"({"droplets":[)") + k_droplet_b +
         R"(],"links":{"pages":{"first":"https://api.digitalocean.com/v2/droplets?page=1",)"
         R"("prev":"https://api.digitalocean.com/v2/droplets?page=1"}},"meta":{"total":3}})";
}

model::Labels droplet_a_labels(int port = 80) {
  return {{"__address__", "127.0.0.31:" + std::to_string(port)},
          {"__meta_digitalocean_droplet_id", "3164444"},
          {"__meta_digitalocean_droplet_name", "web-1"},
          {"__meta_digitalocean_features", ",backups,ipv6,virtio,"},
          {"__meta_digitalocean_image", "ubuntu-20-04-x64"},
          {"__meta_digitalocean_image_name", "20.04 (LTS) x64"},
          {"__meta_digitalocean_private_ipv4", "10.128.192.124"},
          {"__meta_digitalocean_public_ipv4", "127.0.0.31"},
          {"__meta_digitalocean_public_ipv6", "2604:a880:800:10::7e4:a001"},
          {"__meta_digitalocean_region", "nyc3"},
          {"__meta_digitalocean_size", "s-1vcpu-1gb"},
          {"__meta_digitalocean_status", "active"},
          {"__meta_digitalocean_tags", ",web,env:prod,"},
          {"__meta_digitalocean_vpc", "f9b0769c-e118-42fb-a0c4-fed15ef69662"}};
}

model::Labels droplet_b_labels() {
  return {{"__address__", ":80"},
          {"__meta_digitalocean_droplet_id", "3164445"},
          {"__meta_digitalocean_droplet_name", "private-only"},
          {"__meta_digitalocean_image_name", "snapshot"},
          {"__meta_digitalocean_private_ipv4", "10.128.0.9"},
          {"__meta_digitalocean_region", "fra1"},
          {"__meta_digitalocean_size", "s-2vcpu-2gb"},
          {"__meta_digitalocean_status", "off"}};
}

const char* const k_databases = R"({"databases":[
  {"id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30", "name": "backend", "engine": "pg", "version": "16",
   "connection": {"uri": "postgres://...", "host": "backend.db.ondigitalocean.com", "port": 25060},
   "private_connection": {"host": "private-backend.db.ondigitalocean.com", "port": 25060},
   "num_nodes": 2, "size": "db-s-2vcpu-4gb", "region": "nyc3", "status": "online", "tags": ["prod", "team:a"]},
  {"id": "c1", "name": "cache", "engine": "redis", "version": "7", "connection": {"host": "127.0.0.41"},
   "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "fra1", "status": "creating"},
  {"id": "c2", "name": "nohost", "engine": "mysql", "num_nodes": 1}]})";

const std::vector<model::Labels> k_database_targets = {
    {{"__address__", "private-backend.db.ondigitalocean.com:5432"},
     {"__meta_digitalocean_db_engine", "pg"},
     {"__meta_digitalocean_db_host", "backend.db.ondigitalocean.com"},
     {"__meta_digitalocean_db_id", "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"},
     {"__meta_digitalocean_db_name", "backend"},
     {"__meta_digitalocean_db_num_nodes", "2"},
     {"__meta_digitalocean_db_private_host", "private-backend.db.ondigitalocean.com"},
     {"__meta_digitalocean_db_region", "nyc3"},
     {"__meta_digitalocean_db_size", "db-s-2vcpu-4gb"},
     {"__meta_digitalocean_db_status", "online"},
     {"__meta_digitalocean_db_tag_prod", "true"},
     {"__meta_digitalocean_db_tag_team:a", "true"},
     {"__meta_digitalocean_db_version", "16"}},
    {{"__address__", "127.0.0.41:5432"},
     {"__meta_digitalocean_db_engine", "redis"},
     {"__meta_digitalocean_db_host", "127.0.0.41"},
     {"__meta_digitalocean_db_id", "c1"},
     {"__meta_digitalocean_db_name", "cache"},
     {"__meta_digitalocean_db_num_nodes", "1"},
     {"__meta_digitalocean_db_region", "fra1"},
     {"__meta_digitalocean_db_size", "db-s-1vcpu-1gb"},
     {"__meta_digitalocean_db_status", "creating"},
     {"__meta_digitalocean_db_version", "7"}},
    {{"__meta_digitalocean_db_engine", "mysql"},
     {"__meta_digitalocean_db_id", "c2"},
     {"__meta_digitalocean_db_name", "nohost"},
     {"__meta_digitalocean_db_num_nodes", "1"}}};

// A fake DigitalOcean API that wants `Bearer good-token`: droplets on two
// pages, database clusters on one page (then an empty one).
void serve(test::FakeCloudApi& api) {
  api.set([](const Request& r) -> Answer {
    if (r.authorization != "Bearer good-token") {
      return {401, k_unauthorized};
    }
    if (r.path == "/v2/droplets") {
      return {200, droplets_page(r.query == "page=2" ? 2 : 1)};
    }
    if (r.path == "/v2/databases") {
      return {200, r.query == "page=1&per_page=100" ? k_databases : R"({"databases":[]})"};
    }
    return {404, R"({"id":"not_found","message":"The resource you requested could not be found."})"};
  });
}

digitalocean::Config config_of(const std::string& yaml) {
  test::SdResult r = test::decode_sd("digitalocean", yaml);
  for (const std::string& error : r.errors) { // lint notes (fields newer than v2.45) are fine
    REQUIRE_MESSAGE(error.find(": warning: ") != std::string::npos, error);
  }
  return dynamic_cast<const digitalocean::Config&>(*r.config);
}

std::unique_ptr<digitalocean::Discovery> discovery_for(const std::string& yaml, const test::FakeCloudApi& api) {
  auto d = digitalocean::Discovery::make(config_of(yaml), api.url());
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

std::string refresh_error(std::unique_ptr<digitalocean::Discovery>& discovery) {
  auto groups = discovery->refresh({});
  REQUIRE(!groups);
  return groups.error();
}

} // namespace

TEST_SUITE("digitalocean_sd") {
  TEST_CASE("droplets_group: every label; droplets without IPv4 are skipped, without a public one kept") {
    std::vector<std::string> pages = {droplets_page(1), droplets_page(2)};
    auto group = digitalocean::droplets_group(pages, 80);
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(group->source == "DigitalOcean");
    REQUIRE(group->targets.size() == 2);
    CHECK(group->targets[0] == droplet_a_labels());
    CHECK(group->targets[1] == droplet_b_labels());

    group = digitalocean::droplets_group(std::vector<std::string>{R"({"droplets":[{"id":1}]})", ""}, 80);
    REQUIRE(group); // no networks: skipped; an empty body is no page at all
    CHECK(group->targets.empty());
  }

  TEST_CASE("droplets_group: bodies Go's decoder rejects") {
    auto check_error = [](const std::string& body, const std::string& want) {
      auto group = digitalocean::droplets_group(std::vector<std::string>{body}, 80);
      REQUIRE(!group);
      CHECK(group.error() == want);
    };
    check_error("[]", "json: cannot unmarshal array into Go value of type godo.dropletsRoot");
    check_error(R"({"droplets":[{"id":"1"}]})",
                "json: cannot unmarshal string into Go struct field Droplet.droplets.id of type int");
    check_error(R"({"droplets":[{"tags":"a"}]})",
                "json: cannot unmarshal string into Go struct field Droplet.droplets.tags of type []string");
    check_error(R"({"droplets":[{"networks":{"v4":[{"ip_address":1}]}}]})",
                "json: cannot unmarshal number into Go struct field NetworkV4.droplets.networks.v4.ip_address of "
                "type string");
    auto syntax = digitalocean::droplets_group(std::vector<std::string>{"{"}, 80);
    REQUIRE(!syntax);
    CHECK(syntax.error().starts_with("invalid JSON: "));
  }

  TEST_CASE("databases_group (3.12): private host first, tags as labels, no address without a host") {
    auto group = digitalocean::databases_group(std::vector<std::string>{k_databases}, 5432);
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(group->source == "DigitalOcean Databases");
    CHECK(group->targets == k_database_targets);
    auto bad = digitalocean::databases_group(std::vector<std::string>{R"({"databases":[{"num_nodes":"2"}]})"}, 80);
    REQUIRE(!bad);
    CHECK(bad.error() == "json: cannot unmarshal string into Go struct field Database.databases.num_nodes of type int");
  }

  TEST_CASE("droplets refresh: every request (path, query, token, headers), two pages") {
    test::FakeCloudApi api;
    serve(api);
    auto discovery = discovery_for("bearer_token: good-token\nport: 9100\n", api);
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0] == droplet_a_labels(9100));
    std::vector<Request> seen = api.take();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].path == "/v2/droplets");
    CHECK(seen[0].query == "");
    CHECK(seen[1].path == "/v2/droplets");
    CHECK(seen[1].query == "page=2");
    for (const Request& r : seen) {
      CHECK(r.authorization == "Bearer good-token");
      CHECK(r.accept == "application/json");
      CHECK(r.user_agent == "Prometheus/2.45.0 godo/1.99.0");
    }
  }

  TEST_CASE("droplets refresh: the next page comes from links.pages.prev, not from next") {
    test::FakeCloudApi api;
    api.set([](const Request& r) -> Answer {
      if (r.query == "") {
        return {200, R"({"droplets":[],"links":{"pages":{"prev":"https://x/v2/droplets?page=4","next":"https://x/v2/droplets?page=9"}}})"};
      }
      return {200, R"({"droplets":[],"links":{"pages":{"prev":"https://x/v2/droplets?page=5"}}})"};
    });
    auto discovery = discovery_for("authorization: {credentials: t}\n", api);
    REQUIRE(discovery->refresh({}));
    std::vector<Request> seen = api.take();
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].query == "page=6"); // prev is page 4, so this was page 5
    CHECK(seen[1].authorization == "Bearer t");

    api.set([](const Request&) {
      return Answer{200, R"({"droplets":[],"links":{"pages":{"prev":"https://x/v2/droplets?page=x","next":"n"}}})"};
    });
    CHECK(refresh_error(discovery) == "strconv.Atoi: parsing \"x\": invalid syntax");
  }

  TEST_CASE("databases refresh (3.12): page and per_page until an empty page") {
    test::FakeCloudApi api;
    serve(api);
    auto discovery = discovery_for("bearer_token: good-token\nrole: databases\nport: 5432\n", api);
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].targets == k_database_targets);
    std::vector<Request> seen = api.take();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].path == "/v2/databases");
    CHECK(seen[0].query == "page=1&per_page=100");
    CHECK(seen[1].query == "page=2&per_page=100");

    api.set([](const Request&) { return Answer{401, k_unauthorized}; });
    CHECK(refresh_error(discovery) == "error while listing database clusters page 1: GET " + api.url() +
                                          "/v2/databases?page=1&per_page=100: 401 Unable to authenticate you");
  }

  TEST_CASE("droplets refresh: a wrong token gets DigitalOcean's 401 and fails") {
    test::FakeCloudApi api;
    serve(api);
    auto discovery = discovery_for("bearer_token: bad-token\n", api);
    CHECK(refresh_error(discovery) ==
          "error while listing droplets page 0: GET " + api.url() + "/v2/droplets: 401 Unable to authenticate you");
    CHECK(api.take()[0].authorization == "Bearer bad-token");
  }

  TEST_CASE("droplets refresh: failures") {
    test::FakeCloudApi api;
    auto discovery = discovery_for("bearer_token: t\nrefresh_interval: 300ms\n", api);
    std::string prefix = "error while listing droplets page 0: ";
    api.set([](const Request&) {
      return Answer{500, R"({"id":"server_error","message":"Server Error","request_id":"abc-123"})"};
    });
    CHECK(refresh_error(discovery) == prefix + "GET " + api.url() + "/v2/droplets: 500 (request \"abc-123\") Server Error");
    api.set([](const Request&) { return Answer{502, "<html>bad gateway</html>", "text/html"}; });
    CHECK(refresh_error(discovery) == prefix + "GET " + api.url() + "/v2/droplets: 502 <html>bad gateway</html>");
    api.set([](const Request&) { return Answer{200, R"({"droplets": {}})"}; });
    CHECK(refresh_error(discovery) == prefix + "json: cannot unmarshal object into Go struct field "
                                               "dropletsRoot.droplets of type []godo.Droplet");
    api.set([](const Request&) { return Answer{200, "{"}; });
    CHECK(refresh_error(discovery).starts_with(prefix + "invalid JSON: "));

    // A failure on page 2 names it.
    api.set([](const Request& r) {
      return r.query.empty() ? Answer{200, droplets_page(1)} : Answer{500, ""};
    });
    CHECK(refresh_error(discovery) == "error while listing droplets page 2: GET " + api.url() +
                                          "/v2/droplets?page=2: 500 ");

    api.set([](const Request&) { return Answer{200, R"({"droplets":[]})"}; });
    api.set_delay(600ms);
    auto start = std::chrono::steady_clock::now();
    std::string slow = refresh_error(discovery);
    CHECK(std::chrono::steady_clock::now() - start < 550ms);
    CHECK(slow.starts_with(prefix + "Get \"" + api.url() + "/v2/droplets\": "));
    CHECK(slow.find("context deadline exceeded") != std::string::npos);
    api.set_delay(0ms);

    std::string url = api.url();
    api.stop();
    CHECK(refresh_error(discovery).starts_with(prefix + "Get \"" + url + "/v2/droplets\": "));
  }

  TEST_CASE("make_discoverer: the endpoints hook, failures reported, the last good targets kept") {
    test::FakeCloudApi api;
    serve(api);
    digitalocean::Config config = config_of("bearer_token: good-token\nrefresh_interval: 1s\n");
    discovery::DiscovererOptions options;
    options.endpoints[std::string(digitalocean::k_endpoint_key)] = api.url();
    test::RecordingSink sink;
    test::RunningDiscoverer running(config.make_discoverer(options), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);

    api.set([](const Request&) { return Answer{401, k_unauthorized}; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1).find("401 Unable to authenticate you") != std::string::npos);
    CHECK(sink.update_count() == 1); // nothing sent: the two droplets stay

    serve(api);
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    CHECK(sink.update_count() == 2);
    CHECK(running.stop() < 500ms);
  }

  TEST_CASE("make_discoverer: an unreadable CA file is an error") {
    digitalocean::Config config = config_of("bearer_token: t\n");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    discovery::DiscovererOptions options;
    options.endpoints["digitalocean"] = "http://127.0.0.1:1";
    auto discoverer = config.make_discoverer(options);
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }
}
