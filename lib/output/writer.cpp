#include "output/writer.h"

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
  JsonWriter(size_t depth, bool after_sibling) : m_levels(depth, false) {
    if (depth > 0) {
      m_levels.back() = after_sibling;
    }
  }

  void begin_object() override { open('{'); }
  void end_object() override { close('}'); }
  void begin_array() override { open('['); }
  void end_array() override { close(']'); }
  void key(std::string_view k) override {
    element();
    quoted(k);
    m_buffer += ": ";
    m_after_key = true;
  }
  void string(std::string_view s) override {
    element();
    quoted(s);
  }
  void number(int64_t n) override {
    element();
    fmt::format_to(std::back_inserter(m_buffer), "{}", n);
  }
  void boolean(bool b) override {
    element();
    m_buffer += b ? "true" : "false";
  }
  void finish() override {
    m_buffer += '\n';
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
    m_levels.back() = true;
  }
  ~JsonWriter() override {
    if (m_result != nullptr) {
      m_result->swap(m_buffer);
    }
  }

private:
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
    if (m_levels.back()) {
      m_buffer += ',';
    }
    m_levels.back() = true;
    m_buffer += '\n';
    m_buffer.append(2 * m_levels.size(), ' ');
  }
  void open(char bracket) {
    element();
    m_buffer += bracket;
    m_levels.push_back(false);
  }
  void close(char bracket) {
    bool had_children = m_levels.back();
    m_levels.pop_back();
    if (had_children) {
      m_buffer += '\n';
      m_buffer.append(2 * m_levels.size(), ' ');
    }
    m_buffer += bracket;
    if (m_out != nullptr && m_buffer.size() > (1 << 16)) {
      flush();
    }
  }
  void quoted(std::string_view s) {
    m_buffer += '"';
    // Nothing to escape is the common case: one pass (vectorised: no early
    // exit) to know, then one copy.
    bool special = false;
    unsigned char high = 0;
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      special |= c < 0x20 || c == '"' || c == '\\';
      high |= c;
    }
    bool valid = high < 0x80 || util::valid_utf8(s);
    if (!special && valid) {
      m_buffer.append(s);
    } else {
      escaped(s, valid);
    }
    m_buffer += '"';
  }
  void escaped(std::string_view s, bool valid) {
    for (size_t i = 0; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      switch (c) {
      case '"': m_buffer += "\\\""; break;
      case '\\': m_buffer += "\\\\"; break;
      case '\n': m_buffer += "\\n"; break;
      case '\r': m_buffer += "\\r"; break;
      case '\t': m_buffer += "\\t"; break;
      case '\b': m_buffer += "\\b"; break;
      case '\f': m_buffer += "\\f"; break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(m_buffer), "\\u{:04x}", c);
        } else if (c < 0x80 || valid) {
          m_buffer += static_cast<char>(c);
        } else if (size_t n = utf8_length(c); util::valid_utf8(s.substr(i, n))) {
          m_buffer.append(s.substr(i, n));
          i += n - 1;
        } else {
          m_buffer += "\\ufffd";
        }
      }
    }
  }
  static size_t utf8_length(unsigned char lead) {
    return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  }
  void flush() {
    if (m_out != nullptr) {
      m_out->write(m_buffer.data(), static_cast<std::streamsize>(m_buffer.size()));
      m_buffer.clear();
    }
  }

  std::ostream* m_out = nullptr; // null for an element writer
  std::string* m_result = nullptr; // an element writer's: where its elements go
  // The writer's own (not shared with another thread's: same cache lines).
  std::string m_buffer;
  std::vector<bool> m_levels; // per open container: has it a child yet
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
