// Kuma's MADS over xDS REST, the wire format (discovery/xds/client.go and
// xds.go in Prometheus v2.45: protojson with UseProtoNames for the request,
// DiscardUnknown and a resolver of three message types for the response;
// the messages come from envoy's discovery.proto and Kuma's
// observability/v1/mads.proto).
//
// Not reproduced: protojson's deliberately unstable output (Go randomly adds
// a space after some ':' and ','; this body is always compact), the
// line:column in its decoding errors, its error for a key repeated verbatim
// (the JSON parser keeps one; a field under both its names is caught), and
// the decoding of an Any holding one of the two other registered types
// (the mapping rejects it anyway).
#include "discovery/kuma_mads.h"

#include <set>

#include <fmt/format.h>

#include "discovery/go_json.h"

namespace sdscope::discovery::kuma {

namespace {

// The other message types Prometheus registers for Any resolution.
constexpr std::string_view k_request_name = "envoy.service.discovery.v3.DiscoveryRequest";
constexpr std::string_view k_response_name = "envoy.service.discovery.v3.DiscoveryResponse";

// A JSON string as protojson writes it.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (c < 0x20 || c == 0x7f) {
        out += fmt::format("\\u{:04x}", c);
      } else {
        out += ch;
      }
    }
  }
  out += '"';
}

// The text protojson quotes for an unexpected value: the token it starts with.
std::string raw_token(const Json& v) {
  if (v.is_object()) {
    return "{";
  }
  if (v.is_array()) {
    return "[";
  }
  return v.dump();
}

// protojson's decoding of the few messages MADS needs; the first error wins.
class ProtoDecoder {
public:
  std::string error;

  void fail_with(std::string message) {
    if (error.empty()) {
      error = "proto: " + std::move(message);
    }
  }

  // Calls fn(name, value) for each field of a message; a non-object fails.
  template <class Fn> bool message(const Json& v, Fn fn) {
    if (!v.is_object()) {
      fail_with("syntax error: unexpected token " + raw_token(v));
      return false;
    }
    for (const auto& [name, value] : v.items()) {
      if (!value.is_null()) { // null leaves a field unset
        fn(name, value);
      }
    }
    return true;
  }

  // False, and the error, when the field was already given under its other
  // name (proto or JSON style): protojson rejects a field set twice.
  bool first_time(std::set<std::string_view>& seen, std::string_view field, const std::string& name) {
    if (!seen.insert(field).second) {
      fail_with("duplicate field \"" + name + "\"");
      return false;
    }
    return true;
  }

  void string(const Json& v, std::string& out) {
    if (!v.is_string()) {
      fail_with("invalid value for string type: " + raw_token(v));
      return;
    }
    out = v.get<std::string>();
  }

  void boolean(const Json& v) {
    if (!v.is_boolean()) {
      fail_with("invalid value for bool type: " + raw_token(v));
    }
  }

  void string_map(const Json& v, std::map<std::string, std::string>& out) {
    if (!v.is_object()) {
      fail_with("syntax error: unexpected token " + raw_token(v));
      return;
    }
    for (const auto& [key, value] : v.items()) {
      string(value, out[key]);
    }
  }

  template <class T, class Fn> void list(const Json& v, std::vector<T>& out, Fn fn) {
    if (!v.is_array()) {
      fail_with("syntax error: unexpected token " + raw_token(v));
      return;
    }
    for (const Json& item : v) {
      fn(item, out.emplace_back());
    }
  }

  void target(const Json& v, Assignment::Target& t) {
    std::set<std::string_view> seen;
    message(v, [&](const std::string& name, const Json& value) {
      if (name == "name") {
        string(value, t.name);
      } else if (name == "scheme") {
        string(value, t.scheme);
      } else if (name == "address") {
        string(value, t.address);
      } else if ((name == "metrics_path" || name == "metricsPath") && first_time(seen, "metrics_path", name)) {
        string(value, t.metrics_path);
      } else if (name == "labels") {
        string_map(value, t.labels);
      }
    });
  }

  // An Any's fields after @type, as a MonitoringAssignment.
  void assignment(const std::string& name, const Json& value, Assignment& a) {
    if (name == "mesh") {
      string(value, a.mesh);
    } else if (name == "service") {
      string(value, a.service);
    } else if (name == "targets") {
      list(value, a.targets, [&](const Json& item, Assignment::Target& t) { target(item, t); });
    } else if (name == "labels") {
      string_map(value, a.labels);
    }
  }

  // A google.protobuf.Any: @type names the message its other fields form.
  void any(const Json& v, Resource& r) {
    if (!v.is_object()) {
      fail_with("syntax error: unexpected token " + raw_token(v));
      return;
    }
    if (v.empty()) {
      return; // an empty Any
    }
    auto type = v.find("@type");
    if (type == v.end()) {
      return; // v2.45 discards unknown fields: without @type, all are unknown
    }
    if (!type->is_string()) {
      fail_with("@type field value is not a string: " + raw_token(*type));
      return;
    }
    r.type_url = type->get<std::string>();
    if (r.type_url.empty()) {
      fail_with("@type field contains empty value");
      return;
    }
    std::string_view message_name = r.type_url;
    message_name.remove_prefix(message_name.rfind('/') == std::string_view::npos ? 0 : message_name.rfind('/') + 1);
    if (message_name != k_assignment_name && message_name != k_request_name && message_name != k_response_name) {
      fail_with(fmt::format("unable to resolve {}: \"not found\"", type->dump()));
      return;
    }
    if (message_name != k_assignment_name) {
      return; // resolvable, but not what the parser wants: it fails later
    }
    for (const auto& [name, value] : v.items()) {
      if (name != "@type" && !value.is_null()) {
        assignment(name, value, r.assignment);
      }
    }
  }

  void control_plane(const Json& v) {
    message(v, [&](const std::string& name, const Json& value) {
      if (name == "identifier") {
        std::string ignored;
        string(value, ignored);
      }
    });
  }
};

} // namespace

std::string request_body(std::string_view version_info, std::string_view response_nonce, std::string_view node_id) {
  // Fields in .proto declaration order, as protojson writes them.
  std::string out = "{";
  auto field = [&](std::string_view name) {
    out += out.size() > 1 ? ",\"" : "\"";
    out += name;
    out += "\":";
  };
  if (!version_info.empty()) {
    field("version_info");
    append_json_string(out, version_info);
  }
  field("node");
  out += "{";
  if (!node_id.empty()) {
    out += "\"id\":";
    append_json_string(out, node_id);
  }
  out += "}";
  field("type_url");
  append_json_string(out, k_type_url);
  if (!response_nonce.empty()) {
    field("response_nonce");
    append_json_string(out, response_nonce);
  }
  return out + "}";
}

Result<DiscoveryResponse> parse_response(std::string_view body) {
  Json json = Json::parse(body, nullptr, false);
  if (json.is_discarded()) {
    return fail("proto: syntax error: invalid JSON");
  }
  ProtoDecoder d;
  DiscoveryResponse response;
  std::set<std::string_view> seen;
  d.message(json, [&](const std::string& name, const Json& value) {
    if ((name == "version_info" || name == "versionInfo") && d.first_time(seen, "version_info", name)) {
      d.string(value, response.version_info);
    } else if (name == "resources") {
      d.list(value, response.resources, [&](const Json& item, Resource& r) { d.any(item, r); });
    } else if (name == "canary") {
      d.boolean(value);
    } else if ((name == "type_url" || name == "typeUrl") && d.first_time(seen, "type_url", name)) {
      d.string(value, response.type_url);
    } else if (name == "nonce") {
      d.string(value, response.nonce);
    } else if ((name == "control_plane" || name == "controlPlane") && d.first_time(seen, "control_plane", name)) {
      d.control_plane(value);
    }
  });
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return response;
}

} // namespace sdscope::discovery::kuma
