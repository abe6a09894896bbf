#include "output/writer.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <yaml-cpp/emitter.h>

#include "util/strings.h"

namespace sdscope::output {

namespace {

class JsonWriter : public DocumentWriter {
public:
  explicit JsonWriter(std::ostream& out) : m_out(&out) {}
  // An element writer: writes into m_buffer only, as if `depth` containers
  // were open.
  JsonWriter(size_t depth, bool after_sibling) : m_levels(depth, 0) {
    if (depth > 0) {
      m_levels.back() = after_sibling;
    }
    m_separator.append(2 * depth, ' ');
  }

  void begin_object() override { open('{'); }
  void end_object() override { close('}'); }
  void begin_array() override { open('['); }
  void end_array() override { close(']'); }
  void key(std::string_view k) override {
    element();
    if (plain(k)) { // the common case, in one copy: "k":<space>
      char* p = room(k.size() + 4);
      *p = '"';
      std::memcpy(p + 1, k.data(), k.size());
      std::memcpy(p + 1 + k.size(), "\": ", 3);
      m_size += k.size() + 4;
    } else {
      quoted(k);
      put(": ");
    }
    m_after_key = true;
  }
  void string(std::string_view s) override {
    element();
    quoted(s);
  }
  void number(int64_t n) override {
    element();
    put(fmt::format_int(n).c_str());
  }
  void boolean(bool b) override {
    element();
    put(b ? "true" : "false");
  }
  void finish() override {
    put('\n');
    flush();
  }
  std::unique_ptr<DocumentWriter> element_writer(std::string& out, bool after_sibling) override {
    auto writer = std::make_unique<JsonWriter>(m_levels.size(), after_sibling || m_levels.back());
    writer->m_buffer.swap(out); // reuses out's memory; given back by the destructor
    writer->m_result = &out;
    return writer;
  }
  void append_elements(std::string_view elements) override {
    flush();
    m_out->write(elements.data(), static_cast<std::streamsize>(elements.size()));
    m_levels.back() = 1;
  }
  ~JsonWriter() override {
    if (m_result != nullptr) {
      m_buffer.resize(m_size);
      m_result->swap(m_buffer);
    }
  }

private:
  // Room for n more bytes after the m_size written; the caller adds to
  // m_size what it wrote (writing through a pointer: appending to the string
  // a piece at a time was a quarter of the run's instructions).
  char* room(size_t n) {
    if (m_size + n > m_buffer.size()) {
      m_buffer.resize(std::max(2 * m_buffer.size(), m_size + n + 4096));
    }
    return m_buffer.data() + m_size;
  }
  void put(std::string_view s) {
    std::memcpy(room(s.size()), s.data(), s.size());
    m_size += s.size();
  }
  void put(char c) {
    *room(1) = c;
    ++m_size;
  }

  // Before a value or key: a comma after the previous sibling and a new,
  // indented line (not for the value right after its key).
  void element() {
    if (m_after_key) {
      m_after_key = false;
      return;
    }
    if (m_levels.empty()) {
      return;
    }
    std::string_view separator = m_separator;
    put(m_levels.back() != 0 ? separator : separator.substr(1));
    m_levels.back() = 1;
  }
  void open(char bracket) {
    element();
    put(bracket);
    m_levels.push_back(0);
    m_separator += "  ";
  }
  void close(char bracket) {
    bool had_children = m_levels.back() != 0;
    m_levels.pop_back();
    m_separator.resize(m_separator.size() - 2);
    if (had_children) {
      put(std::string_view(m_separator).substr(1));
    }
    put(bracket);
    if (m_out != nullptr && m_size > (1 << 16)) {
      flush();
    }
  }
  // Nothing to escape and valid UTF-8. Eight bytes at a time (the classic
  // "has a byte less than n / equal to c" word tricks): this test ran over
  // every byte of the output.
  static bool plain(std::string_view s) {
    constexpr uint64_t k_ones = 0x0101010101010101, k_highs = 0x8080808080808080;
    auto has_less = [](uint64_t w, uint64_t n) { return (w - k_ones * n) & ~w & k_highs; };
    auto has_byte = [&](uint64_t w, char c) { return has_less(w ^ (k_ones * static_cast<unsigned char>(c)), 1); };
    uint64_t special = 0, high = 0;
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      high |= w & k_highs;
      special |= has_less(w, 0x20) | has_byte(w, '"') | has_byte(w, '\\');
    }
    for (; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      high |= c & 0x80;
      special |= static_cast<uint64_t>(c < 0x20 || c == '"' || c == '\\');
    }
    return special == 0 && (high == 0 || util::valid_utf8(s));
  }
  void quoted(std::string_view s) {
    if (plain(s)) {
      char* p = room(s.size() + 2);
      *p = '"';
      std::memcpy(p + 1, s.data(), s.size());
      p[1 + s.size()] = '"';
      m_size += s.size() + 2;
      return;
    }
    put('"');
    escaped(s, util::valid_utf8(s));
    put('"');
  }
  void escaped(std::string_view s, bool valid) {
    for (size_t i = 0; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      switch (c) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\n': put("\\n"); break;
      case '\r': put("\\r"); break;
      case '\t': put("\\t"); break;
      case '\b': put("\\b"); break;
      case '\f': put("\\f"); break;
      default:
        if (c < 0x20) {
          put(fmt::format("\\u{:04x}", c));
        } else if (c < 0x80 || valid) {
          put(static_cast<char>(c));
        } else if (size_t n = utf8_length(c); util::valid_utf8(s.substr(i, n))) {
          put(s.substr(i, n));
          i += n - 1;
        } else {
          put("\\ufffd");
        }
      }
    }
  }
  static size_t utf8_length(unsigned char lead) {
    return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  }
  void flush() {
    if (m_out != nullptr) {
      m_out->write(m_buffer.data(), static_cast<std::streamsize>(m_size));
      m_size = 0;
    }
  }

  std::ostream* m_out = nullptr; // null for an element writer
  std::string* m_result = nullptr; // an element writer's: where its elements go
  // The writer's own (not shared with another thread's: same cache lines);
  // its first m_size bytes are written.
  std::string m_buffer;
  size_t m_size = 0;
  std::vector<char> m_levels; // per open container: has it a child yet
  std::string m_separator = ",\n"; // before a sibling: comma, newline, indent
  bool m_after_key = false;
};

class YamlWriter : public DocumentWriter {
public:
  explicit YamlWriter(std::ostream& out) : m_out(out), m_emitter(out) {}

  void begin_object() override { m_emitter << YAML::BeginMap; }
  void end_object() override { m_emitter << YAML::EndMap; }
  void begin_array() override { m_emitter << YAML::BeginSeq; }
  void end_array() override { m_emitter << YAML::EndSeq; }
  void key(std::string_view k) override { m_emitter << YAML::Key << std::string(k) << YAML::Value; }
  void string(std::string_view s) override { m_emitter << YAML::DoubleQuoted << std::string(s); }
  void number(int64_t n) override { m_emitter << n; }
  void boolean(bool b) override { m_emitter << b; }
  void finish() override { m_out << '\n'; }

private:
  std::ostream& m_out;
  YAML::Emitter m_emitter;
};

} // namespace

std::unique_ptr<DocumentWriter> json_writer(std::ostream& out) { return std::make_unique<JsonWriter>(out); }
std::unique_ptr<DocumentWriter> yaml_writer(std::ostream& out) { return std::make_unique<YamlWriter>(out); }

} // namespace sdscope::output
