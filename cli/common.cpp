#include <algorithm>
#include <cstdlib>
#include <unistd.h>

#include "commands.h"
#include "discovery/registry.h"

namespace sdscope::cli {

std::string version_text() {
  return std::string("sdscope ") + SDSCOPE_VERSION + "\nfollows Prometheus v2.45 semantics";
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

bool no_default_scrape_port(const std::vector<std::string>& features) {
  return std::find(features.begin(), features.end(), "no-default-scrape-port") != features.end();
}

} // namespace sdscope::cli
