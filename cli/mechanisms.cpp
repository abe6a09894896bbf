#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "discovery/registry.h"

namespace sdscope::cli {

MechanismsCommand::MechanismsCommand(CLI::App& app) {
  m_command = app.add_subcommand("mechanisms", "List the service discovery mechanisms this build knows.");
  m_command->add_option("-o,--output", m_output, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

int MechanismsCommand::run() {
  if (m_output == "json") {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const discovery::Mechanism& m : discovery::mechanisms()) {
      list.push_back({{"name", m.name},
                      {"key", m.key},
                      {"since", m.since.empty() ? "2.45" : std::string(m.since)},
                      {"in_debian_prometheus", m.in_debian},
                      {"discovers", m.discovers}});
    }
    std::cout << list.dump(2) << '\n';
    return 0;
  }
  std::cout << fmt::format("{:<14} {:<28} {:<22} {}\n", "MECHANISM", "KEY", "PROMETHEUS", "SDSCOPE");
  for (const discovery::Mechanism& m : discovery::mechanisms()) {
    std::cout << fmt::format("{:<14} {:<28} {:<22} {}\n", m.name, m.key,
                             m.since.empty() ? "v2.45" : fmt::format("from {} (lint note)", m.since),
                             m.discovers ? "discovers" : "checks the config");
  }
  return 0;
}

} // namespace sdscope::cli
