#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/config.h"
#include "discovery/discoverer.h"

namespace sdscope::cli {

std::string version_text();

// For the commands that hold many targets: re-executes this program once
// with glibc malloc tunables set (huge pages, a 64 MB heap step), which only
// the environment can set; returns (and runs as is) when that fails or they
// are set already.
void exec_with_malloc_tunables(char** argv);

// Whether to colour output: --color auto honours NO_COLOR and the terminal.
bool use_color(const std::string& mode, int fd);

class CheckCommand {
public:
  explicit CheckCommand(CLI::App& app);
  bool selected() const { return m_command->parsed(); }
  int run();

private:
  CLI::App* m_command;
  std::vector<std::string> m_configs;
  std::string m_format = "text";
  std::string m_color = "auto";
  std::vector<std::string> m_features;
  bool m_syntax_only = false;
  bool m_lint_fatal = false;
  bool m_print = false;
};

class TargetsCommand {
public:
  explicit TargetsCommand(CLI::App& app);
  bool selected() const { return m_command->parsed(); }
  int run();

private:
  CLI::App* m_command;
  std::string m_config;
  std::vector<std::string> m_jobs;
  std::string m_output;
  std::string m_timeout = "30s";
  std::string m_color = "auto";
  std::vector<std::string> m_features;
  bool m_dropped = false;
};

class WatchCommand {
public:
  explicit WatchCommand(CLI::App& app);
  bool selected() const { return m_command->parsed(); }
  int run();

private:
  CLI::App* m_command;
  std::string m_config;
  std::vector<std::string> m_jobs;
  std::string m_update_interval = "5s";
  std::string m_once_after;
  std::string m_output = "text";
  std::string m_color = "auto";
  std::vector<std::string> m_features;
  bool m_events = false;
};

class ExplainCommand {
public:
  explicit ExplainCommand(CLI::App& app);
  bool selected() const { return m_command->parsed(); }
  int run();

private:
  CLI::App* m_command;
  std::string m_config;
  std::string m_job;
  std::string m_target;
  std::string m_labels;
  std::string m_timeout = "30s";
  std::string m_color = "auto";
  std::vector<std::string> m_features;
};

class DiffCommand {
public:
  explicit DiffCommand(CLI::App& app);
  bool selected() const { return m_command->parsed(); }
  int run();

private:
  CLI::App* m_command;
  std::vector<std::string> m_configs;
  std::string m_old_ref;
  std::string m_output = "table";
  std::vector<std::string> m_fail_on;
  bool m_offline = false;
  std::vector<std::string> m_jobs;
  std::string m_timeout = "30s";
  size_t m_max_targets = 20;
  std::vector<std::string> m_features;
  std::string m_color = "auto";
};

// Why a config cannot be used: the errors as check prints them (with
// their source lines), and the first one on one line.
struct ConfigErrors {
  std::string text;
  std::string summary;
};

// The config for a command that runs discovery: loaded and validated as
// Prometheus loads it, or why it cannot be used.
tl::expected<config::Config, ConfigErrors> try_load_config(const std::string& path, bool color);
// The same, printing the errors on stderr (colour as --color says).
std::optional<config::Config> load_config(const std::string& path, const std::string& color);

// The jobs of config named in wanted (every job when it is empty), in
// config order; nullopt (after printing why) when one is not in it.
std::optional<std::vector<const config::ScrapeConfig*>> select_jobs(const config::Config& config,
                                                                     const std::vector<std::string>& wanted,
                                                                     const std::string& path);

// "\"a\", \"b\"": job names for messages.
std::string job_list(const std::vector<std::string>& jobs);

// A duration option's value; nullopt (after printing why, naming option) when
// it is malformed.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& option, const std::string& text);
inline std::optional<std::chrono::milliseconds> parse_timeout(const std::string& text) {
  return parse_duration("--timeout", text);
}

// Whether the Prometheus feature flags include no-default-scrape-port.
bool no_default_scrape_port(const std::vector<std::string>& features);

// Discoverer settings from the environment: SDSCOPE_DNS_SERVER
// ("host:port[,host:port...]") replaces the name servers of
// /etc/resolv.conf for dns_sd, e.g. to try a config against a test server.
discovery::DiscovererOptions discoverer_options_from_environment();

class CompletionCommand {
public:
  explicit CompletionCommand(CLI::App& app);
  bool selected() const { return m_command->parsed(); }
  int run();

private:
  CLI::App& m_app;
  CLI::App* m_command;
  std::string m_shell;
  std::string m_jobs_of;
};

class VersionCommand {
public:
  explicit VersionCommand(CLI::App& app);
  bool selected() const { return m_command->parsed(); }
  int run();

private:
  CLI::App* m_command;
  std::string m_output = "text";
};

class MechanismsCommand {
public:
  explicit MechanismsCommand(CLI::App& app);
  int run();

private:
  CLI::App* m_command;
  std::string m_output = "table";
};

} // namespace sdscope::cli
