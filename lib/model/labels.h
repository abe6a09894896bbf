#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "yaml/decode.h"

namespace sdscope::model {

// The 2.x label name rule: ^[a-zA-Z_][a-zA-Z0-9_]*$.
bool is_valid_label_name(std::string_view name);

// A label name field (source_labels, ...): validated when decoded.
struct LabelName {
  std::string value;
  bool operator==(const LabelName&) const = default;
};
std::string parse_text(std::string_view text, LabelName& out);
inline std::string format_text(const LabelName& n) { return n.value; }

} // namespace sdscope::model

template <>
inline constexpr std::string_view sdscope::yaml::k_go_name_of<std::vector<sdscope::model::LabelName>> = "model.LabelNames";

namespace sdscope::model {

// A label map from a config (static labels, external_labels, ...): names are
// validated when decoded, as model.LabelSet does.
class LabelSet : public std::map<std::string, std::string> {};
void decode_value(yaml::Decoder& d, yaml::Node n, LabelSet& out);

// A target's labels: kept sorted by name so lookups are binary searches and
// iteration order is the deterministic sorted order. An empty value means
// "absent": set() with "" deletes.
class Labels {
public:
  using Pair = std::pair<std::string, std::string>;

  Labels() = default;
  Labels(std::initializer_list<Pair> pairs);

  // The value of name, or "" when absent.
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const;
  void set(std::string_view name, std::string_view value);
  void erase(std::string_view name);
  // For building a label set in name order: appends without searching
  // (name must sort after every name already there; "" values are skipped).
  void append_sorted(std::string_view name, std::string_view value) {
    if (!value.empty()) {
      m_pairs.emplace_back(name, value);
    }
  }
  void reserve(size_t n) { m_pairs.reserve(n); }
  void clear() { m_pairs.clear(); }

  size_t size() const { return m_pairs.size(); }
  bool empty() const { return m_pairs.empty(); }
  auto begin() const { return m_pairs.begin(); }
  auto end() const { return m_pairs.end(); }
  const std::vector<Pair>& pairs() const { return m_pairs; }

  // Removes every label for which pred(name) is true.
  template <class Pred> void erase_if(Pred pred) {
    std::erase_if(m_pairs, [&](const Pair& p) { return pred(p.first); });
  }

  bool operator==(const Labels&) const = default;
  bool operator<(const Labels& o) const { return m_pairs < o.m_pairs; }

private:
  std::vector<Pair> m_pairs;
};

// A label set packed into bytes someone else owns (each name and value
// preceded by its length; the names every target has as a two-byte code),
// for holding many targets: a few hundred bytes per target in one buffer
// instead of two heap strings per label.
class PackedLabels {
public:
  PackedLabels() = default;
  // The labels packed at packed (as pack() wrote them); the bytes must
  // outlive this.
  explicit PackedLabels(std::string_view packed) : m_data(packed) {}
  // How many bytes pack() writes for labels.
  static size_t packed_size(const Labels& labels);
  // Writes labels at out, which has room for packed_size(labels) bytes;
  // returns the end.
  static char* pack(const Labels& labels, char* out);

  Labels unpack() const;
  std::string_view get(std::string_view name) const;
  bool empty() const { return m_data.empty(); }
  // Calls fn(name, value) for each label, in name order.
  template <class Fn> void for_each(Fn fn) const {
    for (size_t at = 0; at < m_data.size();) {
      std::string_view name = next_name(at);
      std::string_view value = next(at);
      fn(name, value);
    }
  }
  size_t hash() const { return std::hash<std::string_view>()(m_data); }
  bool operator==(const PackedLabels& o) const { return m_data == o.m_data; }

private:
  std::string_view next(size_t& at) const;
  std::string_view next_name(size_t& at) const;
  std::string_view m_data;
};

// A group of targets from one source of one provider (targetgroup.Group).
struct TargetGroup {
  std::vector<Labels> targets; // each normally has __address__
  Labels labels;               // common to every target
  std::string source;          // unique within its provider
  bool operator==(const TargetGroup&) const = default;
};

} // namespace sdscope::model
