#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace sdscope::cli {

std::string version_text();

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

class MechanismsCommand {
public:
  explicit MechanismsCommand(CLI::App& app);
  int run();

private:
  CLI::App* m_command;
  std::string m_output = "table";
};

} // namespace sdscope::cli
