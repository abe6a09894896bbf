// kubernetes_sd: nodes, pods, services, endpoints, endpoint slices and
// ingresses read from the Kubernetes API (discovery/kubernetes/kubernetes.go
// in Prometheus v2.45, with the selector syntax of apimachinery v0.26's
// pkg/fields and pkg/labels). The config block; the discoverer is in
// kubernetes_discovery.cpp. See spec/sd-platforms.md §1.1.
#include "discovery/kubernetes.h"
#include "discovery/kubernetes_discovery.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::kubernetes {

namespace {

constexpr std::string_view k_roles[] = {"node", "pod", "service", "endpoints", "endpointslice", "ingress"};

// ---- fields.ParseSelector ----

// The rune's UTF-8 text (U+FFFD for an invalid byte, as string([]rune{r})).
std::string rune_text(std::string_view s, size_t i, size_t width, char32_t r) {
  return r == 0xFFFD && width == 1 ? std::string("\xEF\xBF\xBD") : std::string(s.substr(i, width));
}

// Splits on commas that are not escaped by a backslash.
std::vector<std::string> split_terms(std::string_view selector) {
  std::vector<std::string> terms;
  if (selector.empty()) {
    return terms;
  }
  size_t start = 0;
  bool in_slash = false;
  for (size_t i = 0; i < selector.size(); ++i) {
    char ch = selector[i];
    if (in_slash) {
      in_slash = false;
    } else if (ch == '\\') {
      in_slash = true;
    } else if (ch == ',') {
      terms.emplace_back(selector.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.emplace_back(selector.substr(start));
  return terms;
}

// The first "!=", "==" or "=" splits the term (the left side has no escapes).
bool split_term(std::string_view term, std::string_view& rhs) {
  static constexpr std::string_view k_operators[] = {"!=", "==", "="};
  for (size_t i = 0; i < term.size(); ++i) {
    for (std::string_view op : k_operators) {
      if (term.substr(i, op.size()) == op) {
        rhs = term.substr(i + op.size());
        return true;
      }
    }
  }
  return false;
}

std::string unescape_value(std::string_view s) {
  if (s.find_first_of("\\,=") == std::string_view::npos) {
    return "";
  }
  bool in_slash = false;
  size_t width = 1;
  for (size_t i = 0; i < s.size(); i += width) {
    char32_t r = util::decode_rune(s, i, width);
    if (in_slash) {
      if (r != '\\' && r != ',' && r != '=') {
        return "invalid field selector: invalid escape sequence: \\" + rune_text(s, i, width, r);
      }
      in_slash = false;
      continue;
    }
    if (r == '\\') {
      in_slash = true;
    } else if (r == ',' || r == '=') {
      // Go formats the rune with %v: its code point in decimal.
      return fmt::format("invalid field selector: unescaped character in value: {}", static_cast<uint32_t>(r));
    }
  }
  if (in_slash) {
    return "invalid field selector: invalid escape sequence: \\";
  }
  return "";
}

// ---- labels.Parse ----

enum class Token {
  error,
  end_of_string,
  closed_par,
  comma,
  does_not_exist,
  double_equals,
  equals,
  greater_than,
  identifier,
  in,
  less_than,
  not_equals,
  not_in,
  open_par,
};

bool token_of(std::string_view s, Token& out) {
  static constexpr std::pair<std::string_view, Token> k_tokens[] = {
      {")", Token::closed_par}, {",", Token::comma},        {"!", Token::does_not_exist},
      {"==", Token::double_equals}, {"=", Token::equals},   {">", Token::greater_than},
      {"in", Token::in},        {"<", Token::less_than},    {"!=", Token::not_equals},
      {"notin", Token::not_in}, {"(", Token::open_par},
  };
  for (const auto& [text, token] : k_tokens) {
    if (text == s) {
      out = token;
      return true;
    }
  }
  return false;
}

bool is_whitespace(unsigned char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

bool is_special_symbol(unsigned char ch) {
  return ch == '=' || ch == '!' || ch == '(' || ch == ')' || ch == ',' || ch == '>' || ch == '<';
}

struct Item {
  Token token;
  std::string literal;
};

// Byte-wise lexer; a NUL byte reads as the end of the input, as in Go.
class Lexer {
public:
  explicit Lexer(std::string_view s) : m_s(s) {}

  Item lex() {
    unsigned char ch = read();
    while (is_whitespace(ch)) {
      ch = read();
    }
    if (ch == 0) {
      return {Token::end_of_string, ""};
    }
    unread();
    return is_special_symbol(ch) ? scan_special_symbol() : scan_id_or_keyword();
  }

private:
  unsigned char read() { return m_pos < m_s.size() ? static_cast<unsigned char>(m_s[m_pos++]) : 0; }
  void unread() { --m_pos; }

  Item scan_id_or_keyword() {
    std::string buffer;
    for (;;) {
      unsigned char ch = read();
      if (ch == 0) {
        break;
      }
      if (is_special_symbol(ch) || is_whitespace(ch)) {
        unread();
        break;
      }
      buffer += static_cast<char>(ch);
    }
    Token token = Token::identifier;
    if (!token_of(buffer, token)) {
      token = Token::identifier;
    }
    return {token, buffer};
  }

  // The longest run of special symbols that is an operator ("!=", "==", ...).
  Item scan_special_symbol() {
    Item last{Token::error, ""};
    std::string buffer;
    for (;;) {
      unsigned char ch = read();
      if (ch == 0) {
        break;
      }
      if (!is_special_symbol(ch)) {
        unread();
        break;
      }
      buffer += static_cast<char>(ch);
      Token token = Token::error;
      if (token_of(buffer, token)) {
        last = {token, buffer};
      } else if (last.token != Token::error) {
        unread();
        break;
      }
    }
    if (last.token == Token::error) {
      return {Token::error, fmt::format("error expected: keyword found '{}'", buffer)};
    }
    return last;
  }

  std::string_view m_s;
  size_t m_pos = 0;
};

enum class Op { none, in, not_in, equals, double_equals, not_equals, greater_than, less_than, exists, does_not_exist };

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool qualified_name_syntax(std::string_view s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
bool dns1123_subdomain_syntax(std::string_view s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (const std::string& label : util::split(s, '.')) {
    if (label.empty() || !alnum(label.front()) || !alnum(label.back()) ||
        !std::all_of(label.begin(), label.end(), [&](char c) { return alnum(c) || c == '-'; })) {
      return false;
    }
  }
  return true;
}

std::string regex_error(std::string_view message, std::string_view regex, std::vector<std::string_view> examples) {
  std::string out(message);
  out += " (e.g. ";
  for (size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) {
      out += " or ";
    }
    out += fmt::format("'{}', ", examples[i]);
  }
  out += fmt::format("regex used for validation is '{}')", regex);
  return out;
}

constexpr std::string_view k_qualified_name_fmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view k_qualified_name_message =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

// validation.IsQualifiedName, its messages joined with "; ".
std::string qualified_name_problems(std::string_view value) {
  std::vector<std::string> errs;
  std::vector<std::string> parts = util::split(value, '/');
  std::string name;
  if (parts.size() == 1) {
    name = parts[0];
  } else if (parts.size() == 2) {
    const std::string& prefix = parts[0];
    name = parts[1];
    if (prefix.empty()) {
      errs.emplace_back("prefix part must be non-empty");
    } else {
      if (prefix.size() > 253) {
        errs.emplace_back("prefix part must be no more than 253 characters");
      }
      if (!dns1123_subdomain_syntax(prefix)) {
        errs.push_back("prefix part " + regex_error("a lowercase RFC 1123 subdomain must consist of lower case "
                                                    "alphanumeric characters, '-' or '.', and must start and end with "
                                                    "an alphanumeric character",
                                                    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                                                    {"example.com"}));
      }
    }
  } else {
    return "a qualified name " +
           regex_error(k_qualified_name_message, k_qualified_name_fmt, {"MyName", "my.name", "123-abc"}) +
           " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
  }
  if (name.empty()) {
    errs.emplace_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.emplace_back("name part must be no more than 63 characters");
  }
  if (!qualified_name_syntax(name)) {
    errs.push_back("name part " +
                   regex_error(k_qualified_name_message, k_qualified_name_fmt, {"MyName", "my.name", "123-abc"}));
  }
  std::string out;
  for (const std::string& e : errs) {
    out += (out.empty() ? "" : "; ") + e;
  }
  return out;
}

// validation.IsValidLabelValue, its messages joined with "; ".
std::string label_value_problems(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63) {
    errs.emplace_back("must be no more than 63 characters");
  }
  if (!value.empty() && !qualified_name_syntax(value)) {
    errs.push_back(regex_error("a valid label must be an empty string or consist of alphanumeric characters, '-', "
                               "'_' or '.', and must start and end with an alphanumeric character",
                               "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", {"MyValue", "my_value", "12345"}));
  }
  std::string out;
  for (const std::string& e : errs) {
    out += (out.empty() ? "" : "; ") + e;
  }
  return out;
}

// A field.Error of type Invalid with a string value.
std::string invalid(std::string_view path, std::string_view value, std::string_view detail) {
  return fmt::format("{}: Invalid value: {}: {}", path, util::go_quote(value), detail);
}

// strconv.ParseInt(s, 10, 64) succeeds.
bool parses_as_int64(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return false;
  }
  uint64_t limit = negative ? 9223372036854775808ULL : 9223372036854775807ULL;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (limit - digit) / 10) {
      return false;
    }
    n = n * 10 + digit;
  }
  return true;
}

class LabelParser {
public:
  explicit LabelParser(std::string_view selector) {
    Lexer lexer(selector);
    for (;;) {
      Item item = lexer.lex();
      m_items.push_back(item);
      if (item.token == Token::end_of_string) {
        break;
      }
    }
  }

  std::string parse() {
    for (;;) {
      Item next = lookahead(true);
      if (next.token == Token::end_of_string) {
        return "";
      }
      if (next.token != Token::identifier && next.token != Token::does_not_exist) {
        return fmt::format("found '{}', expected: !, identifier, or 'end of string'", next.literal);
      }
      if (std::string err = parse_requirement(); !err.empty()) {
        return "unable to parse requirement: " + err;
      }
      Item after = consume(true);
      if (after.token == Token::end_of_string) {
        return "";
      }
      if (after.token != Token::comma) {
        return fmt::format("found '{}', expected: ',' or 'end of string'", after.literal);
      }
      Item following = lookahead(true);
      if (following.token != Token::identifier && following.token != Token::does_not_exist) {
        return fmt::format("found '{}', expected: identifier after ','", following.literal);
      }
    }
  }

private:
  // In the values context the keywords "in" and "notin" are identifiers.
  Item lookahead(bool values) const {
    Item item = m_position < m_items.size() ? m_items[m_position] : Item{Token::end_of_string, ""};
    if (values && (item.token == Token::in || item.token == Token::not_in)) {
      item.token = Token::identifier;
    }
    return item;
  }
  Item consume(bool values) {
    Item item = lookahead(values);
    ++m_position;
    return item;
  }

  std::string parse_requirement() {
    std::string key;
    Op op = Op::none;
    if (std::string err = parse_key_and_infer_operator(key, op); !err.empty()) {
      return err;
    }
    if (op == Op::exists || op == Op::does_not_exist) {
      return new_requirement(key, op, {});
    }
    if (std::string err = parse_operator(op); !err.empty()) {
      return err;
    }
    std::set<std::string> values;
    std::string err = op == Op::in || op == Op::not_in ? parse_values(values) : parse_exact_value(values);
    if (!err.empty()) {
      return err;
    }
    return new_requirement(key, op, std::vector<std::string>(values.begin(), values.end()));
  }

  std::string parse_key_and_infer_operator(std::string& key, Op& op) {
    Item item = consume(true);
    if (item.token == Token::does_not_exist) {
      op = Op::does_not_exist;
      item = consume(true);
    }
    if (item.token != Token::identifier) {
      return fmt::format("found '{}', expected: identifier", item.literal);
    }
    // The parser's field path is nil, which field.Error prints as "<nil>".
    if (std::string problems = qualified_name_problems(item.literal); !problems.empty()) {
      return invalid("<nil>", item.literal, problems);
    }
    Token next = lookahead(true).token;
    if ((next == Token::end_of_string || next == Token::comma) && op != Op::does_not_exist) {
      op = Op::exists;
    }
    key = item.literal;
    return "";
  }

  std::string parse_operator(Op& op) {
    Item item = consume(false);
    switch (item.token) {
    case Token::in:
      op = Op::in;
      break;
    case Token::equals:
      op = Op::equals;
      break;
    case Token::double_equals:
      op = Op::double_equals;
      break;
    case Token::greater_than:
      op = Op::greater_than;
      break;
    case Token::less_than:
      op = Op::less_than;
      break;
    case Token::not_in:
      op = Op::not_in;
      break;
    case Token::not_equals:
      op = Op::not_equals;
      break;
    default:
      return fmt::format("found '{}', expected: in, notin, =, ==, !=, gt, lt", item.literal);
    }
    return "";
  }

  std::string parse_values(std::set<std::string>& values) {
    Item item = consume(true);
    if (item.token != Token::open_par) {
      return fmt::format("found '{}' expected: '('", item.literal);
    }
    item = lookahead(true);
    if (item.token == Token::identifier || item.token == Token::comma) {
      if (std::string err = parse_identifiers_list(values); !err.empty()) {
        return err;
      }
      if (consume(true).token != Token::closed_par) {
        return fmt::format("found '{}', expected: ')'", item.literal);
      }
      return "";
    }
    if (item.token == Token::closed_par) {
      consume(true);
      values = {""};
      return "";
    }
    return fmt::format("found '{}', expected: ',', ')' or identifier", item.literal);
  }

  // A (possibly empty) comma-separated list of (possibly empty) values.
  std::string parse_identifiers_list(std::set<std::string>& values) {
    for (;;) {
      Item item = consume(true);
      if (item.token == Token::identifier) {
        values.insert(item.literal);
        Item next = lookahead(true);
        if (next.token == Token::comma) {
          continue;
        }
        if (next.token == Token::closed_par) {
          return "";
        }
        return fmt::format("found '{}', expected: ',' or ')'", next.literal);
      }
      if (item.token != Token::comma) {
        return fmt::format("found '{}', expected: ',', or identifier", item.literal);
      }
      if (values.empty()) {
        values.insert(""); // "(,"
      }
      Token next = lookahead(true).token;
      if (next == Token::closed_par) {
        values.insert(""); // ",)"
        return "";
      }
      if (next == Token::comma) {
        consume(true);
        values.insert(""); // ",,"
      }
    }
  }

  std::string parse_exact_value(std::set<std::string>& values) {
    Token next = lookahead(true).token;
    if (next == Token::end_of_string || next == Token::comma) {
      values.insert("");
      return "";
    }
    Item item = consume(true);
    if (item.token == Token::identifier) {
      values.insert(item.literal);
      return "";
    }
    return fmt::format("found '{}', expected: identifier", item.literal);
  }

  // labels.NewRequirement: every problem, de-duplicated, as an aggregate.
  static std::string new_requirement(const std::string& key, Op op, const std::vector<std::string>& values) {
    std::vector<std::string> errs;
    if (std::string problems = qualified_name_problems(key); !problems.empty()) {
      errs.push_back(invalid("key", key, problems));
    }
    if (op == Op::greater_than || op == Op::less_than) {
      for (size_t i = 0; i < values.size(); ++i) {
        if (!parses_as_int64(values[i])) {
          errs.push_back(invalid(fmt::format("values[{}]", i), values[i],
                                 "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      }
    }
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::string problems = label_value_problems(values[i]); !problems.empty()) {
        errs.push_back(invalid(fmt::format("values[{}][{}]", i, key), values[i], problems));
      }
    }
    std::vector<std::string> unique;
    for (const std::string& e : errs) {
      if (std::find(unique.begin(), unique.end(), e) == unique.end()) {
        unique.push_back(e);
      }
    }
    if (unique.size() <= 1) {
      return unique.empty() ? "" : unique[0];
    }
    std::string joined;
    for (const std::string& e : unique) {
      joined += (joined.empty() ? "" : ", ") + e;
    }
    return "[" + joined + "]";
  }

  std::vector<Item> m_items;
  size_t m_position = 0;
};

// The selector roles each role accepts (v2.45), in Prometheus's order.
std::vector<std::string_view> allowed_selector_roles(std::string_view role) {
  if (role == "endpoints") {
    return {"pod", "service", "endpoints"};
  }
  if (role == "endpointslice") {
    return {"pod", "service", "endpointslice"};
  }
  return {role};
}

// A Checker for one element of a list field, or the block's own when the
// element cannot be found (e.g. the list came from a merge key).
yaml::Checker element_checker(yaml::Checker& c, std::string_view field, size_t i) {
  yaml::Node list = c.field(field);
  if (list && list.is_sequence() && i < list.size() && list.element(i).is_mapping()) {
    return yaml::Checker(c.decoder(), list.element(i));
  }
  return c;
}

} // namespace

bool known_role(std::string_view role) {
  return std::find(std::begin(k_roles), std::end(k_roles), role) != std::end(k_roles);
}

std::string parse_text(std::string_view text, Role& out) {
  out.value = std::string(text);
  out.rejected = !known_role(text);
  if (out.rejected) {
    return fmt::format("unknown Kubernetes SD role {}", util::go_quote(text));
  }
  return "";
}

std::string check_field_selector(std::string_view selector) {
  std::vector<std::string> parts = split_terms(selector);
  std::sort(parts.begin(), parts.end());
  for (const std::string& part : parts) {
    if (part.empty()) {
      continue;
    }
    std::string_view rhs;
    if (!split_term(part, rhs)) {
      return fmt::format("invalid selector: '{}'; can't understand '{}'", selector, part);
    }
    if (std::string err = unescape_value(rhs); !err.empty()) {
      return err;
    }
  }
  return "";
}

std::string check_label_selector(std::string_view selector) { return LabelParser(selector).parse(); }

void Config::validate(yaml::Checker& c) {
  // An unknown role (here or in a selector) was reported while decoding, and
  // Prometheus stops there.
  if (role.rejected) {
    return;
  }
  for (const SelectorConfig& s : selectors) {
    if (s.role.rejected) {
      return;
    }
  }
  if (role.empty()) {
    c.error("role missing (one of: pod, service, endpoints, endpointslice, node, ingress)");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  // Prometheus compares the client block with its defaults by deep equality,
  // where a proxy_url or proxy_connect_header written as "" or {} still
  // differs from the absent (nil) value.
  auto written = [&](std::string_view key) {
    yaml::Node n = c.field(key);
    return n && !n.is_null();
  };
  bool custom_client =
      !(http_client == net::HttpClientConfig{}) || written("proxy_url") || written("proxy_connect_header");
  if (api_server && !kubeconfig_file.empty()) {
    c.error_at("kubeconfig_file", "cannot use 'kubeconfig_file' and 'api_server' simultaneously");
    return;
  }
  if (!kubeconfig_file.empty() && custom_client) {
    c.error_at("kubeconfig_file", "cannot use a custom HTTP client configuration together with 'kubeconfig_file'");
    return;
  }
  if (!api_server && custom_client) {
    c.error("to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    return;
  }
  if (api_server && namespaces.own_namespace) {
    c.error_at("namespaces", "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously");
    return;
  }
  if (!kubeconfig_file.empty() && namespaces.own_namespace) {
    c.error_at("namespaces", "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously");
    return;
  }
  std::vector<std::string_view> allowed = allowed_selector_roles(role.value);
  std::set<std::string> seen;
  for (size_t i = 0; i < selectors.size(); ++i) {
    const SelectorConfig& s = selectors[i];
    yaml::Checker sc = element_checker(c, "selectors", i);
    if (!seen.insert(s.role.value).second) {
      sc.error_at("role", "duplicated selector role: " + s.role.value);
      return;
    }
    if (std::find(allowed.begin(), allowed.end(), s.role.value) == allowed.end()) {
      if (role.value == "pod" && s.role.value == "node") {
        sc.warning_at("role", "node selectors for the pod role are accepted from Prometheus 3.11; v2.45 rejects them");
      }
      std::string list;
      for (std::string_view a : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      sc.error_at("role", fmt::format("{} role supports only {} selectors", role.value, list));
      return;
    }
    if (std::string err = check_field_selector(s.field); !err.empty()) {
      sc.error_at("field", err);
      return;
    }
    if (std::string err = check_label_selector(s.label); !err.empty()) {
      sc.error_at("label", err);
      return;
    }
  }
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_discovery(*this);
}

} // namespace sdscope::discovery::kubernetes
