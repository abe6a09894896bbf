#pragma once

#include <string>
#include <string_view>

namespace sdscope::model {

// A URL as Go's net/url.Parse splits it; config.URL fields use it.
struct Url {
  std::string text; // as written
  std::string scheme; // lower-cased
  std::string opaque;
  std::string host; // host[:port], brackets kept for IPv6
  std::string path;
  std::string raw_query;
  bool has_user = false;

  bool empty() const { return text.empty(); }
  // Host without port or IPv6 brackets (url.URL.Hostname()).
  std::string hostname() const;
  bool operator==(const Url& o) const { return text == o.text; }
};

// Parses like url.Parse. Returns "" on success, else Go's message,
// e.g. `parse "http://[::1": missing ']' in host`.
std::string parse_url(std::string_view text, Url& out);

// config.URL fields go through url.Parse when decoded.
inline std::string parse_text(std::string_view text, Url& out) { return parse_url(text, out); }
// As written, but a password in it printed as "xxxxx" (config.URL marshals
// itself with url.URL.Redacted, so --print never shows it).
std::string format_text(const Url& u);

} // namespace sdscope::model
