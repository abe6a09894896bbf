#pragma once

// A small, strict XML 1.0 reader for the API answers of eureka_sd and
// uyuni_sd (XML-RPC): it reads a whole document into a tree of elements.
// Supported: elements, attributes, character data, the five predefined
// entities, numeric character references, CDATA sections, comments,
// processing instructions and the XML declaration (version 1.0, UTF-8 only).
// Rejected: DTDs (<!DOCTYPE ...>) and so any other entity, invalid UTF-8,
// characters XML forbids, and anything malformed. Errors read like Go's
// encoding/xml: `XML syntax error on line 3: element <a> closed by </b>`.

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace sdscope::util::xml {

struct Attribute {
  std::string name;  // as written, prefix included
  std::string value; // references decoded
};

struct Element {
  std::string name; // as written, e.g. "soap:Body"
  std::vector<Attribute> attributes;
  std::vector<Element> children; // child elements, in document order
  // The element's own character data (not its children's), concatenated,
  // references decoded, CDATA included, line ends normalized to "\n".
  std::string text;
  // The part of text that comes before the first child element.
  std::string leading_text;
  // The raw markup between the start and end tags, as received.
  std::string inner_xml;
  int line = 0; // of the start tag, from 1

  // The name without its namespace prefix, split as Go's encoding/xml does
  // ("a:b" -> "b"; "a:b:c", ":b" and "a:" are kept whole).
  std::string_view local_name() const;
  // The value of the first attribute with this local name, or nullptr.
  const std::string* attribute(std::string_view local) const;
};

// Reads a document: an optional XML declaration, then comments, processing
// instructions and white space around exactly one root element (a UTF-8
// byte order mark at the start is skipped). Nesting deeper than
// k_max_depth is an error.
inline constexpr size_t k_max_depth = 1000;
Result<Element> parse(std::string_view document);

// Escapes text for use in character data or a quoted attribute value, as
// Go's xml.EscapeText does (& < > " ' and tab/newline/carriage return as
// character references).
std::string escape(std::string_view text);

} // namespace sdscope::util::xml
