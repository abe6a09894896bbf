#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sdscope::util {

// Quotes s the way Go's strconv.Quote does (%q): printable runes as is,
// escapes for control characters, \xNN for bytes that are not valid UTF-8.
std::string go_quote(std::string_view s);

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when it is
// invalid (overlong, surrogate, out of range or cut short).
size_t utf8_sequence(std::string_view s, size_t i, char32_t& rune);
// Go's utf8.DecodeRuneInString(s[i:]) for i < s.size(): the rune and its
// width, or U+FFFD of width 1 for an invalid byte.
char32_t decode_rune(std::string_view s, size_t i, size_t& width);
// Appends rune (at most U+10FFFF) encoded as UTF-8.
void append_utf8(std::string& out, char32_t rune);

// True when s is well-formed UTF-8.
bool valid_utf8(std::string_view s);

// The candidate closest to word by edit distance, or "" when none is close
// enough to be a plausible misspelling.
std::string closest_match(std::string_view word, std::span<const std::string_view> candidates);

bool starts_with(std::string_view s, std::string_view prefix);
// Go's strings.TrimSpace for ASCII white space.
std::string trim_space(std::string_view s);
// Prometheus's strutil.SanitizeLabelName: one '_' for each code point (or
// invalid byte) outside [a-zA-Z0-9_].
std::string sanitize_label_name(std::string_view name);
std::string to_lower_ascii(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);

// Go's path.Clean for a slash-separated path.
std::string clean_path(std::string_view path);

// Go's net.JoinHostPort: host:port, the host in brackets when it holds a
// colon (IPv6).
std::string join_host_port(std::string_view host, std::string_view port);

// Go's net.SplitHostPort. On failure host and port are empty and error
// is Go's reason ("missing port in address", "too many colons in address",
// "missing ']' in address", "unexpected '[' in address",
// "unexpected ']' in address"); Go's full message is
// `address <hostport>: <reason>`.
struct HostPort {
  std::string_view host;
  std::string_view port;
  std::string_view error;
  bool ok() const { return error.empty(); }
};
HostPort split_host_port(std::string_view hostport);

// Go's url.QueryEscape: unreserved bytes as is, ' ' as '+', the rest %XX.
std::string query_escape(std::string_view s);
// Go's url.PathEscape (one path segment): also keeps $&+:=@, escapes '/'.
std::string path_escape(std::string_view s);

// Reads a whole file; false when it cannot be opened or read.
bool read_file(const std::string& path, std::string& out);

// The paths a glob pattern matches, sorted (dot files included, as Go's
// filepath.Glob matches them); none for a bad pattern.
std::vector<std::string> glob_files(const std::string& pattern);

} // namespace sdscope::util
