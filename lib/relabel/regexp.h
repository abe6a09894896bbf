#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace sdscope::relabel {

// A relabel regex: the text as written, compiled fully anchored exactly as
// Prometheus does it, by wrapping the text in "^(?:" and ")$".
struct Regexp {
  std::string text = "(.*)";
  bool is_explicit = false; // set in the config, even to its default text
  std::shared_ptr<const re2::RE2> re;

  Regexp();
  // A null `regex:` decodes to the empty regex, as Prometheus substitutes it.
  static Regexp zero();
  bool operator==(const Regexp& o) const { return text == o.text; }
};

// Compiles text; returns "" or Go's message ("error parsing regexp: ...").
std::string parse_text(std::string_view text, Regexp& out);
inline std::string format_text(const Regexp& r) { return r.text; }

// Compiles an unanchored pattern with Go regexp semantics; nullptr and a Go
// style message on failure.
std::shared_ptr<const re2::RE2> compile(std::string_view pattern, std::string& error);

} // namespace sdscope::relabel
