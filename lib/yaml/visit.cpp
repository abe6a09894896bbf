#include "yaml/visit.h"

#include <vector>

#include "util/strings.h"

namespace sdscope::yaml {

namespace {

// Go's path.Clean for slash-separated paths.
std::string clean(const std::string& path) {
  bool rooted = !path.empty() && path[0] == '/';
  std::vector<std::string> parts;
  for (const std::string& part : util::split(path, '/')) {
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    out += (i > 0 ? "/" : "") + parts[i];
  }
  return out.empty() ? "." : out;
}

} // namespace

std::string join_dir(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') {
    return path;
  }
  return clean(dir.empty() ? path : dir + "/" + path);
}

} // namespace sdscope::yaml
