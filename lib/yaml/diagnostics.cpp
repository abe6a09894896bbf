#include "yaml/diagnostics.h"

#include <algorithm>

namespace sdscope::yaml {

void Diagnostics::error(const std::string& file, Mark mark, std::string message, Stage stage) {
  m_items.push_back({file, mark, std::move(message), Severity::error, stage});
}

void Diagnostics::warning(const std::string& file, Mark mark, std::string message) {
  m_items.push_back({file, mark, std::move(message), Severity::warning, Stage::lint});
}

size_t Diagnostics::error_count() const {
  return static_cast<size_t>(std::count_if(m_items.begin(), m_items.end(), [](const Diagnostic& d) {
    return d.severity == Severity::error;
  }));
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> out = m_items;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.severity != b.severity) {
      return a.severity == Severity::error;
    }
    return a.stage < b.stage;
  });
  return out;
}

} // namespace sdscope::yaml
