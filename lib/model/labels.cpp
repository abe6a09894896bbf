#include "model/labels.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::model {

bool is_valid_label_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string parse_text(std::string_view text, LabelName& out) {
  if (!is_valid_label_name(text)) {
    return fmt::format("{} is not a valid label name", util::go_quote(text));
  }
  out.value = std::string(text);
  return "";
}

void decode_value(yaml::Decoder& d, yaml::Node n, LabelSet& out) {
  if (!n.is_mapping()) {
    d.type_error(n, "model.LabelSet");
    return;
  }
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    yaml::Node key = n.key(i);
    yaml::Node value = n.value(i);
    std::string name(key.text());
    if (!is_valid_label_name(name)) {
      d.error(key, fmt::format("{} is not a valid label name", util::go_quote(name)));
      continue;
    }
    if (out.count(name) != 0) {
      d.type_error_text(key, fmt::format("key {} already set in map", util::go_quote(name)));
      continue;
    }
    if (!value.is_scalar()) {
      d.type_error(value, "model.LabelValue");
      continue;
    }
    out[name] = value.is_null() ? "" : yaml::scalar_string(value);
  }
}

Labels::Labels(std::initializer_list<Pair> pairs) {
  for (const Pair& p : pairs) {
    set(p.first, p.second);
  }
}

std::string_view Labels::get(std::string_view name) const {
  auto it = std::lower_bound(m_pairs.begin(), m_pairs.end(), name,
                             [](const Pair& p, std::string_view n) { return p.first < n; });
  return it != m_pairs.end() && it->first == name ? std::string_view(it->second) : std::string_view();
}

bool Labels::has(std::string_view name) const { return !get(name).empty(); }

void Labels::set(std::string_view name, std::string_view value) {
  auto it = std::lower_bound(m_pairs.begin(), m_pairs.end(), name,
                             [](const Pair& p, std::string_view n) { return p.first < n; });
  bool found = it != m_pairs.end() && it->first == name;
  if (value.empty()) {
    if (found) {
      m_pairs.erase(it);
    }
  } else if (found) {
    it->second = std::string(value);
  } else {
    m_pairs.insert(it, Pair(std::string(name), std::string(value)));
  }
}

void Labels::erase(std::string_view name) { set(name, ""); }

} // namespace sdscope::model
