// XML-RPC encoding and decoding as github.com/kolo/xmlrpc (the client
// Prometheus v2.45's uyuni_sd uses) does it; see xmlrpc.h.
#include "discovery/xmlrpc.h"

#include <fmt/format.h>

#include "discovery/go_strconv.h"
#include "util/strings.h"

namespace sdscope::discovery::xmlrpc {

namespace {

using util::xml::Element;

constexpr std::string_view k_invalid_xml = "invalid xml";

void append_value(std::string& out, const Param& param) {
  if (const std::string* s = std::get_if<std::string>(&param)) {
    out += "<value><string>" + util::xml::escape(*s) + "</string></value>";
  } else if (const int64_t* i = std::get_if<int64_t>(&param)) {
    out += "<value><int>" + std::to_string(*i) + "</int></value>";
  } else {
    out += "<value><array><data>";
    for (int64_t item : std::get<std::vector<int64_t>>(param)) {
      out += "<value><int>" + std::to_string(item) + "</int></value>";
    }
    out += "</data></array></value>";
  }
}

// The first element named <value> in document order, or nullptr.
const Element* first_value(const Element& e) {
  if (e.local_name() == "value") {
    return &e;
  }
  for (const Element& child : e.children) {
    if (const Element* found = first_value(child)) {
      return found;
    }
  }
  return nullptr;
}

// What a <value> holds, as kolo's decoder sees it: the type element, or an
// untyped string, or nothing.
struct Content {
  const Element* typed = nullptr;
  std::string untyped; // trimmed
  bool empty() const { return typed == nullptr && untyped.empty(); }
};

Content content_of(const Element& value) {
  Content c;
  c.untyped = util::trim_space(value.leading_text);
  if (c.untyped.empty() && !value.children.empty()) {
    c.typed = &value.children.front();
  }
  return c;
}

tl::unexpected<std::string> mismatch(std::string_view field_kind, std::string_view wire_kind) {
  return fail(fmt::format("error: type mismatch - can't unmarshal {} to {}", field_kind, wire_kind));
}

// The Go kind the wire type would need, for the mismatch message.
std::string_view kind_of(std::string_view type) {
  if (type == "int" || type == "i4" || type == "i8") {
    return "int";
  }
  if (type == "boolean") {
    return "bool";
  }
  if (type == "double") {
    return "float32";
  }
  if (type == "struct") {
    return "struct";
  }
  if (type == "array" || type == "base64") {
    return "slice";
  }
  return "string";
}

bool known_type(std::string_view type) {
  return type == "int" || type == "i4" || type == "i8" || type == "string" || type == "boolean" || type == "double" ||
         type == "struct" || type == "array" || type == "base64" || type == "dateTime.iso8601" || type == "nil";
}

// The character data of a scalar type element (kolo reads one text token:
// an element inside is invalid).
Result<std::string> scalar_text(const Element& typed) {
  if (typed.leading_text.empty() && !typed.children.empty()) {
    return fail(std::string(k_invalid_xml));
  }
  return typed.leading_text;
}

// Checks that the value's type fits a field of Go kind field_kind (one of
// wire_types); returns the typed element, or nullptr for an empty value or
// a nil.
Result<const Element*> typed_for(const Element& value, std::string_view field_kind,
                                 std::initializer_list<std::string_view> wire_types) {
  Content c = content_of(value);
  if (c.empty()) {
    return nullptr;
  }
  if (!c.typed) {
    return mismatch(field_kind, "string");
  }
  std::string_view type = c.typed->local_name();
  if (!known_type(type)) {
    return fail("unsupported type");
  }
  if (type == "nil") {
    return nullptr;
  }
  if (type == "dateTime.iso8601") {
    return fail(fmt::format("error: type mismatch error - can't decode {} to time", field_kind));
  }
  for (std::string_view wanted : wire_types) {
    if (type == wanted) {
      return c.typed;
    }
  }
  return mismatch(field_kind, kind_of(type));
}

} // namespace

std::string encode_call(std::string_view method, const std::vector<Param>& params) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>";
  out += method; // kolo writes the name as is
  out += "</methodName><params>";
  for (const Param& param : params) {
    out += "<param>";
    append_value(out, param);
    out += "</param>";
  }
  out += "</params></methodCall>";
  return out;
}

Result<Answer> read_answer(std::string_view body) {
  // kolo looks for a fault with the pattern <fault>(\s|\S)+</fault> on the
  // raw body first; its errors come back from net/rpc as they are. Errors
  // reading a normal answer come back as "reading body <error>".
  size_t open = body.find("<fault>");
  bool fault = open != std::string_view::npos && body.find("</fault>", open + 8) != std::string_view::npos;
  std::string_view prefix = fault ? "" : "reading body ";
  if (util::trim_space(body).empty()) {
    return fail(fmt::format("{}EOF", prefix));
  }
  Answer answer;
  Result<Element> document = util::xml::parse(body);
  if (!document) {
    return fail(fmt::format("{}{}", prefix, document.error()));
  }
  answer.document = std::move(*document);
  answer.value = first_value(answer.document);
  if (answer.value == nullptr) {
    return fail(fmt::format("{}EOF", prefix));
  }
  if (fault) {
    int64_t code = 0;
    std::string text;
    Result<void> ok = decode_struct(*answer.value, [&](std::string_view name, const Element& v) -> Result<void> {
      if (name == "faultCode") {
        return decode_int(v, code);
      }
      if (name == "faultString") {
        return decode_string(v, text);
      }
      return {};
    });
    if (!ok) {
      return fail(ok.error());
    }
    return fail(fmt::format("Fault({}): {}", code, text));
  }
  return answer;
}

Result<void> decode_int(const Element& value, int64_t& out) {
  Result<const Element*> typed = typed_for(value, "int", {"int", "i4", "i8"});
  if (!typed || *typed == nullptr) {
    return typed ? Result<void>() : fail(typed.error());
  }
  Result<std::string> text = scalar_text(**typed);
  if (!text) {
    return fail(text.error());
  }
  Result<int64_t> number = go_parse_int(*text, 64); // not trimmed, as kolo does
  if (!number) {
    return fail(number.error());
  }
  out = *number;
  return {};
}

Result<void> decode_string(const Element& value, std::string& out) {
  Content c = content_of(value);
  if (!c.typed && !c.untyped.empty()) {
    out = c.untyped;
    return {};
  }
  Result<const Element*> typed = typed_for(value, "string", {"string"});
  if (!typed || *typed == nullptr) {
    return typed ? Result<void>() : fail(typed.error());
  }
  Result<std::string> text = scalar_text(**typed);
  if (!text) {
    return fail(text.error());
  }
  out = *text;
  return {};
}

Result<void> decode_bool(const Element& value, bool& out) {
  Result<const Element*> typed = typed_for(value, "bool", {"boolean"});
  if (!typed || *typed == nullptr) {
    return typed ? Result<void>() : fail(typed.error());
  }
  Result<std::string> text = scalar_text(**typed);
  if (!text) {
    return fail(text.error());
  }
  Result<bool> flag = go_parse_bool(*text);
  if (!flag) {
    return fail(flag.error());
  }
  out = *flag;
  return {};
}

Result<void> decode_struct(const Element& value,
                           const std::function<Result<void>(std::string_view name, const Element& value)>& member) {
  Result<const Element*> typed = typed_for(value, "struct", {"struct"});
  if (!typed || *typed == nullptr) {
    return typed ? Result<void>() : fail(typed.error());
  }
  for (const Element& m : (*typed)->children) {
    if (m.local_name() != "member" || m.children.empty() || m.children.front().local_name() != "name") {
      return fail(std::string(k_invalid_xml));
    }
    const Element& name = m.children.front();
    if (name.leading_text.empty()) { // kolo wants a text token right after <name>
      return fail(std::string(k_invalid_xml));
    }
    for (size_t i = 1; i < m.children.size(); ++i) {
      if (m.children[i].local_name() == "value") {
        if (Result<void> ok = member(name.leading_text, m.children[i]); !ok) {
          return ok;
        }
        break;
      }
    }
  }
  return {};
}

Result<void> decode_array(const Element& value, const std::function<Result<void>(const Element& value)>& item) {
  Result<const Element*> typed = typed_for(value, "slice", {"array"});
  if (!typed || *typed == nullptr) {
    return typed ? Result<void>() : fail(typed.error());
  }
  for (const Element& data : (*typed)->children) {
    if (data.local_name() != "data") {
      return fail(std::string(k_invalid_xml));
    }
    for (const Element& v : data.children) {
      if (v.local_name() != "value") {
        return fail(std::string(k_invalid_xml));
      }
      if (Result<void> ok = item(v); !ok) {
        return ok;
      }
    }
  }
  return {};
}

} // namespace sdscope::discovery::xmlrpc
