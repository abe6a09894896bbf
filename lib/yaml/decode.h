#pragma once

// Strict decoding of a yaml::Document into typed structs, the way
// gopkg.in/yaml.v2's UnmarshalStrict fills Prometheus's config types.
//
// A struct takes part by declaring its Go type name and its fields once:
//
//   struct BasicAuth {
//     static constexpr std::string_view k_go_type = "config.plain";
//     std::string username;
//     Secret password;
//     std::string password_file;
//     template <class V> void fields(V& v) {
//       v("username", username);
//       v("password", password);
//       v.path("password_file", password_file);
//     }
//     void validate(Checker& c) const;  // optional: the UnmarshalYAML hook
//   };
//
// The same fields() list drives decoding, printing (--print), relative path
// resolution and secret scanning, so a field is declared in one place.
// Defaults are member initializers; a YAML null sets a field to its zero
// value, not its default, as yaml.v2 does.

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "yaml/diagnostics.h"
#include "yaml/document.h"

namespace sdscope::yaml {

// A secret string: decoded like a string, printed as <secret>.
struct Secret {
  std::string value;
  bool empty() const { return value.empty(); }
  bool operator==(const Secret&) const = default;
};

class Decoder;

template <class T>
concept Struct = requires { T::k_go_type; };

// Go's uint64 (as opposed to uint, which uint64_t fields stand for).
using GoUint64 = unsigned long long;

template <class T>
concept TextValue = requires(std::string_view s, T& t) {
  { parse_text(s, t) } -> std::convertible_to<std::string>;
};

template <class T>
concept CustomValue = requires(Decoder& d, Node n, T& t) { decode_value(d, n, t); };

template <class T> struct is_vector : std::false_type {};
template <class T> struct is_vector<std::vector<T>> : std::true_type {};
// An optional block kept on the heap: for big, rarely set blocks (Go
// pointer fields such as oauth2), so that every job does not carry their
// size. Copies deeply and compares by value.
template <class T> class Box {
public:
  using value_type = T;
  Box() = default;
  Box(const Box& o) : m_value(o.m_value ? std::make_unique<T>(*o.m_value) : nullptr) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& o) {
    m_value = o.m_value ? std::make_unique<T>(*o.m_value) : nullptr;
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  Box& operator=(T value) {
    m_value = std::make_unique<T>(std::move(value));
    return *this;
  }

  bool has_value() const { return m_value != nullptr; }
  explicit operator bool() const { return has_value(); }
  T& emplace() {
    m_value = std::make_unique<T>();
    return *m_value;
  }
  T& operator*() const { return *m_value; }
  T* operator->() const { return m_value.get(); }
  bool operator==(const Box& o) const { return has_value() ? o.has_value() && *m_value == *o.m_value : !o.has_value(); }

private:
  std::unique_ptr<T> m_value;
};

// std::optional and Box: null means absent.
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_optional<Box<T>> : std::true_type {};
template <class T> struct is_map : std::false_type {};
template <class V> struct is_map<std::map<std::string, V>> : std::true_type {};

// A Go type name for a C++ type that has no k_go_type of its own (a
// container with a named Go type); specialized where that type is declared.
template <class T> inline constexpr std::string_view k_go_name_of = {};

// The Go type name shown in "cannot unmarshal ... into <type>". A struct
// decoded through a hook shows its "plain" alias (k_go_type) for its own
// problems, but its real name (k_go_name) inside container types. Go's int
// kinds map to distinct C++ types: int, int64 = long, uint = unsigned long,
// uint64 = unsigned long long.
template <class T> std::string go_type_name() {
  if constexpr (!k_go_name_of<T>.empty()) {
    return std::string(k_go_name_of<T>);
  } else if constexpr (requires { T::k_go_name; }) {
    return std::string(T::k_go_name);
  } else if constexpr (Struct<T>) {
    return std::string(T::k_go_type);
  } else if constexpr (std::is_same_v<T, Secret>) {
    return "config.Secret";
  } else if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (std::is_same_v<T, int>) {
    return "int";
  } else if constexpr (std::is_same_v<T, long>) {
    return "int64";
  } else if constexpr (std::is_same_v<T, unsigned long long>) {
    return "uint64";
  } else if constexpr (std::is_unsigned_v<T>) {
    return "uint";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "float64";
  } else if constexpr (is_vector<T>::value) {
    return "[]" + go_type_name<typename T::value_type>();
  } else if constexpr (is_map<T>::value) {
    return "map[string]" + go_type_name<typename T::mapped_type>();
  } else if constexpr (is_optional<T>::value) {
    return "*" + go_type_name<typename T::value_type>();
  } else {
    return "string";
  }
}

class Decoder {
public:
  Decoder(Diagnostics& diagnostics, std::string file) : m_diagnostics(diagnostics), m_file(std::move(file)) {}

  const std::string& file() const { return m_file; }
  Diagnostics& diagnostics() { return m_diagnostics; }

  void error(Node at, std::string message, Stage stage = Stage::hook);
  void warning(Node at, std::string message);
  // "cannot unmarshal !!str `abc` into bool"
  void type_error(Node at, std::string_view go_type);
  // Any other problem yaml.v2 collects instead of aborting.
  void type_error_text(Node at, std::string message);
  size_t type_error_count() const { return m_type_errors; }

  template <class T> void decode(Node n, T& out);

  // Decodes n into a new T at once, for a subtree the parser drops right
  // after (Document::parse's handler); returns the slot a later decode()
  // of the Tag::taken node adopts it from. Its diagnostics are held back
  // until then, so they keep the order Prometheus reports them in.
  template <class T> uint32_t decode_ahead(Node n);
  // The value decode_ahead left in slot, or nullptr if decoding it found an
  // error (only warnings are allowed).
  template <class T> T* decoded_cleanly(uint32_t slot);
  // Frees the value decoded ahead in slot, which the caller has consumed:
  // the list holding it is decoded without it.
  void leave_out(uint32_t slot);

  // Decodes a sequence element by element; a null element is left at its
  // zero value (callers report Prometheus's "empty or null ..." messages).
  template <class T> void decode_list(Node n, std::vector<T>& out);

private:
  template <class T> void decode_struct(Node n, T& out);
  template <class T> void decode_scalar(Node n, T& out);

  template <class T> void adopt(Node n, T& out);

  struct Taken {
    std::shared_ptr<void> value;
    std::vector<Diagnostic> diagnostics;
    size_t type_errors = 0;
    bool left_out = false;
  };
  bool left_out(Node n) const { return n.tag() == Tag::taken && m_taken.at(n.slot()).left_out; }
  void take_diagnostics(Taken& taken);

  Diagnostics& m_diagnostics;
  std::string m_file;
  size_t m_type_errors = 0;
  std::vector<Taken> m_taken;
};

// Passed to a struct's validate(): reports at the struct or at one field.
class Checker {
public:
  Checker(Decoder& decoder, Node node) : m_decoder(decoder), m_node(node) {}
  void error(std::string message, Stage stage = Stage::hook) { m_decoder.error(m_node, std::move(message), stage); }
  void error_at(std::string_view field, std::string message, Stage stage = Stage::hook);
  void warning_at(std::string_view field, std::string message);
  Node node() const { return m_node; }
  Node field(std::string_view name) const;
  Decoder& decoder() { return m_decoder; }

private:
  Decoder& m_decoder;
  Node m_node;
};

// Field visitor that decodes the keys of one mapping in document order.
class FieldReader {
public:
  FieldReader(Decoder& decoder, Node mapping, std::string_view go_type);

  template <class T> void operator()(std::string_view name, T& field) { visit(name, field, {}); }
  template <class T> void path(std::string_view name, T& field) { visit(name, field, {}); }
  // A field that v2.45 does not know yet: accepted with a lint note.
  template <class T> void since(std::string_view version, std::string_view name, T& field) {
    visit(name, field, version);
  }
  template <class T> void inline_(T& embedded) { embedded.fields(*this); }

  // Decodes every known key in document order; reports unknown and repeated keys.
  template <class S> void run(S& object);

private:
  struct Entry {
    Node key;
    Node value;
    int field = -1; // ordinal of the declared field, -1 unknown
    bool duplicate = false; // repeated key, or a merged key written explicitly too
    bool merged = false;
  };
  void add_entries(Node mapping);
  void index_field(std::string_view name);
  void report_unused(const Entry& e);
  template <class T> void visit(std::string_view name, T& field, std::string_view since);

  Decoder& m_decoder;
  std::string_view m_go_type;
  std::vector<Entry> m_entries;
  std::vector<std::string_view> m_names; // declared fields, for "did you mean"
  int m_ordinal = 0;
  int m_target = -1; // -1: indexing pass
  size_t m_target_entry = 0;
  std::vector<Node> m_merged;
};

// ---- implementation of the templates ----

template <class T> void FieldReader::visit(std::string_view name, T& field, std::string_view since) {
  int ordinal = m_ordinal++;
  if (m_target < 0) {
    index_field(name);
    return;
  }
  if (ordinal != m_target) {
    return;
  }
  const Entry& entry = m_entries[m_target_entry];
  if (!since.empty()) {
    m_decoder.warning(entry.key, fmt::format("field {} is new in Prometheus {}; v2.45 rejects it", name, since));
  }
  m_decoder.decode(entry.value, field);
}

template <class S> void FieldReader::run(S& object) {
  object.fields(*this); // indexing pass: which entry is which field
  for (size_t i = 0; i < m_entries.size(); ++i) {
    if (m_entries[i].field < 0 || m_entries[i].duplicate) {
      report_unused(m_entries[i]);
      continue;
    }
    m_target = m_entries[i].field;
    m_target_entry = i;
    m_ordinal = 0;
    object.fields(*this);
  }
}

template <class T> uint32_t Decoder::decode_ahead(Node n) {
  Diagnostics held;
  Decoder decoder(held, m_file);
  auto value = std::make_shared<T>();
  decoder.decode(n, *value);
  for (const std::string& secret : held.secrets()) {
    m_diagnostics.add_secret(secret);
  }
  m_taken.push_back({std::move(value), held.items(), decoder.m_type_errors});
  return static_cast<uint32_t>(m_taken.size() - 1);
}

template <class T> T* Decoder::decoded_cleanly(uint32_t slot) {
  Taken& taken = m_taken.at(slot);
  for (const Diagnostic& d : taken.diagnostics) {
    if (d.severity == Severity::error) {
      return nullptr;
    }
  }
  return taken.type_errors == 0 ? std::static_pointer_cast<T>(taken.value).get() : nullptr;
}

template <class T> void Decoder::adopt(Node n, T& out) {
  Taken& taken = m_taken.at(n.slot());
  out = std::move(*std::static_pointer_cast<T>(taken.value));
  taken.value.reset();
  take_diagnostics(taken);
}

template <class T> void Decoder::decode(Node n, T& out) {
  if (!n) {
    return;
  }
  if (n.tag() == Tag::taken) {
    adopt(n, out);
    return;
  }
  if (n.is_null()) {
    if constexpr (requires { T::zero(); }) {
      out = T::zero();
    } else {
      out = T{};
    }
    return;
  }
  if constexpr (CustomValue<T>) {
    decode_value(*this, n, out);
  } else if constexpr (Struct<T>) {
    decode_struct(n, out);
  } else if constexpr (is_optional<T>::value) {
    out.emplace();
    decode(n, *out);
  } else if constexpr (is_vector<T>::value) {
    decode_list(n, out);
  } else if constexpr (is_map<T>::value) {
    if (!n.is_mapping()) {
      type_error(n, go_type_name<T>());
      return;
    }
    out.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      std::string key(n.key(i).text());
      if (out.count(key) != 0) {
        type_error_text(n.key(i), fmt::format("key \"{}\" already set in map", key));
        continue;
      }
      decode(n.value(i), out[key]);
    }
  } else {
    decode_scalar(n, out);
  }
}

template <class T> void Decoder::decode_list(Node n, std::vector<T>& out) {
  if (!n.is_sequence()) {
    type_error(n, go_type_name<std::vector<T>>());
    return;
  }
  out.clear();
  out.reserve(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    if (left_out(n.element(i))) {
      take_diagnostics(m_taken.at(n.element(i).slot())); // its warnings stay in document order
    } else {
      decode(n.element(i), out.emplace_back());
    }
  }
}

template <class T> void Decoder::decode_struct(Node n, T& out) {
  if (!n.is_mapping()) {
    type_error(n, T::k_go_type);
    return;
  }
  if constexpr (requires { T::decode_defaults(); }) {
    out = T::decode_defaults(); // the hook starts from these, not from the parent's values
  }
  size_t before = m_type_errors;
  FieldReader reader(*this, n, T::k_go_type);
  reader.run(out);
  if constexpr (requires(T& t, Checker& c) { t.validate(c); }) {
    if (m_type_errors == before) {
      Checker checker(*this, n);
      out.validate(checker);
    }
  }
}

// Integer value of an !!int scalar (or a truncated !!float), as yaml.v2
// converts it; false when the node is not a number or does not fit.
bool scalar_integer(Node n, bool& negative, uint64_t& magnitude);
bool scalar_float(Node n, double& value);
// The string a scalar decodes to: its text, base64-decoded for !!binary.
std::string scalar_string(Node n);
// The value of a !!bool scalar as yaml.v2 reads it (y, yes, on, true...).
bool scalar_bool(Node n);

template <class T> void Decoder::decode_scalar(Node n, T& out) {
  if (!n.is_scalar()) {
    type_error(n, go_type_name<T>());
    return;
  }
  if constexpr (TextValue<T>) {
    std::string message = parse_text(n.text(), out);
    if (!message.empty()) {
      error(n, std::move(message));
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    out = scalar_string(n);
  } else if constexpr (std::is_same_v<T, Secret>) {
    out.value = scalar_string(n);
    m_diagnostics.add_secret(out.value);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (n.tag() != Tag::bool_) {
      type_error(n, "bool");
      return;
    }
    out = scalar_bool(n);
  } else if constexpr (std::is_integral_v<T>) {
    bool negative = false;
    uint64_t magnitude = 0;
    constexpr uint64_t k_max = static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (!scalar_integer(n, negative, magnitude) || (negative && std::is_unsigned_v<T>) ||
        magnitude > k_max + (negative ? 1 : 0)) {
      type_error(n, go_type_name<T>());
      return;
    }
    out = negative ? static_cast<T>(0 - magnitude) : static_cast<T>(magnitude);
  } else if constexpr (std::is_floating_point_v<T>) {
    double value = 0;
    if (!scalar_float(n, value)) {
      type_error(n, go_type_name<T>());
      return;
    }
    out = value;
  } else {
    static_assert(sizeof(T) == 0, "no YAML decoding for this type");
  }
}

} // namespace sdscope::yaml
