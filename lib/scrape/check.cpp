#include "scrape/check.h"

namespace sdscope::scrape {

CheckResult check_config(const std::string& path, const CheckOptions& options) {
  CheckResult result;
  Result<config::Config> loaded = config::load(path, result.diagnostics, {options.syntax_only});
  if (!loaded) {
    result.io_error = loaded.error();
    return result;
  }
  result.config = std::move(*loaded);
  return result;
}

} // namespace sdscope::scrape
