#include "relabel/regexp.h"

#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <re2/re2.h>

namespace sdscope::relabel {

namespace {

std::string_view go_error_text(RE2::ErrorCode code) {
  switch (code) {
  case RE2::ErrorBadEscape: return "invalid escape sequence";
  case RE2::ErrorBadCharClass: return "invalid character class";
  case RE2::ErrorBadCharRange: return "invalid character class range";
  case RE2::ErrorMissingBracket: return "missing closing ]";
  case RE2::ErrorMissingParen: return "missing closing )";
  case RE2::ErrorUnexpectedParen: return "unexpected )";
  case RE2::ErrorTrailingBackslash: return "trailing backslash at end of expression";
  case RE2::ErrorRepeatArgument: return "missing argument to repetition operator";
  case RE2::ErrorRepeatSize: return "invalid repeat count";
  case RE2::ErrorRepeatOp: return "invalid nested repetition operator";
  case RE2::ErrorBadPerlOp: return "invalid or unsupported Perl syntax";
  case RE2::ErrorBadUTF8: return "invalid UTF-8";
  case RE2::ErrorBadNamedCapture: return "invalid named capture";
  case RE2::ErrorPatternTooLarge: return "expression too large";
  default: return "regexp/syntax: internal error";
  }
}

// RE2 accepts \C (any byte); Go's syntax rejects it as an invalid escape.
bool has_byte_escape(std::string_view p) {
  for (size_t i = 0; i + 1 < p.size(); ++i) {
    if (p[i] == '\\') {
      if (p[i + 1] == 'C') {
        return true;
      }
      ++i;
    }
  }
  return false;
}

// Go accepts only ASCII word characters in (?P<name>...); RE2 also takes
// Unicode letters. Returns the offending "(?P<name>" or "".
std::string_view bad_capture_name(std::string_view p) {
  for (size_t i = p.find("(?P<"); i != std::string_view::npos; i = p.find("(?P<", i + 1)) {
    if (i > 0 && p[i - 1] == '\\') {
      continue;
    }
    size_t close = p.find('>', i + 4);
    if (close == std::string_view::npos) {
      return {};
    }
    for (size_t k = i + 4; k < close; ++k) {
      char c = p[k];
      bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      if (!word) {
        return p.substr(i, close + 1 - i);
      }
    }
  }
  return {};
}

} // namespace

std::shared_ptr<const re2::RE2> compile(std::string_view pattern, std::string& error) {
  if (has_byte_escape(pattern)) {
    error = "error parsing regexp: invalid escape sequence: `\\C`";
    return nullptr;
  }
  if (std::string_view bad = bad_capture_name(pattern); !bad.empty()) {
    error = fmt::format("error parsing regexp: invalid named capture: `{}`", bad);
    return nullptr;
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(int64_t{256} << 20);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    error = fmt::format("error parsing regexp: {}: `{}`", go_error_text(re->error_code()), re->error_arg());
    return nullptr;
  }
  return re;
}

Regexp::Regexp() {
  std::string error;
  static const std::shared_ptr<const re2::RE2> k_default = compile("^(?:(.*))$", error);
  re = k_default;
}

Regexp Regexp::zero() {
  Regexp r;
  r.text = "";
  r.is_explicit = true;
  std::string error;
  static const std::shared_ptr<const re2::RE2> k_empty = compile("^(?:)$", error);
  r.re = k_empty;
  return r;
}

std::string parse_text(std::string_view text, Regexp& out) {
  // Configs repeat the same few regexes across many jobs; compile each once.
  static std::mutex mutex;
  static std::unordered_map<std::string, std::shared_ptr<const re2::RE2>> cache;
  std::string error;
  std::string pattern = fmt::format("^(?:{})$", text);
  std::shared_ptr<const re2::RE2> re;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(pattern);
    if (it != cache.end()) {
      re = it->second;
    }
  }
  if (!re) {
    re = compile(pattern, error);
    if (re) {
      std::lock_guard<std::mutex> lock(mutex);
      if (cache.size() >= 4096) {
        cache.clear(); // bounded: reloads and odd inputs must not grow it forever
      }
      cache.emplace(pattern, re);
    }
  }
  if (!re) {
    return error;
  }
  out.text = std::string(text);
  out.is_explicit = true;
  out.re = std::move(re);
  return "";
}

} // namespace sdscope::relabel
