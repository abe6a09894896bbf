#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "discovery/registry.h"
#include "model/duration.h"
#include "output/diagnostics.h"

namespace sdscope::cli {

std::string version_text() {
  std::vector<std::string_view> discovering;
  std::vector<std::string_view> checking;
  for (const discovery::Mechanism& m : discovery::mechanisms()) {
    (m.discovers ? discovering : checking).push_back(m.name);
  }
  std::string text = fmt::format("sdscope {}\nfollows Prometheus v2.45 semantics\ndiscovers: {}", SDSCOPE_VERSION,
                                 fmt::join(discovering, " "));
  if (!checking.empty()) {
    text += fmt::format("\nchecks the config only: {}", fmt::join(checking, " "));
  }
  return text;
}

VersionCommand::VersionCommand(CLI::App& app) {
  m_command = app.add_subcommand("version", "Print the version, the Prometheus semantics followed and the SD "
                                            "mechanisms compiled in.");
  m_command->add_option("-o,--output", m_output, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

int VersionCommand::run() {
  if (m_output == "text") {
    std::cout << version_text() << '\n';
    return 0;
  }
  nlohmann::ordered_json mechanisms = nlohmann::ordered_json::array();
  for (const discovery::Mechanism& m : discovery::mechanisms()) {
    mechanisms.push_back({{"name", m.name}, {"discovers", m.discovers}});
  }
  nlohmann::ordered_json doc = {{"version", SDSCOPE_VERSION}, {"prometheus", "v2.45"}, {"mechanisms", mechanisms}};
  std::cout << doc.dump(2) << '\n';
  return 0;
}

void exec_with_malloc_tunables(char** argv) {
  // Every first touch of a 4 KiB page costs a page fault, and on virtual
  // machines page faults are slow and serialise threads: 200,000 file_sd
  // targets took 30,000 of them. Transparent huge pages for malloc's heaps
  // and growing the heap 64 MB at a time cut that to about 1,000 (and the
  // run by a third) for a few MB more resident memory.
  const char* current = std::getenv("GLIBC_TUNABLES");
  if (current != nullptr && std::string_view(current).find("glibc.malloc.") != std::string_view::npos) {
    return; // ours (after the exec), or the user's own choice
  }
  std::string tunables = "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=67108864";
  if (current != nullptr && *current != '\0') {
    tunables = std::string(current) + ":" + tunables;
  }
  setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
  execv("/proc/self/exe", argv);
}

bool use_color(const std::string& mode, int fd) {
  if (mode == "always") {
    return true;
  }
  if (mode == "never") {
    return false;
  }
  const char* no_color = std::getenv("NO_COLOR");
  return (no_color == nullptr || *no_color == '\0') && isatty(fd) != 0;
}

tl::expected<config::Config, ConfigErrors> try_load_config(const std::string& path, bool color) {
  yaml::Diagnostics diagnostics;
  Result<config::Config> loaded = config::load(path, diagnostics);
  if (!loaded) {
    return tl::unexpected(ConfigErrors{"sdscope: " + loaded.error() + "\n", loaded.error()});
  }
  if (diagnostics.error_count() == 0) {
    return std::move(*loaded);
  }
  std::vector<yaml::Diagnostic> errors;
  for (const yaml::Diagnostic& d : diagnostics.sorted()) {
    if (d.severity == yaml::Severity::error) {
      errors.push_back(d);
    }
  }
  std::ostringstream text;
  output::write_diagnostics(text, {{path, errors, 0, diagnostics.secrets()}}, output::DiagnosticFormat::text, color);
  const yaml::Diagnostic& first = errors.front();
  std::string summary = fmt::format("{}:{}:{}: {}", first.file, first.mark.line, first.mark.column, first.message);
  if (errors.size() > 1) {
    summary += fmt::format(" (and {} more error{})", errors.size() - 1, errors.size() == 2 ? "" : "s");
  }
  return tl::unexpected(ConfigErrors{text.str(), summary});
}

std::optional<config::Config> load_config(const std::string& path, const std::string& color) {
  auto loaded = try_load_config(path, use_color(color, 2));
  if (!loaded) {
    std::cerr << loaded.error().text;
    return std::nullopt;
  }
  return std::move(*loaded);
}

std::optional<std::vector<const config::ScrapeConfig*>> select_jobs(const config::Config& config,
                                                                     const std::vector<std::string>& wanted,
                                                                     const std::string& path) {
  std::vector<const config::ScrapeConfig*> jobs;
  std::vector<std::string> names;
  for (const config::ScrapeConfig* job : config::jobs(config)) {
    names.push_back(job->job_name);
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), job->job_name) != wanted.end()) {
      jobs.push_back(job);
    }
  }
  for (const std::string& name : wanted) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::cerr << fmt::format("sdscope: no job \"{}\" in {} (jobs: {})\n", name, path, job_list(names));
      return std::nullopt;
    }
  }
  return jobs;
}

std::string job_list(const std::vector<std::string>& jobs) {
  std::vector<std::string> quoted;
  for (const std::string& j : jobs) {
    quoted.push_back(fmt::format("\"{}\"", j));
  }
  return fmt::format("{}", fmt::join(quoted, ", "));
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& option, const std::string& text) {
  model::Duration d;
  if (std::string e = model::parse_text(text, d); !e.empty()) {
    std::cerr << "sdscope: " << option << ": " << e << '\n';
    return std::nullopt;
  }
  return std::chrono::milliseconds(d.ms);
}

bool no_default_scrape_port(const std::vector<std::string>& features) {
  return std::find(features.begin(), features.end(), "no-default-scrape-port") != features.end();
}

discovery::DiscovererOptions discoverer_options_from_environment() {
  discovery::DiscovererOptions options;
  if (const char* servers = std::getenv("SDSCOPE_DNS_SERVER"); servers != nullptr && *servers != '\0') {
    options.endpoints["dns"] = servers;
  }
  return options;
}

} // namespace sdscope::cli
