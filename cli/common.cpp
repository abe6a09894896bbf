#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "commands.h"
#include "discovery/registry.h"
#include "model/duration.h"
#include "output/diagnostics.h"

namespace sdscope::cli {

std::string version_text() {
  return std::string("sdscope ") + SDSCOPE_VERSION + "\nfollows Prometheus v2.45 semantics";
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

std::optional<config::Config> load_config(const std::string& path, const std::string& color) {
  yaml::Diagnostics diagnostics;
  Result<config::Config> loaded = config::load(path, diagnostics);
  if (!loaded) {
    std::cerr << "sdscope: " << loaded.error() << '\n';
    return std::nullopt;
  }
  if (diagnostics.error_count() > 0) {
    std::vector<yaml::Diagnostic> errors;
    for (const yaml::Diagnostic& d : diagnostics.sorted()) {
      if (d.severity == yaml::Severity::error) {
        errors.push_back(d);
      }
    }
    output::write_diagnostics(std::cerr, {{path, errors, 0}}, output::DiagnosticFormat::text, use_color(color, 2));
    return std::nullopt;
  }
  return std::move(*loaded);
}

std::optional<std::chrono::milliseconds> parse_timeout(const std::string& text) {
  model::Duration timeout;
  if (std::string e = model::parse_text(text, timeout); !e.empty()) {
    std::cerr << "sdscope: --timeout: " << e << '\n';
    return std::nullopt;
  }
  return std::chrono::milliseconds(timeout.ms);
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
