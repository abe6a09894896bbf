#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "yaml/diagnostics.h"

namespace sdscope::output {

enum class DiagnosticFormat { text, json, github };

struct CheckedFile {
  std::string path;
  std::vector<yaml::Diagnostic> diagnostics; // sorted: errors first, in Prometheus's order
  size_t jobs = 0;
  std::vector<std::string> secrets; // values hidden in quoted source lines
};

// Writes the diagnostics of every checked file in the chosen format:
// text is compiler style ("file:line:col: error: message", the source line
// and a caret) with a summary per file; json is one document; github is one
// workflow command per diagnostic ("::error file=…,line=…,col=…::message").
void write_diagnostics(std::ostream& out, const std::vector<CheckedFile>& files, DiagnosticFormat format,
                       bool color);

} // namespace sdscope::output
