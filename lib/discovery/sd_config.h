#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/discoverer.h"
#include "yaml/decode.h"
#include "yaml/visit.h"

namespace sdscope::discovery {

// One entry of a <mechanism>_sd_configs list, decoded and validated. The
// visitors let the config layer print it, resolve its relative paths and
// find the files and secrets it names without knowing its type.
class SdConfig {
public:
  virtual ~SdConfig() = default;
  virtual std::string_view mechanism() const = 0;
  virtual void accept(yaml::Printer& v) const = 0;
  virtual void accept(yaml::PathJoiner& v) = 0;
  virtual void accept(yaml::FileCollector& v) = 0;
  virtual void accept(yaml::SecretCollector& v) = 0;
  // Deep equality after defaults and path joining: equal configs share one
  // provider, as in Prometheus's discovery manager.
  virtual bool equals(const SdConfig& other) const = 0;
  // A discoverer for this block, or why none can be built (Prometheus logs
  // "Cannot create service discovery" then and runs the job without it).
  virtual Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const;
};

// Implements SdConfig for a mechanism's Config struct from its fields().
template <class Derived> class SdConfigBase : public SdConfig {
public:
  std::string_view mechanism() const override { return Derived::k_mechanism; }
  void accept(yaml::Printer& v) const override { v.emitter() << YAML::BeginMap; self().fields(v); v.emitter() << YAML::EndMap; }
  void accept(yaml::PathJoiner& v) override { self().fields(v); }
  void accept(yaml::FileCollector& v) override { self().fields(v); }
  void accept(yaml::SecretCollector& v) override { self().fields(v); }
  bool equals(const SdConfig& other) const override {
    const auto* o = dynamic_cast<const Derived*>(&other);
    return o != nullptr && *o == static_cast<const Derived&>(*this);
  }

  // Bases compare equal; the derived struct's defaulted == compares fields.
  constexpr bool operator==(const SdConfigBase&) const { return true; }

private:
  Derived& self() const { return const_cast<Derived&>(static_cast<const Derived&>(*this)); }
};

using ParseFn = std::unique_ptr<SdConfig> (*)(yaml::Decoder&, yaml::Node);

// Decodes one config block of mechanism type C (its validate() runs as the
// block's UnmarshalYAML hook).
template <class C> std::unique_ptr<SdConfig> parse_config_of(yaml::Decoder& d, yaml::Node n) {
  auto config = std::make_unique<C>();
  d.decode(n, *config);
  return config;
}

// The url field of http_sd and puppetdb: present, parseable, http(s), with
// a host. Reports the first problem with Prometheus's message; returns
// whether there was none.
bool check_http_url(yaml::Checker& c, const std::string& url);

// A lint note when refresh_interval is 0: Prometheus accepts it at load and
// then panics ("non-positive interval for NewTicker").
void check_refresh_interval(yaml::Checker& c, int64_t refresh_ms);

} // namespace sdscope::discovery
