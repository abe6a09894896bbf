// sdscope targets: discover once and print every job's targets.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "commands.h"
#include "config/config.h"
#include "discovery/manager.h"
#include "model/duration.h"
#include "output/diagnostics.h"
#include "output/targets.h"
#include "scrape/targets.h"

namespace sdscope::cli {

namespace {

size_t terminal_width(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  const char* columns = std::getenv("COLUMNS");
  return columns != nullptr ? static_cast<size_t>(std::atoi(columns)) : 0;
}

// Waits for discovery, showing on stderr (a terminal) how many providers
// have synced and which one has kept us waiting longest.
bool wait_with_progress(discovery::Manager& manager, discovery::Manager::Clock::time_point deadline) {
  auto start = discovery::Manager::Clock::now();
  uint64_t version = 0;
  bool shown = false;
  while (true) {
    auto providers = manager.providers();
    size_t synced = static_cast<size_t>(
        std::count_if(providers.begin(), providers.end(), [](const auto& p) { return p.synced; }));
    if (synced == providers.size() || discovery::Manager::Clock::now() >= deadline) {
      if (shown) {
        std::cerr << "\r\033[K" << std::flush;
      }
      return synced == providers.size();
    }
    auto pending = std::find_if(providers.begin(), providers.end(), [](const auto& p) { return !p.synced; });
    double waited = std::chrono::duration<double>(discovery::Manager::Clock::now() - start).count();
    std::cerr << fmt::format("\r\033[Kdiscovering: {}/{} providers synced, waiting for {} ({:.1f}s)", synced,
                             providers.size(), pending->name, waited)
              << std::flush;
    shown = true;
    version = manager.wait_change(version, std::min(deadline, discovery::Manager::Clock::now() +
                                                                  std::chrono::milliseconds(100)));
  }
}

} // namespace

TargetsCommand::TargetsCommand(CLI::App& app) {
  m_command = app.add_subcommand("targets", "Run every service discovery of the config once and print the targets "
                                            "Prometheus v2.45 would have for each job.");
  m_command->add_option("CONFIG", m_config, "Prometheus config file")->required()->check(CLI::ExistingFile);
  m_command->add_option("--job", m_jobs, "Only this job (repeatable)");
  m_command->add_option("-o,--output", m_output,
                        "Output format: table (default on a terminal), json (default otherwise), yaml, groups, "
                        "file_sd")
      ->check(CLI::IsMember({"table", "json", "yaml", "groups", "file_sd"}));
  m_command->add_option("--timeout", m_timeout, "Longest wait for every provider's first result")
      ->capture_default_str();
  m_command->add_flag("--dropped", m_dropped, "In the table, also list dropped and failed targets");
  m_command->add_option("--enable-feature", m_features, "Prometheus feature flags (no-default-scrape-port)")
      ->delimiter(',');
  m_command->add_option("--color", m_color, "Colour table output")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

int TargetsCommand::run() {
  std::optional<std::chrono::milliseconds> timeout = parse_timeout(m_timeout);
  std::optional<config::Config> loaded = timeout ? load_config(m_config, m_color) : std::nullopt;
  if (!loaded) {
    return 2;
  }
  const config::Config& config = *loaded;

  std::optional<std::vector<const config::ScrapeConfig*>> selected = select_jobs(config, m_jobs, m_config);
  if (!selected) {
    return 2;
  }
  const std::vector<const config::ScrapeConfig*>& jobs = *selected;
  std::string format = m_output.empty() ? (isatty(1) != 0 ? "table" : "json") : m_output;
  if (format == "file_sd" && jobs.size() != 1) {
    std::cerr << "sdscope: -o file_sd writes one job's targets: choose it with --job\n";
    return 2;
  }

  std::vector<std::unique_ptr<discovery::SdConfig>> owned;
  discovery::Manager manager(discoverer_options_from_environment());
  manager.start(scrape::discovery_of(jobs, owned));
  auto deadline = discovery::Manager::Clock::now() + *timeout;
  bool all_synced = isatty(2) != 0 ? wait_with_progress(manager, deadline) : manager.wait_synced(deadline);

  output::TargetsReport report;
  report.groups = manager.groups();
  report.providers = manager.providers();
  manager.stop();
  scrape::PopulateOptions populate{no_default_scrape_port(m_features)};
  for (const config::ScrapeConfig* job : jobs) {
    report.jobs.push_back(scrape::build_targets(*job, report.groups[job->job_name], populate));
  }

  output::TableStyle style{use_color(m_color, 1), m_dropped, isatty(1) != 0 ? terminal_width(1) : 0};
  output::write_targets(std::cout, report, format == "json"    ? output::TargetFormat::json
                                           : format == "yaml"  ? output::TargetFormat::yaml
                                           : format == "groups" ? output::TargetFormat::groups
                                           : format == "file_sd" ? output::TargetFormat::file_sd
                                                                 : output::TargetFormat::table,
                        style);
  std::cout.flush();

  // What went wrong, on stderr: failing and pending providers, targets
  // Prometheus would fail to create, scrape URLs two jobs share.
  bool failed = !all_synced;
  for (const discovery::ProviderStatus& p : report.providers) {
    if (!p.synced) {
      std::cerr << fmt::format("sdscope: {} (job {}) has not delivered its first result after {}\n", p.name,
                               job_list(p.jobs), m_timeout);
    } else if (!p.error.empty()) {
      std::cerr << fmt::format("sdscope: {} (job {}) failed: {}\n", p.name, job_list(p.jobs), p.error);
      failed = true;
    }
  }
  for (const scrape::JobTargets& job : report.jobs) {
    for (const scrape::JobTarget& t : job.failed) {
      std::cerr << fmt::format("sdscope: job \"{}\": {}\n", job.job->job_name, *t.error);
    }
  }
  if (report.jobs.size() > 1) {
    std::unordered_map<std::string, const std::string*> url_job; // url -> first job scraping it
    for (const scrape::JobTargets& job : report.jobs) {
      for (const scrape::JobTarget& t : job.active) {
        auto [it, inserted] = url_job.emplace(job.url(t), &job.job->job_name);
        if (!inserted && *it->second != job.job->job_name) {
          std::cerr << fmt::format("sdscope: warning: {} is scraped by job \"{}\" and job \"{}\"\n", it->first,
                                   *it->second, job.job->job_name);
        }
      }
    }
  }
  return failed ? 1 : 0;
}

} // namespace sdscope::cli
