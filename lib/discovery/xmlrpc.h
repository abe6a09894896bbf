#pragma once

// XML-RPC (http://xmlrpc.com/spec.md) as github.com/kolo/xmlrpc speaks it
// for uyuni_sd: encoding a call, and reading an answer into Go-like typed
// fields with that library's checks and error texts ("error: type mismatch
// - can't unmarshal int to string", "invalid xml", faults as
// "Fault(<code>): <string>").

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/result.h"
#include "util/xml.h"

namespace sdscope::discovery::xmlrpc {

// A call parameter: <string>, <int>, or an array of <int>.
using Param = std::variant<std::string, int64_t, std::vector<int64_t>>;

// The request body of a call, as kolo/xmlrpc writes it.
std::string encode_call(std::string_view method, const std::vector<Param>& params);

// A parsed answer: the document and its first <value> element (the result,
// or the fault's value).
struct Answer {
  util::xml::Element document;
  const util::xml::Element* value = nullptr;
};

// Reads an answer body, failing with the text net/rpc's Client.Call gives
// through kolo/xmlrpc: a body holding <fault>...</fault> fails with
// "Fault(<code>): <string>"; malformed XML with "reading body <XML error>";
// a body without a <value> with "reading body EOF". Errors of the decode_*
// functions below belong after the same "reading body " prefix.
Result<Answer> read_answer(std::string_view body);

// Fill a Go-typed field from a <value> element. A value without a type
// element and without text leaves the field as it is (Go's zero value);
// text without a type element is a string. A type that does not fit the
// field is a type mismatch.
Result<void> decode_int(const util::xml::Element& value, int64_t& out);
Result<void> decode_string(const util::xml::Element& value, std::string& out);
Result<void> decode_bool(const util::xml::Element& value, bool& out);
// A struct: member(name, value) for each member; unknown names are for
// the callback to ignore (return success).
Result<void> decode_struct(const util::xml::Element& value,
                           const std::function<Result<void>(std::string_view name, const util::xml::Element& value)>& member);
// An array (a Go slice): item(value) for each element, in order.
Result<void> decode_array(const util::xml::Element& value, const std::function<Result<void>(const util::xml::Element& value)>& item);

} // namespace sdscope::discovery::xmlrpc
