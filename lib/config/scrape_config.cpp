#include "config/scrape_config.h"

#include <fmt/format.h>

#include "config/sections.h"
#include "util/strings.h"

namespace sdscope::config {

void check_null_rules(yaml::Checker& c, std::string_view key, const RuleList& rules, std::string_view message) {
  yaml::Node list = c.field(key);
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!rules[i]) {
      c.decoder().error(list.is_sequence() && i < list.size() ? list.element(i) : c.node(), std::string(message));
      return;
    }
  }
}

void check_static_targets(yaml::Checker& c, const SdConfigs& sd) {
  for (const auto& group : sd.static_configs) {
    if (!group) {
      continue;
    }
    for (const std::string& target : group->targets) {
      if (target.find('/') != std::string::npos) {
        c.error_at("static_configs", fmt::format("{} is not a valid hostname", util::go_quote(target)));
        return;
      }
    }
  }
}

void ScrapeConfig::validate(yaml::Checker& c) {
  mark = c.node().mark();
  file = c.decoder().file();
  size_t errors = c.decoder().diagnostics().error_count();
  sd.validate(c);
  if (c.decoder().diagnostics().error_count() != errors) {
    return;
  }
  if (job_name.empty()) {
    c.error_at("job_name", "job_name is empty");
    return;
  }
  if (std::string message = http_client.validate(); !message.empty()) {
    c.error(message);
    return;
  }
  if (relabel_configs.empty()) {
    size_t before = c.decoder().diagnostics().error_count();
    check_static_targets(c, sd);
    if (c.decoder().diagnostics().error_count() != before) {
      return;
    }
  }
  size_t before = c.decoder().diagnostics().error_count();
  check_null_rules(c, "relabel_configs", relabel_configs, "empty or null target relabeling rule in scrape config");
  if (c.decoder().diagnostics().error_count() == before) {
    check_null_rules(c, "metric_relabel_configs", metric_relabel_configs,
                     "empty or null metric relabeling rule in scrape config");
  }
}

std::string ScrapeConfig::apply_global(const GlobalConfig& global) {
  if (scrape_interval.ms == 0) {
    scrape_interval = global.scrape_interval;
  }
  if (scrape_timeout > scrape_interval) {
    return fmt::format("scrape timeout greater than scrape interval for scrape config with job name {}",
                       util::go_quote(job_name));
  }
  if (scrape_timeout.ms == 0) {
    scrape_timeout = global.scrape_timeout > scrape_interval ? scrape_interval : global.scrape_timeout;
  }
  if (body_size_limit.bytes == 0) {
    body_size_limit = global.body_size_limit;
  }
  auto inherit = [](uint64_t& job, uint64_t global_value) {
    if (job == 0) {
      job = global_value;
    }
  };
  inherit(sample_limit, global.sample_limit);
  inherit(target_limit, global.target_limit);
  inherit(label_limit, global.label_limit);
  inherit(label_name_length_limit, global.label_name_length_limit);
  inherit(label_value_length_limit, global.label_value_length_limit);
  return "";
}

} // namespace sdscope::config
