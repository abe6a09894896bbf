#include "yaml/visit.h"

#include <vector>

#include "util/strings.h"

namespace sdscope::yaml {

std::string join_dir(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') {
    return path;
  }
  return util::clean_path(dir.empty() ? path : dir + "/" + path);
}

} // namespace sdscope::yaml
