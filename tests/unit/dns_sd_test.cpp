// dns_sd: resolv.conf reading and search lists (pure), and the discoverer
// against a real dnsmasq on a loopback port (skipped, visibly, where
// dnsmasq cannot run).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/dns.h"
#include "discovery/dns_resolv_conf.h"
#include "test_util.h"

extern char** environ;

using namespace sdscope;
using namespace std::chrono_literals;
namespace dns = sdscope::discovery::dns;

namespace {

constexpr const char* k_dnsmasq = "/usr/sbin/dnsmasq";

// A UDP socket bound to 127.0.0.1 on a free port; it never answers.
class UdpHole {
public:
  UdpHole() {
    m_fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
  }
  ~UdpHole() { close(m_fd); }
  UdpHole(const UdpHole&) = delete;
  UdpHole& operator=(const UdpHole&) = delete;
  int fd() const { return m_fd; }
  int port = 0;

private:
  int m_fd = -1;
};

int free_port() {
  UdpHole hole;
  return hole.port;
}

// Whether a DNS server answers on 127.0.0.1:port (one query, 100 ms).
bool answers(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  static const unsigned char k_query[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'p', 'r', 'o',
                                          'b',  'e',  4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
  sendto(fd, k_query, sizeof k_query, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  unsigned char reply[512];
  bool ok = recv(fd, reply, sizeof reply, 0) > 0;
  close(fd);
  return ok;
}

// dnsmasq serving only the given records on 127.0.0.1 (authoritative for
// "test": unknown names there are NXDOMAIN, names elsewhere REFUSED).
class Dnsmasq {
public:
  ~Dnsmasq() { stop(); }
  // Starts on port (a free one when 0); false, with why_not, when dnsmasq
  // cannot run here.
  bool start(const std::vector<std::string>& records, int on_port = 0) {
    if (access(k_dnsmasq, X_OK) != 0) {
      why_not = std::string(k_dnsmasq) + " is not installed (package dnsmasq-base)";
      return false;
    }
    port = on_port != 0 ? on_port : free_port();
    std::vector<std::string> args = {k_dnsmasq,
                                     "--no-daemon",
                                     "--port=" + std::to_string(port),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--conf-file=/dev/null",
                                     "--local=/test/"};
    args.insert(args.end(), records.begin(), records.end());
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&m_pid, k_dnsmasq, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      m_pid = -1;
      why_not = "cannot start dnsmasq";
      return false;
    }
    for (int i = 0; i < 50; ++i) {
      int status = 0;
      if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        why_not = "dnsmasq exited at once (not root, or port taken?)";
        return false;
      }
      if (answers(port)) {
        return true;
      }
    }
    why_not = "dnsmasq does not answer";
    stop();
    return false;
  }
  void stop() {
    if (m_pid > 0) {
      kill(m_pid, SIGTERM);
      waitpid(m_pid, nullptr, 0);
      m_pid = -1;
    }
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port); }

  int port = 0;
  std::string why_not;

private:
  pid_t m_pid = -1;
};

const std::vector<std::string> k_records = {
    "--srv-host=_http._tcp.web.test,host1.test,8080,1,5",
    "--srv-host=_http._tcp.web.test,host2.test,9090,2,5",
    "--host-record=host1.test,127.0.0.1,::1",
    "--host-record=host2.test,127.0.0.2",
    "--mx-host=mail.test,mx1.test,10",
    "--host-record=mx1.test,127.0.0.3",
};

#define START_OR_SKIP(server, ...)                                                                                   \
  if (!(server).start(__VA_ARGS__)) {                                                                                \
    MESSAGE("skipped: " << (server).why_not);                                                                        \
    return;                                                                                                          \
  }

dns::Config config_for(std::vector<std::string> names, std::string type = "SRV", int port = 0) {
  dns::Config config;
  config.names = std::move(names);
  config.type = std::move(type);
  config.port = port;
  return config;
}

std::vector<model::Labels> sorted(std::vector<model::Labels> targets) {
  std::sort(targets.begin(), targets.end());
  return targets;
}

model::Labels target(std::string address, std::string name, std::string srv_target = "", std::string srv_port = "",
                     std::string mx_target = "") {
  return model::Labels{{"__address__", address},
                       {"__meta_dns_name", name},
                       {"__meta_dns_srv_record_target", srv_target},
                       {"__meta_dns_srv_record_port", srv_port},
                       {"__meta_dns_mx_record_target", mx_target}};
}

} // namespace

TEST_SUITE("discovery::dns") {
  TEST_CASE("dns: resolv.conf as miekg/dns reads it") {
    dns::ResolvConf conf = dns::parse_resolv_conf("# comment\n"
                                                  "nameserver 192.0.2.1 # trailing\n"
                                                  "nameserver\n"
                                                  "search a.example b.example\n"
                                                  "nameserver 2001:db8::1\n"
                                                  "options timeout:1 ndots:3 attempts:5\n");
    CHECK(conf.servers == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
    CHECK(conf.search == std::vector<std::string>{"a.example", "b.example"});
    CHECK(conf.ndots == 3);

    conf = dns::parse_resolv_conf("search a.example b.example\ndomain c.example\r\noptions ndots:20\n");
    CHECK(conf.servers.empty());
    CHECK(conf.search == std::vector<std::string>{"c.example"});
    CHECK(conf.ndots == 15);
    CHECK(dns::parse_resolv_conf("options ndots:x\n").ndots == 0);
    CHECK(dns::parse_resolv_conf("options ndots:-2\n").ndots == 0);
    CHECK(dns::parse_resolv_conf("options ndots:+2\n").ndots == 2);
    CHECK(dns::parse_resolv_conf("options ndots:99999999999999999999\n").ndots == 15);
    CHECK(dns::parse_resolv_conf("").ndots == 1);
    CHECK(dns::parse_resolv_conf("domain a.example\ndomain\n").search.empty());
  }

  TEST_CASE("dns: search list order depends on ndots, a final dot skips it") {
    dns::ResolvConf conf;
    conf.search = {"a.example", "b.example"};
    CHECK(dns::name_list("db", conf) == std::vector<std::string>{"db.a.example.", "db.b.example.", "db."});
    CHECK(dns::name_list("db.svc", conf) ==
          std::vector<std::string>{"db.svc.", "db.svc.a.example.", "db.svc.b.example."});
    CHECK(dns::name_list("db.svc.", conf) == std::vector<std::string>{"db.svc."});
    conf.ndots = 2;
    CHECK(dns::name_list("db.svc", conf) ==
          std::vector<std::string>{"db.svc.a.example.", "db.svc.b.example.", "db.svc."});
    conf.search.clear();
    CHECK(dns::name_list("db", conf) == std::vector<std::string>{"db."});
  }

  TEST_CASE("dns: SRV, A, AAAA and MX against dnsmasq") {
    Dnsmasq server;
    START_OR_SKIP(server, k_records);
    auto resolve = [&](dns::Config config) {
      dns::Discovery discovery(config, server.endpoint());
      dns::Discovery::Refreshed r = discovery.refresh({});
      CHECK(r.errors.empty());
      REQUIRE(r.groups.size() == config.names.size());
      return r.groups;
    };

    auto srv = resolve(config_for({"_http._tcp.web.test"}));
    CHECK(srv[0].source == "_http._tcp.web.test");
    CHECK(srv[0].labels.empty());
    // The A records dnsmasq adds to the Additional section are ignored.
    CHECK(sorted(srv[0].targets) ==
          sorted({target("host1.test:8080", "_http._tcp.web.test", "host1.test.", "8080"),
                  target("host2.test:9090", "_http._tcp.web.test", "host2.test.", "9090")}));

    auto a = resolve(config_for({"host1.test", "host2.test."}, "a", 9100));
    CHECK(a[0].source == "host1.test");
    CHECK(a[0].targets == std::vector<model::Labels>{target("127.0.0.1:9100", "host1.test")});
    CHECK(a[1].source == "host2.test.");
    CHECK(a[1].targets == std::vector<model::Labels>{target("127.0.0.2:9100", "host2.test.")});

    auto aaaa = resolve(config_for({"host1.test"}, "AAAA", 9100));
    CHECK(aaaa[0].targets == std::vector<model::Labels>{target("[::1]:9100", "host1.test")});

    auto mx = resolve(config_for({"mail.test"}, "MX", 25));
    CHECK(mx[0].targets == std::vector<model::Labels>{target("mx1.test:25", "mail.test", "", "", "mx1.test.")});
  }

  TEST_CASE("dns: CNAMEs are skipped, a truncated answer is asked again over TCP") {
    std::vector<std::string> records = k_records;
    records.push_back("--cname=alias.test,host1.test");
    std::vector<model::Labels> many;
    for (int i = 1; i <= 100; ++i) { // 100 A records: more than dnsmasq's 1232-byte UDP limit
      std::string ip = "127.0.1." + std::to_string(i);
      records.push_back("--host-record=many.test," + ip);
      many.push_back(target(ip + ":80", "many.test"));
    }
    Dnsmasq server;
    START_OR_SKIP(server, records);
    dns::Discovery discovery(config_for({"alias.test", "many.test"}, "A", 80), server.endpoint());
    dns::Discovery::Refreshed r = discovery.refresh({});
    CHECK(r.errors.empty());
    REQUIRE(r.groups.size() == 2);
    // The A record's owner is host1.test; the label is the configured name.
    CHECK(r.groups[0].targets == std::vector<model::Labels>{target("127.0.0.1:80", "alias.test")});
    CHECK(sorted(r.groups[1].targets) == sorted(many));
  }

  TEST_CASE("dns: a missing name or record is an empty group, a refused one an error") {
    Dnsmasq server;
    START_OR_SKIP(server, k_records);
    // nope.test: NXDOMAIN; host2.test has no AAAA (NOERROR, no answers);
    // elsewhere.invalid: REFUSED (dnsmasq has no upstream).
    dns::Discovery discovery(config_for({"nope.test", "host2.test", "elsewhere.invalid", "host1.test"}, "AAAA", 80),
                             server.endpoint());
    dns::Discovery::Refreshed r = discovery.refresh({});
    REQUIRE(r.groups.size() == 3);
    CHECK(r.groups[0].source == "nope.test");
    CHECK(r.groups[0].targets.empty());
    CHECK(r.groups[1].source == "host2.test");
    CHECK(r.groups[1].targets.empty());
    CHECK(r.groups[2].source == "host1.test");
    CHECK(r.groups[2].targets.size() == 1);
    CHECK(r.errors == std::vector<std::string>{R"(could not resolve "elsewhere.invalid": all servers responded with )"
                                               "errors to at least one search domain"});
  }

  TEST_CASE("dns: a server that fails is skipped for the next one") {
    Dnsmasq server;
    START_OR_SKIP(server, k_records);
    int dead = free_port(); // nothing listens: connection refused
    dns::Discovery discovery(config_for({"host2.test"}, "A", 80),
                             "127.0.0.1:" + std::to_string(dead) + "," + server.endpoint());
    dns::Discovery::Refreshed r = discovery.refresh({});
    CHECK(r.errors.empty());
    REQUIRE(r.groups.size() == 1);
    CHECK(r.groups[0].targets == std::vector<model::Labels>{target("127.0.0.2:80", "host2.test")});

    dns::Discovery only_dead(config_for({"host2.test"}, "A", 80), "127.0.0.1:" + std::to_string(dead));
    r = only_dead.refresh({});
    CHECK(r.groups.empty());
    CHECK(r.errors.size() == 1);
  }

  TEST_CASE("dns: a changed record shows in the next refresh; the discoverer reports") {
    Dnsmasq server;
    START_OR_SKIP(server, k_records);
    discovery::DiscovererOptions options;
    options.endpoints["dns"] = server.endpoint();
    dns::Config config = config_for({"host2.test", "elsewhere.invalid"}, "A", 80);
    config.refresh_interval = model::Duration::seconds(1);
    auto discoverer = config.make_discoverer(options);
    REQUIRE(discoverer);
    test::RecordingSink sink;
    std::jthread runner([&](std::stop_token stop) { (*discoverer)->run(stop, sink); });
    REQUIRE(sink.wait_for_reports(1, 5s));

    int port = server.port;
    server.stop();
    std::vector<std::string> changed = k_records;
    changed[3] = "--host-record=host2.test,127.0.0.9";
    START_OR_SKIP(server, changed, port);
    CHECK(sink.wait_for_targets({target("127.0.0.9:80", "host2.test")}, 5s));
    runner.request_stop();
    runner.join();

    // Each refresh sends host2.test's group only; the refused name is
    // reported, and its (absent) group is left alone.
    REQUIRE(!sink.updates.empty());
    CHECK(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->targets == std::vector<model::Labels>{target("127.0.0.2:80", "host2.test")});
    CHECK(sink.reports[0] == R"(could not resolve "elsewhere.invalid": all servers responded with errors to at )"
                             "least one search domain");
  }

  TEST_CASE("dns: every query times out, and a stop ends a refresh at once") {
    UdpHole hole;
    std::string endpoint = "127.0.0.1:" + std::to_string(hole.port);
    dns::Discovery discovery(config_for({"a.test", "b.test"}, "A", 80), endpoint);

    auto started = std::chrono::steady_clock::now();
    dns::Discovery::Refreshed r = discovery.refresh({});
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 1900ms); // 2 s per query, both names at once
    CHECK(took < 3500ms);
    CHECK(r.groups.empty());
    CHECK(r.errors.size() == 2);

    std::stop_source stop;
    started = std::chrono::steady_clock::now();
    std::thread stopper([&] {
      std::this_thread::sleep_for(100ms);
      stop.request_stop();
    });
    r = discovery.refresh(stop.get_token());
    took = std::chrono::steady_clock::now() - started;
    stopper.join();
    CHECK(took < 1000ms);
    CHECK(r.groups.empty());
    CHECK(r.errors.empty()); // a cancelled lookup is no failure

    discovery::DiscovererOptions options;
    options.endpoints["dns"] = endpoint;
    auto discoverer = config_for({"a.test"}, "A", 80).make_discoverer(options);
    REQUIRE(discoverer);
    test::RecordingSink sink;
    std::jthread runner([&](std::stop_token token) { (*discoverer)->run(token, sink); });
    std::this_thread::sleep_for(100ms);
    started = std::chrono::steady_clock::now();
    runner.request_stop();
    runner.join();
    CHECK(std::chrono::steady_clock::now() - started < 500ms);
    CHECK(sink.updates.empty());
    CHECK(sink.reports.empty());
  }
}
