#include "util/strings.h"

#include <glob.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace sdscope::util {

size_t utf8_sequence(std::string_view s, size_t i, char32_t& rune) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  if (c < 0x80) {
    rune = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    rune = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    rune = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    rune = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      return 0;
    }
    rune = (rune << 6) | (cc & 0x3F);
  }
  static constexpr char32_t k_min_rune[] = {0, 0, 0x80, 0x800, 0x10000};
  if (rune < k_min_rune[len] || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF)) {
    return 0;
  }
  return len;
}

char32_t decode_rune(std::string_view s, size_t i, size_t& width) {
  char32_t rune = 0;
  width = utf8_sequence(s, i, rune);
  if (width == 0) {
    width = 1;
    return 0xFFFD;
  }
  return rune;
}

void append_utf8(std::string& out, char32_t rune) {
  if (rune < 0x80) {
    out += static_cast<char>(rune);
  } else if (rune < 0x800) {
    out += static_cast<char>(0xC0 | (rune >> 6));
    out += static_cast<char>(0x80 | (rune & 0x3F));
  } else if (rune < 0x10000) {
    out += static_cast<char>(0xE0 | (rune >> 12));
    out += static_cast<char>(0x80 | ((rune >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (rune & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (rune >> 18));
    out += static_cast<char>(0x80 | ((rune >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((rune >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (rune & 0x3F));
  }
}

bool valid_utf8(std::string_view s) {
  unsigned char high = 0; // ASCII, the common case, is valid: one vectorised pass
  for (char c : s) {
    high |= static_cast<unsigned char>(c);
  }
  if (high < 0x80) {
    return true;
  }
  for (size_t i = 0; i < s.size();) {
    char32_t rune = 0;
    size_t len = utf8_sequence(s, i, rune);
    if (len == 0) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    char32_t rune = 0;
    size_t len = utf8_sequence(s, i, rune);
    if (len == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    switch (rune) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\a': out += "\\a"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\v': out += "\\v"; break;
    default:
      if (rune < 0x20 || rune == 0x7F) {
        out += fmt::format("\\x{:02x}", static_cast<unsigned>(rune));
      } else if (rune >= 0x80 && rune < 0xA0) {
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(rune));
      } else {
        out.append(s.substr(i, len));
      }
    }
    i += len;
  }
  out += '"';
  return out;
}

std::string closest_match(std::string_view word, std::span<const std::string_view> candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(1, word.size() / 6) + 1;
  for (std::string_view candidate : candidates) {
    std::vector<size_t> row(candidate.size() + 1);
    for (size_t j = 0; j <= candidate.size(); ++j) {
      row[j] = j;
    }
    for (size_t i = 1; i <= word.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= candidate.size(); ++j) {
        size_t above = row[j];
        size_t cost = word[i - 1] == candidate[j - 1] ? 0 : 1;
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
        diagonal = above;
      }
    }
    if (row[candidate.size()] < best_distance) {
      best_distance = row[candidate.size()];
      best = candidate;
    }
  }
  return best;
}

std::string trim_space(std::string_view s) {
  constexpr std::string_view k_space = " \t\r\n\v\f";
  size_t begin = s.find_first_not_of(k_space);
  if (begin == std::string_view::npos) {
    return "";
  }
  return std::string(s.substr(begin, s.find_last_not_of(k_space) - begin + 1));
}

std::string sanitize_label_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    char c = name[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      out += c;
      ++i;
      continue;
    }
    out += '_';
    char32_t rune = 0;
    i += std::max<size_t>(utf8_sequence(name, i, rune), 1);
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::string clean_path(std::string_view path) {
  bool rooted = !path.empty() && path[0] == '/';
  std::vector<std::string_view> parts;
  for (std::string_view rest = path; !rest.empty();) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
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
    out += (i > 0 ? "/" : "");
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

std::string join_host_port(std::string_view host, std::string_view port) {
  std::string out;
  bool bracket = host.find(':') != std::string_view::npos;
  out.reserve(host.size() + port.size() + 3);
  out.append(bracket ? "[" : "").append(host).append(bracket ? "]:" : ":").append(port);
  return out;
}

HostPort split_host_port(std::string_view hostport) {
  constexpr std::string_view missing_port = "missing port in address";
  constexpr std::string_view too_many_colons = "too many colons in address";
  auto fail = [](std::string_view why) { return HostPort{{}, {}, why}; };

  size_t i = hostport.rfind(':');
  if (i == std::string_view::npos) {
    return fail(missing_port);
  }
  std::string_view host;
  size_t j = 0;
  size_t k = 0;
  if (hostport[0] == '[') {
    // Expect the first ']' just before the last ':'.
    size_t end = hostport.find(']');
    if (end == std::string_view::npos) {
      return fail("missing ']' in address");
    }
    if (end + 1 == hostport.size()) {
      return fail(missing_port);
    }
    if (end + 1 != i) {
      return fail(hostport[end + 1] == ':' ? too_many_colons : missing_port);
    }
    host = hostport.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.substr(0, i);
    if (host.find(':') != std::string_view::npos) {
      return fail(too_many_colons);
    }
  }
  if (hostport.find('[', j) != std::string_view::npos) {
    return fail("unexpected '[' in address");
  }
  if (hostport.find(']', k) != std::string_view::npos) {
    return fail("unexpected ']' in address");
  }
  return HostPort{host, hostport.substr(i + 1), {}};
}

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

void append_percent(std::string& out, unsigned char c) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  out += '%';
  out += k_hex[c >> 4];
  out += k_hex[c & 15];
}

} // namespace

std::string query_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      append_percent(out, c);
    }
  }
  return out;
}

std::string path_escape(std::string_view s) {
  constexpr std::string_view k_kept = "$&+:=@";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || k_kept.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      append_percent(out, c);
    }
  }
  return out;
}

std::vector<std::string> glob_files(const std::string& pattern) {
  std::vector<std::string> files;
  glob_t matches{};
  if (glob(pattern.c_str(), GLOB_PERIOD, nullptr, &matches) == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) {
      files.emplace_back(matches.gl_pathv[i]);
    }
  }
  globfree(&matches);
  return files;
}

bool read_file(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return false;
  }
  out.clear();
  if (std::fseek(f, 0, SEEK_END) == 0) {
    long size = std::ftell(f);
    if (size > 0) {
      out.reserve(static_cast<size_t>(size));
    }
    std::rewind(f);
  }
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
    out.append(buffer, n);
  }
  bool ok = std::ferror(f) == 0;
  std::fclose(f);
  return ok;
}

} // namespace sdscope::util
