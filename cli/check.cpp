#include <iostream>

#include <yaml-cpp/emitter.h>

#include "commands.h"
#include "output/diagnostics.h"
#include "scrape/check.h"
#include "yaml/visit.h"

namespace sdscope::cli {

CheckCommand::CheckCommand(CLI::App& app) {
  m_command = app.add_subcommand("check", "Validate config files exactly as Prometheus v2.45 loads them, plus what a "
                                          "scrape needs (named files, file_sd contents, static targets).");
  m_command->add_option("CONFIG", m_configs, "Prometheus config files")->required()->check(CLI::ExistingFile);
  m_command->add_flag("--syntax-only", m_syntax_only,
                      "Check only the config file itself and its scrape_config_files, not the files it names");
  m_command->add_option("--format", m_format, "Diagnostics format")
      ->check(CLI::IsMember({"text", "json", "github"}))
      ->capture_default_str();
  m_command->add_flag("--lint-fatal", m_lint_fatal, "Exit 3 when there are lint warnings and no errors");
  m_command->add_flag("--print", m_print,
                      "Print the effective config (defaults and inheritance applied, secrets hidden) as YAML");
  m_command->add_option("--enable-feature", m_features, "Prometheus feature flags (no-default-scrape-port)")
      ->delimiter(',');
  m_command->add_option("--color", m_color, "Colour text output")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

int CheckCommand::run() {
  scrape::CheckOptions options;
  options.syntax_only = m_syntax_only;
  options.keep_jobs = m_print;
  options.no_default_scrape_port = no_default_scrape_port(m_features);
  output::DiagnosticFormat format = m_format == "json"     ? output::DiagnosticFormat::json
                                    : m_format == "github" ? output::DiagnosticFormat::github
                                                           : output::DiagnosticFormat::text;
  std::ostream& diagnostics_out = m_print ? std::cerr : std::cout;
  int exit_code = 0;
  std::vector<output::CheckedFile> checked;
  for (const std::string& path : m_configs) {
    scrape::CheckResult result = scrape::check_config(path, options);
    if (!result.config) {
      std::cerr << "sdscope: " << result.io_error << '\n';
      exit_code = 2;
      continue;
    }
    output::CheckedFile file{path, result.diagnostics.sorted(), config::job_count(*result.config),
                             result.diagnostics.secrets()};
    size_t errors = result.diagnostics.error_count();
    if (errors > 0) {
      exit_code = std::max(exit_code, 1);
    } else if (m_lint_fatal && result.diagnostics.warning_count() > 0 && exit_code == 0) {
      exit_code = 3;
    }
    if (m_print && errors == 0) {
      YAML::Emitter emitter;
      yaml::Printer printer(emitter);
      printer.value(*result.config);
      std::cout << emitter.c_str() << '\n';
    }
    checked.push_back(std::move(file));
  }
  output::write_diagnostics(diagnostics_out, checked, format, use_color(m_color, m_print ? 2 : 1));
  return exit_code;
}

} // namespace sdscope::cli
