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

namespace {

// name < n for label names: inline, as names are short and differ early (a
// call to memcmp per probe cost more than the comparison itself).
bool name_before(std::string_view name, std::string_view n) {
  size_t common = std::min(name.size(), n.size());
  for (size_t i = 0; i < common; ++i) {
    if (name[i] != n[i]) {
      return static_cast<unsigned char>(name[i]) < static_cast<unsigned char>(n[i]);
    }
  }
  return name.size() < n.size();
}

} // namespace

Labels::Labels(std::initializer_list<Pair> pairs) {
  for (const Pair& p : pairs) {
    set(p.first, p.second);
  }
}

std::string_view Labels::get(std::string_view name) const {
  auto it = std::lower_bound(m_pairs.begin(), m_pairs.end(), name,
                             [](const Pair& p, std::string_view n) { return name_before(p.first, n); });
  return it != m_pairs.end() && it->first == name ? std::string_view(it->second) : std::string_view();
}

bool Labels::has(std::string_view name) const { return !get(name).empty(); }

void Labels::set(std::string_view name, std::string_view value) {
  auto it = std::lower_bound(m_pairs.begin(), m_pairs.end(), name,
                             [](const Pair& p, std::string_view n) { return name_before(p.first, n); });
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

namespace {

// Length as a little-endian base-128 varint: one byte for short strings.
size_t sized_length(std::string_view s) {
  size_t n = 1;
  for (size_t rest = s.size() >> 7; rest != 0; rest >>= 7) {
    ++n;
  }
  return n + s.size();
}

char* write_sized(char* out, std::string_view s) {
  for (size_t n = s.size();; n >>= 7) {
    *out++ = static_cast<char>((n & 0x7F) | (n >= 0x80 ? 0x80 : 0));
    if (n < 0x80) {
      break;
    }
  }
  return std::copy(s.begin(), s.end(), out);
}

// Names every target has, packed as a zero byte (no length otherwise
// starts with it) and their index here. Their lengths differ: the length
// finds the candidate. An empty name (labelmap can make one) is the last.
constexpr std::string_view k_common_names[] = {"__address__",        "__metrics_path__", "__scheme__",
                                               "__scrape_interval__", "__scrape_timeout__", "instance",
                                               "job",                 ""};

int common_name(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(k_common_names)); ++i) {
    if (k_common_names[i].size() == name.size()) {
      return k_common_names[i] == name ? i : -1;
    }
  }
  return -1;
}

} // namespace

size_t PackedLabels::packed_size(const Labels& labels) {
  size_t size = 0;
  for (const auto& [name, value] : labels) {
    size += (common_name(name) >= 0 ? 2 : sized_length(name)) + sized_length(value);
  }
  return size;
}

char* PackedLabels::pack(const Labels& labels, char* out) {
  for (const auto& [name, value] : labels) {
    if (int code = common_name(name); code >= 0) {
      *out++ = 0;
      *out++ = static_cast<char>(code);
    } else {
      out = write_sized(out, name);
    }
    out = write_sized(out, value);
  }
  return out;
}

std::string_view PackedLabels::next_name(size_t& at) const {
  if (m_data[at] == 0) {
    at += 2;
    return k_common_names[static_cast<unsigned char>(m_data[at - 1])];
  }
  return next(at);
}

std::string_view PackedLabels::next(size_t& at) const {
  size_t n = 0;
  for (int shift = 0;; shift += 7) {
    auto byte = static_cast<unsigned char>(m_data[at++]);
    n |= static_cast<size_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      break;
    }
  }
  std::string_view s(m_data.data() + at, n);
  at += n;
  return s;
}

Labels PackedLabels::unpack() const {
  Labels out;
  for_each([&](std::string_view name, std::string_view value) { out.append_sorted(name, value); });
  return out;
}

std::string_view PackedLabels::get(std::string_view name) const {
  std::string_view found;
  for_each([&](std::string_view n, std::string_view v) {
    if (n == name) {
      found = v;
    }
  });
  return found;
}

} // namespace sdscope::model
