#pragma once

// Writing a JSON or YAML document as it is produced, without building it in
// memory first (target lists can be hundreds of megabytes as a tree).

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Emitter;
}

namespace sdscope::output {

class DocumentWriter {
public:
  virtual ~DocumentWriter() = default;
  virtual void begin_object() = 0;
  virtual void end_object() = 0;
  virtual void begin_array() = 0;
  virtual void end_array() = 0;
  virtual void key(std::string_view k) = 0;
  virtual void string(std::string_view s) = 0;
  virtual void number(int64_t n) = 0;
  virtual void boolean(bool b) = 0;
  // Writes what is left and a final newline.
  virtual void finish() = 0;

  // For writing many elements of the current container on several threads:
  // a writer of such elements into out (nullptr when this format cannot),
  // and how to append, in order, what such writers wrote. after_sibling: an
  // element comes before the first one written.
  virtual std::unique_ptr<DocumentWriter> element_writer(std::string& out, bool after_sibling) {
    (void)out;
    (void)after_sibling;
    return nullptr;
  }
  virtual void append_elements(std::string_view elements) { (void)elements; }
};

// JSON indented by two spaces; invalid UTF-8 is written as U+FFFD.
std::unique_ptr<DocumentWriter> json_writer(std::ostream& out);
// YAML in block style, strings double-quoted.
std::unique_ptr<DocumentWriter> yaml_writer(std::ostream& out);

} // namespace sdscope::output
