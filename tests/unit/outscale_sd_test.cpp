// outscale_sd: the VM mapping (pure), and the discoverer against a fake
// OUTSCALE API that checks every request's SigV4 signature (service oapi).

#include <atomic>
#include <thread>

#include <doctest/doctest.h>

#include "aws_fake.h"
#include "discovery/outscale.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace outscale = sdscope::discovery::outscale;
using nlohmann::json;

TEST_SUITE("discovery::outscale") {
  TEST_CASE("outscale_sd: vm_targets: private IP first, then public; tags with key and value") {
    auto targets = outscale::vm_targets(discovery::Json::parse(R"([
      {"VmId":"i-1","State":"running","PrivateIp":"10.0.0.1","PublicIp":"198.51.100.1",
       "Placement":{"SubregionName":"eu-west-2a"},
       "Tags":[{"Key":"name.x","Value":"web"},{"Key":"empty","Value":""},{"Key":"","Value":"v"}]},
      {"VmId":"i-2","State":"stopped","PrivateIp":"","PublicIp":"2001:db8::2"},
      {"VmId":"i-3","State":"pending"}])"),
                                        "eu-west-2", 9100);
    REQUIRE_MESSAGE(targets, (targets ? "" : targets.error()));
    REQUIRE(targets->size() == 2);
    CHECK((*targets)[0] == model::Labels{{"__address__", "10.0.0.1:9100"},
                                         {"__meta_outscale_vm_instance_id", "i-1"},
                                         {"__meta_outscale_vm_private_ip", "10.0.0.1"},
                                         {"__meta_outscale_vm_public_ip", "198.51.100.1"},
                                         {"__meta_outscale_vm_region", "eu-west-2"},
                                         {"__meta_outscale_vm_state", "running"},
                                         {"__meta_outscale_vm_subregion", "eu-west-2a"},
                                         {"__meta_outscale_vm_tag_name_x", "web"}});
    CHECK((*targets)[1].get("__address__") == "[2001:db8::2]:9100");
    CHECK_FALSE(outscale::vm_targets(discovery::Json::parse(R"([{"VmId":1}])"), "r", 80));
  }
}

namespace {

struct OutscaleWorld {
  test::FakeAws api{"oapi", test::AwsProtocol::outscale, "eu-west-2"};
  std::atomic<int> fail_status{0};
  std::atomic<int> delay_ms{0};
  std::atomic<bool> wrong_type{false};

  OutscaleWorld() {
    api.on([this](const test::AwsCall& call, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      if (int status = fail_status.load(); status != 0) {
        api.error_answer(res, status, status == 401 ? "AccessDenied" : "InternalError", "");
        return;
      }
      if (wrong_type.load()) {
        res.set_content("<html/>", "text/html");
        return;
      }
      if (call.path != "/api/v1/ReadVms") {
        res.status = 404;
        return;
      }
      if (!call.json.contains("NextPageToken")) {
        test::FakeAws::rest_answer(res, {{"Vms", {{{"VmId", "i-1"}, {"State", "running"}, {"PrivateIp", "127.0.0.71"}}}},
                                         {"NextPageToken", "p2"},
                                         {"ResponseContext", {{"RequestId", "r1"}}}});
      } else {
        test::FakeAws::rest_answer(res, {{"Vms", {{{"VmId", "i-2"}, {"State", "running"}, {"PublicIp", "127.0.0.72"}}}},
                                         {"ResponseContext", {{"RequestId", "r2"}}}});
      }
    });
  }
  outscale::Config config(int refresh_seconds = 30) const {
    outscale::Config c;
    c.endpoint = api.url() + "/api/v1";
    c.region = "eu-west-2";
    c.access_key = test::k_aws_key_id;
    c.secret_key.value = test::k_aws_secret;
    c.refresh_interval = model::Duration::seconds(refresh_seconds);
    return c;
  }
  std::unique_ptr<outscale::Discovery> discovery(const outscale::Config& c) const {
    auto d = outscale::Discovery::make(c);
    REQUIRE_MESSAGE(d, (d ? "" : d.error()));
    return std::move(*d);
  }
};

} // namespace

TEST_SUITE("discovery::outscale") {
  TEST_CASE("outscale_sd: ReadVms is posted, signed for oapi, and paged") {
    OutscaleWorld world;
    auto groups = world.discovery(world.config())->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "eu-west-2");
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0].get("__address__") == "127.0.0.71:80");
    CHECK((*groups)[0].targets[1].get("__address__") == "127.0.0.72:80");
    std::vector<test::AwsCall> calls = world.api.calls();
    REQUIRE(calls.size() == 2);
    for (const test::AwsCall& c : calls) {
      CHECK(c.signature_ok);
      CHECK(c.method == "POST");
      CHECK(c.scope.ends_with("/oapi/aws4_request"));
    }
    CHECK(calls[0].json == json::object());
    CHECK(calls[1].json == json{{"NextPageToken", "p2"}});
  }

  TEST_CASE("outscale_sd: the secret key file is read on every refresh") {
    OutscaleWorld world;
    auto dir = test::scratch_dir();
    test::write_file(dir / "secret", std::string("wrong\n"));
    outscale::Config c = world.config();
    c.secret_key.value.clear();
    c.secret_key_file = (dir / "secret").string();
    auto d = world.discovery(c);
    auto bad = d->refresh({});
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == "outscale ReadVms: 401 Unauthorized");
    test::write_file(dir / "secret", std::string(test::k_aws_secret) + "\n");
    CHECK(d->refresh({}));
    std::filesystem::remove(dir / "secret");
    auto missing = d->refresh({});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().starts_with("unable to read outscale secret key file " + (dir / "secret").string() + ": "));
  }

  TEST_CASE("outscale_sd: failures: 500, wrong content type, unreachable, timeout") {
    OutscaleWorld world;
    auto d = world.discovery(world.config(1));
    world.fail_status = 500;
    auto failed = d->refresh({});
    REQUIRE_FALSE(failed);
    CHECK(failed.error() == "outscale ReadVms: 500 Internal Server Error");
    world.fail_status = 0;
    world.wrong_type = true;
    auto html = d->refresh({});
    REQUIRE_FALSE(html);
    CHECK(html.error() == "outscale ReadVms: undefined response type");
    world.wrong_type = false;
    world.delay_ms = 3000;
    auto start = std::chrono::steady_clock::now();
    REQUIRE_FALSE(d->refresh({}));
    CHECK(std::chrono::steady_clock::now() - start < 2500ms);
    world.delay_ms = 0;
    world.api.stop();
    auto down = d->refresh({});
    REQUIRE_FALSE(down);
    CHECK(down.error().starts_with("outscale ReadVms: Post "));
  }

  TEST_CASE("outscale_sd: a failure after a success keeps the last targets (Discoverer)") {
    OutscaleWorld world;
    test::RecordingSink sink;
    {
      test::RunningDiscoverer running(world.config(1).make_discoverer({}), sink);
      REQUIRE(sink.wait_for_reports(1));
      CHECK(sink.report(0) == "");
      world.fail_status = 401;
      REQUIRE(sink.wait_for_reports(2));
      CHECK(sink.report(1) == "outscale ReadVms: 401 Unauthorized");
    }
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);
    CHECK(discovery::find_mechanism("outscale")->discovers);
  }
}
