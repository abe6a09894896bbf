#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sdscope::yaml {

// Where a node starts in its file; both 1-based. line 0 means "no position"
// (a problem with the file as a whole).
struct Mark {
  uint32_t line = 0;
  uint32_t column = 0;
  auto operator<=>(const Mark&) const = default; // document order
};

enum class Severity : uint8_t { error, warning };

// When Prometheus would see a problem. Diagnostics are reported in this
// order so that the first one printed is the one Prometheus reports:
// a validation hook aborts decoding at once, type errors are collected to
// the end of the document, whole-file checks only run on a clean decode,
// scrape_config_files load after that, and promtool's file checks last.
enum class Stage : uint8_t { hook, type, file, include, content, lint };

struct Diagnostic {
  std::string file;
  Mark mark;
  std::string message;
  Severity severity = Severity::error;
  Stage stage = Stage::hook;
};

// Collects located problems; parsing goes on after each one.
class Diagnostics {
public:
  void add(Diagnostic d) { m_items.push_back(std::move(d)); }
  void error(const std::string& file, Mark mark, std::string message, Stage stage = Stage::hook);
  void warning(const std::string& file, Mark mark, std::string message);

  size_t error_count() const;
  size_t warning_count() const { return m_items.size() - error_count(); }
  const std::vector<Diagnostic>& items() const { return m_items; }

  // Errors first, in Stage order (stable within a stage), then warnings.
  std::vector<Diagnostic> sorted() const;

  // The values of the Secret fields decoded so far, so that the source
  // lines quoted beside diagnostics can hide them.
  void add_secret(const std::string& value) {
    if (!value.empty()) {
      m_secrets.push_back(value);
    }
  }
  const std::vector<std::string>& secrets() const { return m_secrets; }

private:
  std::vector<Diagnostic> m_items;
  std::vector<std::string> m_secrets;
};

} // namespace sdscope::yaml
