// sdscope explain: one target's way through a job's relabel rules, rule by
// rule, and what Prometheus makes of it in the end.
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "commands.h"
#include "config/config.h"
#include "discovery/manager.h"
#include "model/duration.h"
#include "output/diagnostics.h"
#include "relabel/apply.h"
#include "scrape/targets.h"
#include "util/strings.h"

namespace sdscope::cli {

namespace {

// "k=v,k2=v2" into labels; "" or a message.
std::string parse_label_list(const std::string& text, model::Labels& out) {
  for (std::string_view rest = text; !rest.empty();) {
    size_t comma = rest.find(',');
    std::string_view pair = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || !model::is_valid_label_name(pair.substr(0, eq))) {
      return fmt::format("--labels: {} is not name=value with a valid label name", util::go_quote(pair));
    }
    out.set(pair.substr(0, eq), pair.substr(eq + 1));
  }
  return "";
}

class Tracer {
public:
  Tracer(std::ostream& out, bool color) : m_out(out), m_color(color) {}

  std::string paint(std::string_view code, const std::string& text) const {
    return m_color ? fmt::format("\033[{}m{}\033[0m", code, text) : text;
  }

  // The labels of one target before, during and after relabeling.
  void explain(const config::ScrapeConfig& job, const scrape::JobSettings& settings,
               const scrape::PopulateOptions& options, const model::Labels& target, const std::string& source) {
    scrape::Target result;
    scrape::Populator populator(settings, options);
    std::string error = populator.populate(target, result);

    m_out << paint("1", fmt::format("job \"{}\", target {}", job.job_name, target.get("__address__")));
    m_out << (source.empty() ? "" : fmt::format(" (from {})", source)) << "\n\ndiscovered labels:\n";
    for (const auto& [name, value] : result.discovered) {
      m_out << fmt::format("  {}={}\n", name, util::go_quote(value));
    }
    model::Labels labels = result.discovered;
    for (size_t i = 0; i < settings.relabel_configs.size(); ++i) {
      const relabel::Rule& rule = settings.relabel_configs[i];
      m_out << '\n'
            << paint("1", fmt::format("rule {} ({})", i + 1, relabel::action_name(rule.action.value)))
            << fmt::format(" at {}:{}\n", job.file, rule.line);
      model::Labels before = labels;
      if (!relabel::apply(std::span(&rule, 1), labels).kept) {
        m_out << "  " << paint("31", "drops the target") << '\n';
        break;
      }
      print_changes(before, labels);
    }
    m_out << '\n' << paint("1", "verdict: ");
    if (result.dropped()) {
      const relabel::Rule& rule = settings.relabel_configs[static_cast<size_t>(result.dropped_by)];
      m_out << fmt::format("dropped by rule {} ({}) at {}:{}\n", result.dropped_by + 1,
                           relabel::action_name(rule.action.value), job.file, rule.line);
    } else if (!error.empty()) {
      m_out << "Prometheus cannot create this target: " << error << '\n';
    } else {
      m_out << fmt::format("scraped as {}\n", scrape::scrape_url(result.labels, job.params));
      for (const auto& [name, value] : scrape::public_labels(result.labels)) {
        m_out << fmt::format("  {}={}\n", name, util::go_quote(value));
      }
    }
  }

private:
  void print_changes(const model::Labels& before, const model::Labels& after) {
    bool changed = false;
    for (const auto& [name, value] : before) {
      if (!after.has(name)) {
        m_out << "  " << paint("31", fmt::format("- {}={}", name, util::go_quote(value))) << '\n';
        changed = true;
      } else if (after.get(name) != value) {
        m_out << "  " << paint("33", fmt::format("~ {}={} (was {})", name, util::go_quote(after.get(name)),
                                                   util::go_quote(value)))
              << '\n';
        changed = true;
      }
    }
    for (const auto& [name, value] : after) {
      if (!before.has(name)) {
        m_out << "  " << paint("32", fmt::format("+ {}={}", name, util::go_quote(value))) << '\n';
        changed = true;
      }
    }
    if (!changed) {
      m_out << "  (no change)\n";
    }
  }

  std::ostream& m_out;
  bool m_color;
};

} // namespace

ExplainCommand::ExplainCommand(CLI::App& app) {
  m_command = app.add_subcommand("explain", "Show one target's labels before and after each relabel rule of a job, "
                                            "and the final verdict.");
  m_command->add_option("CONFIG", m_config, "Prometheus config file")->required()->check(CLI::ExistingFile);
  m_command->add_option("--job", m_job, "The job whose rules to trace")->required();
  auto* target = m_command->add_option("--target", m_target,
                                       "A discovered target's address (discovery runs to find its labels; an "
                                       "address it does not find is traced with only __address__)");
  auto* labels = m_command->add_option("--labels", m_labels, "The target's labels instead: name=value,...");
  target->excludes(labels);
  labels->excludes(target);
  m_command->add_option("--timeout", m_timeout, "Longest wait for the job's discovery")->capture_default_str();
  m_command->add_option("--enable-feature", m_features, "Prometheus feature flags (no-default-scrape-port)")
      ->delimiter(',');
  m_command->add_option("--color", m_color, "Colour output")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

int ExplainCommand::run() {
  if (m_target.empty() == m_labels.empty()) {
    std::cerr << "sdscope: explain needs --target ADDRESS or --labels name=value,...\n";
    return 2;
  }
  std::optional<std::chrono::milliseconds> timeout = parse_timeout(m_timeout);
  std::optional<config::Config> loaded = timeout ? load_config(m_config, m_color) : std::nullopt;
  if (!loaded) {
    return 2;
  }
  std::vector<const config::ScrapeConfig*> jobs = config::jobs(*loaded);
  auto job = std::find_if(jobs.begin(), jobs.end(), [&](const auto* j) { return j->job_name == m_job; });
  if (job == jobs.end()) {
    std::cerr << fmt::format("sdscope: no job \"{}\" in {}\n", m_job, m_config);
    return 2;
  }
  scrape::JobSettings settings = scrape::settings_of(**job);
  scrape::PopulateOptions options{no_default_scrape_port(m_features)};
  Tracer tracer(std::cout, use_color(m_color, 1));

  if (!m_labels.empty()) {
    model::Labels labels;
    if (std::string e = parse_label_list(m_labels, labels); !e.empty()) {
      std::cerr << "sdscope: " << e << '\n';
      return 2;
    }
    tracer.explain(**job, settings, options, labels, "");
    return 0;
  }

  // Find the target among what the job's discovery finds now.
  std::vector<std::unique_ptr<discovery::SdConfig>> owned;
  discovery::Manager manager(discoverer_options_from_environment());
  manager.start(scrape::discovery_of({*job}, owned));
  bool synced = manager.wait_synced(discovery::Manager::Clock::now() + *timeout);
  auto groups = manager.groups();
  manager.stop();
  int found = 0;
  for (const discovery::ProvidedGroup& g : groups[m_job]) {
    for (const model::Labels& t : g.group->targets) {
      if (t.get("__address__") != m_target) {
        continue;
      }
      model::Labels merged = g.group->labels;
      for (const auto& [name, value] : t) {
        merged.set(name, value);
      }
      std::cout << (found++ > 0 ? "\n" : "");
      tracer.explain(**job, settings, options, merged, g.provider + ":" + g.group->source);
    }
  }
  if (found == 0) {
    std::cerr << fmt::format("sdscope: {} is not among the targets job \"{}\" discovered{}; tracing it with only "
                             "__address__\n",
                             m_target, m_job, synced ? "" : " (discovery did not finish)");
    tracer.explain(**job, settings, options, model::Labels{{"__address__", m_target}}, "");
  }
  return 0;
}

} // namespace sdscope::cli
