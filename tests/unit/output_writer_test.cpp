// The JSON document writer: layout and string escaping (the fast path that
// checks eight bytes at a time must agree with the byte-by-byte rules at
// every position and length).

#include <sstream>

#include <doctest/doctest.h>

#include "output/writer.h"

using namespace sdscope;

namespace {

std::string json_of_string(std::string_view s) {
  std::ostringstream out;
  std::unique_ptr<output::DocumentWriter> w = output::json_writer(out);
  w->string(s);
  w->finish();
  std::string text = out.str();
  return text.substr(0, text.size() - 1);
}

} // namespace

TEST_CASE("json writer: nested layout") {
  std::ostringstream out;
  std::unique_ptr<output::DocumentWriter> w = output::json_writer(out);
  w->begin_object();
  w->key("a");
  w->begin_array();
  w->number(-12);
  w->boolean(true);
  w->begin_object();
  w->end_object();
  w->end_array();
  w->key("b");
  w->begin_array();
  w->end_array();
  w->end_object();
  w->finish();
  CHECK(out.str() == "{\n  \"a\": [\n    -12,\n    true,\n    {}\n  ],\n  \"b\": []\n}\n");
}

TEST_CASE("json writer: escapes at every position of strings of every length") {
  for (size_t length = 1; length <= 20; ++length) {
    for (size_t at = 0; at < length; ++at) {
      CAPTURE(length);
      CAPTURE(at);
      std::string s(length, 'x');
      s[at] = '"';
      CHECK(json_of_string(s) == "\"" + s.substr(0, at) + "\\\"" + s.substr(at + 1) + "\"");
      s[at] = '\\';
      CHECK(json_of_string(s) == "\"" + s.substr(0, at) + "\\\\" + s.substr(at + 1) + "\"");
      s[at] = '\x01';
      CHECK(json_of_string(s) == "\"" + s.substr(0, at) + "\\u0001" + s.substr(at + 1) + "\"");
      s[at] = '\x1f';
      CHECK(json_of_string(s) == "\"" + s.substr(0, at) + "\\u001f" + s.substr(at + 1) + "\"");
      s[at] = '\xff'; // invalid UTF-8
      CHECK(json_of_string(s) == "\"" + s.substr(0, at) + "\\ufffd" + s.substr(at + 1) + "\"");
      s[at] = ' '; // the lowest byte needing no escape
      CHECK(json_of_string(s) == "\"" + s + "\"");
      s[at] = '\x7f';
      CHECK(json_of_string(s) == "\"" + s + "\"");
    }
  }
  CHECK(json_of_string("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(json_of_string("naïve café ünïcödé") == "\"naïve café ünïcödé\"");
  CHECK(json_of_string("naïve\xc3") == "\"naïve\\ufffd\"");
  CHECK(json_of_string("") == "\"\"");
}
