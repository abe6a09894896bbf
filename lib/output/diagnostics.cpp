#include "output/diagnostics.h"

#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/strings.h"

namespace sdscope::output {

namespace {

// The text of line n (1-based) of file, or "" when unavailable.
std::string source_line(const std::string& file, uint32_t n) {
  static std::map<std::string, std::vector<std::string>> cache;
  auto it = cache.find(file);
  if (it == cache.end()) {
    std::string text;
    std::vector<std::string> lines;
    if (util::read_file(file, text)) {
      lines = util::split(text, '\n');
    }
    it = cache.emplace(file, std::move(lines)).first;
  }
  return n >= 1 && n <= it->second.size() ? it->second[n - 1] : "";
}

// Replaces every line of every secret value in line with "<secret>" (a
// config quoted in a CI log must not show its passwords) and moves the
// caret column to where the same character is after the replacement.
void hide_secrets(std::string& line, size_t& caret, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    for (const std::string& piece : util::split(secret, '\n')) {
      std::string text = util::trim_space(piece);
      if (text.empty()) {
        continue;
      }
      constexpr std::string_view k_mask = "<secret>";
      for (size_t at = line.find(text); at != std::string::npos; at = line.find(text, at + k_mask.size())) {
        line.replace(at, text.size(), k_mask);
        if (caret >= at + text.size()) {
          caret = caret + k_mask.size() - text.size();
        } else if (caret > at) {
          caret = at;
        }
      }
    }
  }
}

std::string location(const yaml::Diagnostic& d) {
  return d.mark.line == 0 ? d.file : fmt::format("{}:{}:{}", d.file, d.mark.line, d.mark.column);
}

void write_text(std::ostream& out, const CheckedFile& f, bool color) {
  const char* red = color ? "\033[1;31m" : "";
  const char* yellow = color ? "\033[1;33m" : "";
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  size_t errors = 0;
  size_t warnings = 0;
  for (const yaml::Diagnostic& d : f.diagnostics) {
    bool error = d.severity == yaml::Severity::error;
    (error ? errors : warnings)++;
    out << bold << location(d) << ": " << reset << (error ? red : yellow) << (error ? "error: " : "warning: ")
        << reset << d.message << '\n';
    std::string line = source_line(d.file, d.mark.line);
    if (!line.empty()) {
      size_t caret_column = d.mark.column > 0 ? d.mark.column - 1 : 0;
      hide_secrets(line, caret_column, f.secrets);
      std::string caret(caret_column, ' ');
      for (size_t i = 0; i < caret.size() && i < line.size(); ++i) {
        if (line[i] == '\t') {
          caret[i] = '\t';
        }
      }
      out << fmt::format("{:>6} | {}\n       | {}^\n", d.mark.line, line, caret);
    }
  }
  if (errors == 0) {
    out << f.path << ": valid (" << f.jobs << (f.jobs == 1 ? " job" : " jobs");
    if (warnings > 0) {
      out << ", " << warnings << (warnings == 1 ? " warning" : " warnings");
    }
    out << ")\n";
  } else {
    out << f.path << ": " << errors << (errors == 1 ? " error" : " errors");
    if (warnings > 0) {
      out << ", " << warnings << (warnings == 1 ? " warning" : " warnings");
    }
    out << '\n';
  }
}

// Escapes a GitHub workflow command value (message or property).
std::string github_escape(std::string_view s, bool property) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '%': out += "%25"; break;
    case '\r': out += "%0D"; break;
    case '\n': out += "%0A"; break;
    case ':': out += property ? "%3A" : ":"; break;
    case ',': out += property ? "%2C" : ","; break;
    default: out += c;
    }
  }
  return out;
}

} // namespace

void write_diagnostics(std::ostream& out, const std::vector<CheckedFile>& files, DiagnosticFormat format,
                       bool color) {
  if (format == DiagnosticFormat::json) {
    nlohmann::ordered_json doc;
    doc["files"] = nlohmann::ordered_json::array();
    for (const CheckedFile& f : files) {
      nlohmann::ordered_json entry;
      entry["file"] = f.path;
      size_t errors = 0;
      entry["diagnostics"] = nlohmann::ordered_json::array();
      for (const yaml::Diagnostic& d : f.diagnostics) {
        bool error = d.severity == yaml::Severity::error;
        errors += error ? 1 : 0;
        entry["diagnostics"].push_back({{"file", d.file},
                                        {"line", d.mark.line},
                                        {"column", d.mark.column},
                                        {"severity", error ? "error" : "warning"},
                                        {"message", d.message}});
      }
      entry["valid"] = errors == 0;
      entry["jobs"] = f.jobs;
      doc["files"].push_back(std::move(entry));
    }
    out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return;
  }
  for (const CheckedFile& f : files) {
    if (format == DiagnosticFormat::text) {
      write_text(out, f, color);
      continue;
    }
    for (const yaml::Diagnostic& d : f.diagnostics) {
      out << (d.severity == yaml::Severity::error ? "::error " : "::warning ") << "file=" << github_escape(d.file, true);
      if (d.mark.line != 0) {
        out << ",line=" << d.mark.line << ",col=" << d.mark.column;
      }
      out << "::" << github_escape(d.message, false) << '\n';
    }
  }
}

} // namespace sdscope::output
