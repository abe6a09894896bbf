#pragma once

// Visitors over the fields() lists of config structs (see decode.h): the
// effective-config printer, relative path resolution and the collection of
// the files a config names.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/emitter.h>

#include "yaml/decode.h"

namespace sdscope::yaml {

template <class T>
concept FormattedText = requires(const T& t) {
  { format_text(t) } -> std::convertible_to<std::string>;
};

// Visits the nested values of value with visitor v: struct fields, list and
// map elements, optional contents. Types with their own accept(v) (the
// polymorphic SD configs) are dispatched to it.
template <class V, class T> void walk(V& v, T& value) {
  if constexpr (requires { value.accept(v); }) {
    value.accept(v);
  } else if constexpr (Struct<T>) {
    value.fields(v);
  } else if constexpr (is_optional<T>::value) {
    if (value) {
      walk(v, *value);
    }
  } else if constexpr (is_vector<T>::value) {
    for (auto& element : value) {
      walk(v, element);
    }
  } else if constexpr (is_map<T>::value) {
    for (auto& [key, element] : value) {
      walk(v, element);
    }
  }
}

// Joins relative path fields with the config file's directory (Go's
// config.JoinDir): empty and absolute paths stay as they are.
std::string join_dir(const std::string& dir, const std::string& path);

class PathJoiner {
public:
  explicit PathJoiner(std::string dir) : m_dir(std::move(dir)) {}
  template <class T> void operator()(std::string_view, T& field) { walk(*this, field); }
  template <class T> void since(std::string_view, std::string_view, T& field) { walk(*this, field); }
  template <class T> void inline_(T& embedded) { embedded.fields(*this); }
  void path(std::string_view, std::string& field) { field = join_dir(m_dir, field); }
  void path(std::string_view, std::vector<std::string>& field) {
    for (std::string& p : field) {
      p = join_dir(m_dir, p);
    }
  }

private:
  std::string m_dir;
};

// Collects every file a config names (password_file, ca_file, ...), which
// must exist for the config to work; globs (file_sd files) are not files.
class FileCollector {
public:
  struct File {
    std::string field;
    std::string path;
  };
  template <class T> void operator()(std::string_view, T& field) { walk(*this, field); }
  template <class T> void since(std::string_view, std::string_view, T& field) { walk(*this, field); }
  template <class T> void inline_(T& embedded) { embedded.fields(*this); }
  void path(std::string_view name, std::string& field) {
    if (!field.empty()) {
      files.push_back({std::string(name), field});
    }
  }
  void path(std::string_view, std::vector<std::string>&) {}

  std::vector<File> files;
};

// Collects the values of every Secret field, so tests and --print can prove
// that none of them leaks.
class SecretCollector {
public:
  template <class T> void operator()(std::string_view, T& field) { collect(field); }
  template <class T> void since(std::string_view, std::string_view, T& field) { collect(field); }
  template <class T> void path(std::string_view, T&) {}
  template <class T> void inline_(T& embedded) { embedded.fields(*this); }

  std::vector<std::string> secrets;

private:
  template <class T> void collect(T& field) {
    if constexpr (std::is_same_v<T, Secret>) {
      if (!field.empty()) {
        secrets.push_back(field.value);
      }
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::vector<Secret>>>) {
      for (auto& [k, list] : field) {
        for (auto& s : list) {
          collect(s);
        }
      }
    } else {
      walk(*this, field);
    }
  }
};

// Emits the effective config as YAML, secrets as <secret>. Empty strings,
// zero numbers and durations, empty lists and absent blocks are left out.
class Printer {
public:
  explicit Printer(YAML::Emitter& out) : m_out(out) {}

  template <class T> void operator()(std::string_view name, const T& field) { member(name, field); }
  template <class T> void path(std::string_view name, const T& field) { member(name, field); }
  template <class T> void since(std::string_view, std::string_view name, const T& field) { member(name, field); }
  template <class T> void inline_(T& embedded) { embedded.fields(*this); }

  template <class T> void value(const T& v);
  YAML::Emitter& emitter() { return m_out; }

  template <class T> static bool is_empty(const T& v);

private:
  template <class T> void member(std::string_view name, const T& field) {
    if (is_empty(field)) {
      return;
    }
    m_out << YAML::Key << std::string(name) << YAML::Value;
    value(field);
  }
  YAML::Emitter& m_out;
};

template <class T> bool Printer::is_empty(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return false;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return v == 0;
  } else if constexpr (is_optional<T>::value) {
    return !v.has_value();
  } else if constexpr (requires { v.empty(); }) {
    return v.empty();
  } else if constexpr (requires { v.ms; }) {
    return v.ms == 0;
  } else if constexpr (requires { v.bytes; }) {
    return v.bytes == 0;
  } else {
    return false;
  }
}

template <class T> void Printer::value(const T& v) {
  if constexpr (requires { v.accept(*this); }) {
    v.accept(*this);
  } else if constexpr (std::is_same_v<T, Secret>) {
    m_out << "<secret>";
  } else if constexpr (Struct<T>) {
    m_out << YAML::BeginMap;
    const_cast<T&>(v).fields(*this);
    m_out << YAML::EndMap;
  } else if constexpr (is_optional<T>::value) {
    value(*v);
  } else if constexpr (is_vector<T>::value) {
    m_out << YAML::BeginSeq;
    for (const auto& element : v) {
      value(element);
    }
    m_out << YAML::EndSeq;
  } else if constexpr (requires { v.begin()->second; }) {
    m_out << YAML::BeginMap;
    for (const auto& [key, element] : v) {
      m_out << YAML::Key << key << YAML::Value;
      value(element);
    }
    m_out << YAML::EndMap;
  } else if constexpr (FormattedText<T>) {
    m_out << format_text(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    m_out << (v ? "true" : "false");
  } else if constexpr (std::is_arithmetic_v<T>) {
    m_out << v;
  } else {
    m_out << v;
  }
}

} // namespace sdscope::yaml
