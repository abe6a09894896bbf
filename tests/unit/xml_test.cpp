// The strict XML reader shared by eureka_sd and uyuni_sd (util/xml.h).

#include <doctest/doctest.h>

#include "util/xml.h"

using namespace sdscope;
namespace xml = sdscope::util::xml;

namespace {

xml::Element parsed(std::string_view text) {
  auto root = xml::parse(text);
  REQUIRE_MESSAGE(root, (root ? "" : root.error()));
  return *root;
}

std::string error_of(std::string_view text) {
  auto root = xml::parse(text);
  REQUIRE_MESSAGE(!root, text);
  return root.error();
}

} // namespace

TEST_SUITE("util::xml") {
  TEST_CASE("parse: elements, attributes, text, leading text and raw inner markup") {
    xml::Element root = parsed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                               "<!-- c --><a x=\"1\" y='two'>lead<b>in &amp; b</b>tail<c/><ns:d/></a>\n<!-- end -->");
    CHECK(root.name == "a");
    CHECK(root.line == 2);
    REQUIRE(root.attributes.size() == 2);
    CHECK(*root.attribute("x") == "1");
    CHECK(*root.attribute("y") == "two");
    CHECK(root.attribute("z") == nullptr);
    CHECK(root.text == "leadtail");
    CHECK(root.leading_text == "lead");
    CHECK(root.inner_xml == "lead<b>in &amp; b</b>tail<c/><ns:d/>");
    REQUIRE(root.children.size() == 3);
    CHECK(root.children[0].text == "in & b");
    CHECK(root.children[0].inner_xml == "in &amp; b");
    CHECK(root.children[1].inner_xml.empty());
    CHECK(root.children[2].name == "ns:d");
    CHECK(root.children[2].local_name() == "d");
  }

  TEST_CASE("parse: entities, character references, CDATA, comments and line ends") {
    xml::Element root = parsed("<a q=\"&quot;&apos;&#65;&#x42;\">&lt;&gt;&amp;&apos;&quot;&#233;&#x1F600;"
                               "<![CDATA[<raw & ]]><!-- skipped --><?pi data?>x\r\ny\rz</a>");
    CHECK(*root.attribute("q") == "\"'AB");
    CHECK(root.text == "<>&'\"\xC3\xA9\xF0\x9F\x98\x80<raw & x\ny\nz");
  }

  TEST_CASE("parse: local names split like Go's encoding/xml") {
    CHECK(parsed("<a:b/>").local_name() == "b");
    CHECK(parsed("<a:b:c/>").local_name() == "a:b:c");
    CHECK(parsed("<:b/>").local_name() == ":b");
    CHECK(parsed("<a:/>").local_name() == "a:");
    CHECK(*parsed("<a xml:lang=\"en\"/>").attribute("lang") == "en");
  }

  TEST_CASE("parse: a byte order mark, white space and misc around the root") {
    CHECK(parsed("\xEF\xBB\xBF<a/>").name == "a");
    CHECK(parsed("  \n<?pi?><a></a>  <!-- x --> \n").name == "a");
  }

  TEST_CASE("parse: malformed documents fail with the line") {
    CHECK(error_of("") == "XML syntax error on line 1: no root element");
    CHECK(error_of("<a>\n<b></a>") == "XML syntax error on line 2: element <b> closed by </a>");
    CHECK(error_of("<a>\n<b>") == "XML syntax error on line 2: unexpected EOF");
    CHECK(error_of("<a>&nbsp;</a>") == "XML syntax error on line 1: invalid character entity &nbsp;");
    CHECK(error_of("<a>&#0;</a>") == "XML syntax error on line 1: invalid character entity &#0;");
    CHECK(error_of("<a>&#xD800;</a>") == "XML syntax error on line 1: invalid character entity &#xD800;");
    CHECK(error_of("<a>&#x110000;</a>") == "XML syntax error on line 1: invalid character entity &#x110000;");
    CHECK(error_of("<a>& b</a>").starts_with("XML syntax error on line 1: invalid character entity"));
    CHECK(error_of("<a x=1/>") == "XML syntax error on line 1: unquoted or missing attribute value in element");
    CHECK(error_of("<a x/>") == "XML syntax error on line 1: attribute name without = in element");
    CHECK(error_of("<a x='1' x='2'/>") == "XML syntax error on line 1: attribute x repeated in element <a>");
    CHECK(error_of("<a x='<'/>") == "XML syntax error on line 1: unescaped < inside quoted string");
    CHECK(error_of("<a x='1'y='2'/>") == "XML syntax error on line 1: expected space or > in element <a>");
    CHECK(error_of("<a>]]></a>") == "XML syntax error on line 1: unescaped ]]> not in CDATA section");
    CHECK(error_of("<a><!-- a -- b --></a>") ==
          "XML syntax error on line 1: invalid sequence \"--\" not allowed in comments");
    CHECK(error_of("<a><![CDATA[x</a>") == "XML syntax error on line 1: unexpected EOF in CDATA section");
    CHECK(error_of("<a/><b/>") == "XML syntax error on line 1: content after the root element");
    CHECK(error_of("text<a/>") == "XML syntax error on line 1: character data before the root element");
    CHECK(error_of("<a>\x01</a>") == "XML syntax error on line 1: illegal character code U+0001");
    CHECK(error_of("<a>\xff</a>") == "XML syntax error on line 1: invalid UTF-8");
    CHECK(error_of("<1a/>") == "XML syntax error on line 1: expected element name after <");
    CHECK(error_of("<a></ a>") == "XML syntax error on line 1: expected element name after </");
    CHECK(error_of("<a></a x>") == "XML syntax error on line 1: invalid characters between </a and >");
  }

  TEST_CASE("parse: the declaration is checked; DTDs are rejected") {
    CHECK(error_of("<?xml version=\"1.1\"?><a/>") ==
          "XML syntax error on line 1: unsupported version \"1.1\"; only version 1.0 is supported");
    CHECK(error_of("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>") ==
          "XML syntax error on line 1: encoding \"ISO-8859-1\" declared; only UTF-8 is supported");
    CHECK(parsed("<?xml version='1.0' encoding='utf-8' standalone='yes'?><a/>").name == "a");
    CHECK(error_of("<a/><?xml version=\"1.0\"?>") ==
          "XML syntax error on line 1: XML declaration allowed only at the start of the document");
    CHECK(error_of("<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>") ==
          "XML syntax error on line 1: DTDs are not supported (<!DOCTYPE>)");
    CHECK(error_of("<a><!DOCTYPE a></a>") == "XML syntax error on line 1: DTDs are not supported (<!DOCTYPE>)");
    CHECK(error_of("<a><!ENTITY e 'x'></a>") == "XML syntax error on line 1: unsupported markup declaration <!");
  }

  TEST_CASE("parse: nesting is bounded, without recursion") {
    std::string deep;
    for (size_t i = 0; i < xml::k_max_depth; ++i) {
      deep += "<a>";
    }
    for (size_t i = 0; i < xml::k_max_depth; ++i) {
      deep += "</a>";
    }
    CHECK(xml::parse(deep));
    CHECK(error_of("<b>" + deep + "</b>") == "XML syntax error on line 1: elements nested deeper than 1000");
  }

  TEST_CASE("escape: as Go's xml.EscapeText") {
    CHECK(xml::escape("a<b>&\"'\t\n\r") == "a&lt;b&gt;&amp;&#34;&#39;&#x9;&#xA;&#xD;");
    CHECK(xml::escape("\xC3\xA9\x01\xff") == "\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD");
  }
}
