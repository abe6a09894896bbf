#include "model/url.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::model {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Characters allowed unescaped in a host by url.shouldEscape(encodeHost).
bool host_char_ok(char c) {
  if (is_alpha(c) || is_digit(c)) {
    return true;
  }
  return std::string_view("-_.~!$&'()*+,;=:[]<>\"").find(c) != std::string_view::npos;
}

bool valid_optional_port(std::string_view port) {
  if (port.empty()) {
    return true;
  }
  if (port[0] != ':') {
    return false;
  }
  for (char c : port.substr(1)) {
    if (!is_digit(c)) {
      return false;
    }
  }
  return true;
}

// Checks %XX escapes (and, for hosts, the allowed characters).
std::string check_escapes(std::string_view s, bool host) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) {
        std::string_view bad = s.substr(i, 3);
        return fmt::format("invalid URL escape {}", util::go_quote(bad));
      }
      i += 2;
    } else if (host && static_cast<unsigned char>(s[i]) < 0x80 && !host_char_ok(s[i])) {
      return fmt::format("invalid character {} in host name", util::go_quote(s.substr(i, 1)));
    }
  }
  return "";
}

std::string parse_host(std::string_view host) {
  if (!host.empty() && host[0] == '[') {
    size_t close = host.rfind(']');
    if (close == std::string_view::npos) {
      return "missing ']' in host";
    }
    std::string_view colon_port = host.substr(close + 1);
    if (!valid_optional_port(colon_port)) {
      return fmt::format("invalid port {} after host", util::go_quote(colon_port));
    }
    return check_escapes(host.substr(0, close + 1), true);
  }
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view colon_port = host.substr(colon);
    if (!valid_optional_port(colon_port)) {
      return fmt::format("invalid port {} after host", util::go_quote(colon_port));
    }
  }
  return check_escapes(host, true);
}

std::string parse_reference(std::string_view raw, Url& out) {
  for (char c : raw) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return "net/url: invalid control character in URL";
    }
  }
  std::string_view rest = raw;
  // Scheme.
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (is_alpha(c)) {
      continue;
    }
    if (is_digit(c) || c == '+' || c == '-' || c == '.') {
      if (i == 0) {
        break;
      }
      continue;
    }
    if (c == ':') {
      if (i == 0) {
        return "missing protocol scheme";
      }
      out.scheme = util::to_lower_ascii(raw.substr(0, i));
      rest = raw.substr(i + 1);
    }
    break;
  }
  size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    out.raw_query = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  if (rest.empty() || rest[0] != '/') {
    if (!out.scheme.empty()) {
      out.opaque = std::string(rest);
      return "";
    }
    size_t colon = rest.find(':');
    size_t slash = rest.find('/');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash)) {
      return "first path segment in URL cannot contain colon";
    }
  }
  if ((!out.scheme.empty() || rest.substr(0, 3) != "///") && rest.substr(0, 2) == "//") {
    std::string_view authority = rest.substr(2);
    size_t slash = authority.find('/');
    rest = slash == std::string_view::npos ? std::string_view() : authority.substr(slash);
    authority = authority.substr(0, slash);
    size_t at = authority.rfind('@');
    std::string_view host = authority;
    if (at != std::string_view::npos) {
      out.has_user = true;
      host = authority.substr(at + 1);
    }
    if (std::string message = parse_host(host); !message.empty()) {
      return message;
    }
    out.host = std::string(host);
  }
  if (std::string message = check_escapes(rest, false); !message.empty()) {
    return message;
  }
  out.path = std::string(rest);
  return "";
}

} // namespace

std::string Url::hostname() const {
  std::string_view h = host;
  if (!h.empty() && h[0] == '[') {
    size_t close = h.find(']');
    return std::string(h.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  size_t colon = h.rfind(':');
  return std::string(colon == std::string_view::npos ? h : h.substr(0, colon));
}

std::string parse_url(std::string_view text, Url& out) {
  out = Url{};
  std::string_view without_fragment = text.substr(0, text.find('#'));
  std::string message = parse_reference(without_fragment, out);
  if (message.empty() && without_fragment.size() < text.size()) {
    message = check_escapes(text.substr(without_fragment.size() + 1), false);
  }
  if (!message.empty()) {
    out = Url{};
    return fmt::format("parse {}: {}", util::go_quote(text), message);
  }
  out.text = std::string(text);
  return "";
}

std::string format_text(const Url& u) {
  if (!u.has_user) {
    return u.text;
  }
  // The userinfo is what precedes the last '@' of the authority.
  size_t authority = u.text.find("//");
  if (authority == std::string::npos) {
    return u.text;
  }
  authority += 2;
  size_t authority_end = u.text.find_first_of("/?#", authority);
  size_t at = u.text.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end - 1);
  size_t colon = u.text.find(':', authority);
  if (at == std::string::npos || at < authority || colon == std::string::npos || colon > at) {
    return u.text;
  }
  return u.text.substr(0, colon + 1) + "xxxxx" + u.text.substr(at);
}

} // namespace sdscope::model
