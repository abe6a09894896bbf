// sdscope: inspect Prometheus scrape configs the way Prometheus v2.45 reads
// them. One file per subcommand; this file wires them to CLI11.
#include <cstdio>
#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  if (argc > 1 && (std::string_view(argv[1]) == "targets" || std::string_view(argv[1]) == "diff")) {
    sdscope::cli::exec_with_malloc_tunables(argv);
  }
  CLI::App app{"sdscope: validate Prometheus scrape configs and inspect their service discovery, exactly as "
               "Prometheus v2.45 does."};
  app.set_version_flag("--version", sdscope::cli::version_text());
  app.require_subcommand(1);
  sdscope::cli::CheckCommand check(app);
  sdscope::cli::TargetsCommand targets(app);
  sdscope::cli::WatchCommand watch(app);
  sdscope::cli::ExplainCommand explain(app);
  sdscope::cli::DiffCommand diff(app);
  sdscope::cli::CompletionCommand completion(app);
  sdscope::cli::VersionCommand version(app);
  sdscope::cli::MechanismsCommand mechanisms(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (check.selected()) {
      return check.run();
    }
    if (targets.selected()) {
      return targets.run();
    }
    if (watch.selected()) {
      return watch.run();
    }
    if (explain.selected()) {
      return explain.run();
    }
    if (diff.selected()) {
      return diff.run();
    }
    if (completion.selected()) {
      return completion.run();
    }
    if (version.selected()) {
      return version.run();
    }
    return mechanisms.run();
  } catch (const std::exception& e) {
    std::cerr << "sdscope: " << e.what() << '\n';
    return 2;
  }
}
