// dns_sd: SRV, A, AAAA and MX lookups (discovery/dns/dns.go in Prometheus
// v2.45; spec/sd-platforms.md §3).
//
// Every refresh resolves each configured name at once, all names
// concurrently, as dns_resolver describes. Every Answer record counts,
// whatever its owner name, as in Prometheus. A name whose lookup fails is
// left out of the refresh (its last group stays) and the refresh still
// sends the other names' groups.
#include "discovery/dns.h"

#include "discovery/dns_resolver.h"
#include "discovery/dns_wire.h"
#include "relabel/apply.h"
#include "util/strings.h"

namespace sdscope::discovery::dns {

namespace {

constexpr std::string_view k_name_label = "__meta_dns_name";
constexpr std::string_view k_srv_target_label = "__meta_dns_srv_record_target";
constexpr std::string_view k_srv_port_label = "__meta_dns_srv_record_port";
constexpr std::string_view k_mx_target_label = "__meta_dns_mx_record_target";
constexpr std::string_view k_address_label = "__address__";

// Go's strings.ToUpper of the record type, so that "\u017Frv" is SRV.
uint16_t qtype_of(std::string_view type) {
  std::string upper = relabel::go_to_upper(type);
  if (upper == "A") {
    return k_type_a;
  }
  if (upper == "AAAA") {
    return k_type_aaaa;
  }
  if (upper == "MX") {
    return k_type_mx;
  }
  return k_type_srv;
}

std::string trim_dots(std::string s) {
  s.erase(s.find_last_not_of('.') + 1);
  return s;
}

// The group of one name: a target per usable Answer record (CNAMEs and
// other types are skipped). Every meta label is set, "" where it does not
// apply, as Prometheus does (and "" means absent downstream).
model::TargetGroup group_of(const std::string& name, const Message& m, int port) {
  model::TargetGroup group;
  group.source = name;
  for (const Record& rec : m.answers) {
    std::string address;
    std::string srv_target;
    std::string srv_port;
    std::string mx_target;
    if (rec.type == k_type_srv) {
      srv_target = rec.host;
      srv_port = std::to_string(rec.port);
      address = util::join_host_port(trim_dots(rec.host), srv_port);
    } else if (rec.type == k_type_mx) {
      mx_target = rec.host;
      address = util::join_host_port(trim_dots(rec.host), std::to_string(port));
    } else {
      address = util::join_host_port(rec.host, std::to_string(port));
    }
    group.targets.push_back(model::Labels{{std::string(k_address_label), address},
                                          {std::string(k_name_label), name},
                                          {std::string(k_srv_target_label), srv_target},
                                          {std::string(k_srv_port_label), srv_port},
                                          {std::string(k_mx_target_label), mx_target}});
  }
  return group;
}

// Sends what its wrapped discoverer sends, but reports the names that
// failed in a refresh the helper saw succeed.
class ReportingSink : public Sink {
public:
  ReportingSink(Sink& sink, std::shared_ptr<std::string> errors) : m_sink(sink), m_errors(std::move(errors)) {}
  using Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) override {
    m_sink.update(std::move(groups));
  }
  void report(std::string error) override { m_sink.report(error.empty() ? *m_errors : std::move(error)); }

private:
  Sink& m_sink;
  std::shared_ptr<std::string> m_errors;
};

class DnsDiscoverer : public Discoverer {
public:
  DnsDiscoverer(int64_t interval_ms, std::shared_ptr<Discovery> discovery)
      : m_errors(std::make_shared<std::string>()),
        m_refresh(interval_ms, [discovery, errors = m_errors](std::stop_token stop) {
          Discovery::Refreshed r = discovery->refresh(std::move(stop));
          errors->clear();
          for (const std::string& e : r.errors) {
            *errors += (errors->empty() ? "" : "; ") + e;
          }
          return Result<std::vector<model::TargetGroup>>(std::move(r.groups));
        }) {}
  void run(std::stop_token stop, Sink& sink) override {
    ReportingSink reporting(sink, m_errors);
    m_refresh.run(std::move(stop), reporting);
  }

private:
  std::shared_ptr<std::string> m_errors;
  RefreshDiscoverer m_refresh;
};

} // namespace

void Config::validate(yaml::Checker& c) const {
  if (names.empty()) {
    // Prometheus says "SRV" whatever the record type is.
    c.error("DNS-SD config must contain at least one SRV record name");
    return;
  }
  std::string upper = relabel::go_to_upper(type);
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

Discovery::Discovery(const Config& config, std::string server_override)
    : m_config(config), m_qtype(qtype_of(config.type)), m_server_override(std::move(server_override)) {}

Discovery::Refreshed Discovery::refresh(std::stop_token stop) {
  Refreshed out;
  for (Resolution& r : resolve(m_config.names, m_qtype, m_server_override, std::move(stop))) {
    if (r.message) {
      out.groups.push_back(group_of(r.name, *r.message, m_config.port));
    } else if (r.done) {
      out.errors.push_back(r.error);
    }
  }
  return out;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  auto it = options.endpoints.find("dns");
  auto discovery = std::make_shared<Discovery>(*this, it == options.endpoints.end() ? "" : it->second);
  return std::unique_ptr<Discoverer>(std::make_unique<DnsDiscoverer>(refresh_interval.ms, std::move(discovery)));
}

} // namespace sdscope::discovery::dns
