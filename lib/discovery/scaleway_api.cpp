// Scaleway's Instance and Elastic Metal list responses decoded as
// scaleway-sdk-go (the release Prometheus v2.45 bundles) fills its structs,
// and mapped to targets as discovery/scaleway/instance.go and baremetal.go
// of v2.45 do. API: https://www.scaleway.com/en/developers/api/instance/
// and .../api/elastic-metal/.
#include "discovery/scaleway_api.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::scaleway {

namespace {

constexpr std::string_view k_source = "scaleway";

// Go's net.IP String() of a parsed address: IPv4 (also IPv4-mapped IPv6)
// dotted, IPv6 in the RFC 5952 form inet_ntop gives too.
std::optional<std::string> go_ip_string(const std::string& text) {
  unsigned char bytes[16];
  char buffer[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    return inet_ntop(AF_INET, bytes, buffer, sizeof buffer);
  }
  if (text.find('%') != std::string::npos || inet_pton(AF_INET6, text.c_str(), bytes) != 1) {
    return std::nullopt; // Go's ParseIP takes no zone either
  }
  static constexpr unsigned char k_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(bytes, bytes + 12, k_v4_prefix)) {
    return inet_ntop(AF_INET, bytes + 12, buffer, sizeof buffer);
  }
  return inet_ntop(AF_INET6, bytes, buffer, sizeof buffer);
}

// Go's encoding/json into the SDK's structs. `where` is Go's error context
// "<Struct>.<json path>"; the first error wins and decoding goes on.
class Decoder {
public:
  GoDecoder d;

  void string(const Json& v, std::string& out, const std::string& where) { d.string(v, out, where); }

  // An SDK enum: its UnmarshalJSON decodes a plain string and turns "" (or
  // null) into the enum's default; a mismatch is reported without struct
  // context (it comes from the inner json.Unmarshal).
  void enumeration(const Json& v, std::string& out, std::string_view default_value) {
    std::string text;
    if (!v.is_null() && !v.is_string()) {
      d.mismatch(json_kind(v), "", "string");
      return;
    }
    if (v.is_string()) {
      text = v.get<std::string>();
    }
    out = text.empty() ? std::string(default_value) : text;
  }

  void u32(const Json& v, uint32_t& out, const std::string& where) {
    if (v.is_null()) {
      return;
    }
    if (v.is_number_unsigned() && v.get<uint64_t>() <= UINT32_MAX) {
      out = static_cast<uint32_t>(v.get<uint64_t>());
    } else if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= UINT32_MAX) {
      out = static_cast<uint32_t>(v.get<int64_t>());
    } else {
      d.mismatch(v.is_number() ? "number " + v.dump() : json_kind(v), where, "uint32");
    }
  }

  // net.IP: a string through UnmarshalText ("" and null give a nil IP,
  // printed "<nil>").
  void ip(const Json& v, std::string& out, const std::string& where) {
    if (v.is_null()) {
      out = "<nil>";
      return;
    }
    if (!v.is_string()) {
      d.mismatch(json_kind(v), where, "net.IP");
      return;
    }
    std::string text = v.get<std::string>();
    if (text.empty()) {
      out = "<nil>";
      return;
    }
    std::optional<std::string> printed = go_ip_string(text);
    if (!printed) {
      if (d.error.empty()) {
        d.error = "invalid IP address: " + text;
      }
      return;
    }
    out = *printed;
  }

  // A struct (or pointer to one): fn(key, value) per member; false for null.
  template <class Fn> bool object(const Json& v, const std::string& where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return false;
    }
    if (!v.is_object()) {
      d.mismatch(json_kind(v), where, type);
      return false;
    }
    d.fields(v, fn);
    return true;
  }

  // A slice of struct pointers: fn(element, out) per non-null element (a
  // null element would be a nil pointer Prometheus crashes on: skipped).
  template <class T, class Fn>
  void list(const Json& v, std::vector<T>& out, const std::string& where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_array()) {
      d.mismatch(json_kind(v), where, fmt::format("[]*{}", type));
      return;
    }
    for (const Json& item : v) {
      if (item.is_null()) {
        continue;
      }
      if (!item.is_object()) {
        d.mismatch(json_kind(item), where, type);
        continue;
      }
      T element{};
      d.fields(item, [&](const std::string& key, const Json& value) { fn(key, value, element); });
      out.push_back(std::move(element));
    }
  }
};

void instance_server_field(Decoder& dec, const std::string& key, const Json& value, InstanceServer& s) {
  auto is = [&](std::string_view name) { return equal_fold(key, name); };
  const std::string w = "Server.servers.";
  if (is("id")) {
    dec.string(value, s.id, w + "id");
  } else if (is("name")) {
    dec.string(value, s.name, w + "name");
  } else if (is("hostname")) {
    dec.string(value, s.hostname, w + "hostname");
  } else if (is("organization")) {
    dec.string(value, s.organization, w + "organization");
  } else if (is("project")) {
    dec.string(value, s.project, w + "project");
  } else if (is("commercial_type")) {
    dec.string(value, s.commercial_type, w + "commercial_type");
  } else if (is("zone")) {
    dec.string(value, s.zone, w + "zone");
  } else if (is("boot_type")) {
    dec.enumeration(value, s.boot_type, "local");
  } else if (is("state")) {
    dec.enumeration(value, s.state, "running");
  } else if (is("tags")) {
    s.tags.clear();
    dec.d.string_list(value, s.tags, w + "tags");
  } else if (is("image")) {
    InstanceServer::Image image;
    bool set = dec.object(value, w + "image", "instance.Image", [&](const std::string& k, const Json& v) {
      if (equal_fold(k, "id")) {
        dec.string(v, image.id, "Image.servers.image.id");
      } else if (equal_fold(k, "name")) {
        dec.string(v, image.name, "Image.servers.image.name");
      } else if (equal_fold(k, "arch")) {
        dec.enumeration(v, image.arch, "x86_64");
      }
    });
    s.image = set ? std::optional(image) : std::nullopt;
  } else if (is("location")) {
    InstanceServer::Location location;
    bool set = dec.object(value, w + "location", "instance.ServerLocation", [&](const std::string& k, const Json& v) {
      if (equal_fold(k, "cluster_id")) {
        dec.string(v, location.cluster_id, "ServerLocation.servers.location.cluster_id");
      } else if (equal_fold(k, "hypervisor_id")) {
        dec.string(v, location.hypervisor_id, "ServerLocation.servers.location.hypervisor_id");
      } else if (equal_fold(k, "node_id")) {
        dec.string(v, location.node_id, "ServerLocation.servers.location.node_id");
      }
    });
    s.location = set ? std::optional(location) : std::nullopt;
  } else if (is("security_group")) {
    InstanceServer::SecurityGroup group;
    bool set = dec.object(value, w + "security_group", "instance.SecurityGroupSummary",
                          [&](const std::string& k, const Json& v) {
                            if (equal_fold(k, "id")) {
                              dec.string(v, group.id, "SecurityGroupSummary.servers.security_group.id");
                            } else if (equal_fold(k, "name")) {
                              dec.string(v, group.name, "SecurityGroupSummary.servers.security_group.name");
                            }
                          });
    s.security_group = set ? std::optional(group) : std::nullopt;
  } else if (is("private_ip")) {
    if (value.is_null()) {
      s.private_ip.reset();
    } else {
      std::string ip;
      dec.string(value, ip, w + "private_ip");
      s.private_ip = ip;
    }
  } else if (is("public_ip") || is("ipv6")) {
    bool v6 = is("ipv6");
    std::string address = "<nil>";
    std::string type = v6 ? "ServerIPv6" : "ServerIP";
    std::string path = v6 ? "servers.ipv6" : "servers.public_ip";
    bool set = dec.object(value, w + (v6 ? "ipv6" : "public_ip"), "instance." + type,
                          [&](const std::string& k, const Json& v) {
                            if (equal_fold(k, "address")) {
                              dec.ip(v, address, type + "." + path + ".address");
                            }
                          });
    (v6 ? s.ipv6 : s.public_ip) = set ? std::optional(address) : std::nullopt;
  }
}

template <class Page, class Fn> Result<Page> parse_page(std::string_view body, std::string_view response_type, Fn fn) {
  Result<Json> json = parse_json(body, k_decoder_eof);
  if (!json) {
    return fail(json.error());
  }
  Decoder dec;
  Page page;
  dec.object(*json, "", fmt::format("{}", response_type), [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "total_count")) {
      dec.u32(value, page.total_count, fmt::format("{}.total_count", response_type.substr(response_type.find('.') + 1)));
    } else {
      fn(dec, key, value, page);
    }
  });
  if (!dec.d.error.empty()) {
    return fail(dec.d.error);
  }
  return page;
}

std::string comma_wrapped(const std::vector<std::string>& items) {
  std::string out = ",";
  for (const std::string& item : items) {
    out += item + ",";
  }
  return out;
}

// scw.Zone.Region: the zone without its number, for zones of the SDK's
// pattern ^[a-z]{2}-[a-z]{3}-[1-9]$.
std::optional<std::string> zone_region(std::string_view zone) {
  auto lower = [](char ch) { return ch >= 'a' && ch <= 'z'; };
  bool valid = zone.size() == 8 && lower(zone[0]) && lower(zone[1]) && zone[2] == '-' && lower(zone[3]) &&
               lower(zone[4]) && lower(zone[5]) && zone[6] == '-' && zone[7] >= '1' && zone[7] <= '9';
  if (!valid) {
    return std::nullopt;
  }
  return std::string(zone.substr(0, 6));
}

} // namespace

Result<InstancePage> parse_instance_page(std::string_view body) {
  return parse_page<InstancePage>(body, "instance.ListServersResponse",
                                  [](Decoder& dec, const std::string& key, const Json& value, InstancePage& page) {
                                    if (!equal_fold(key, "servers")) {
                                      return;
                                    }
                                    page.servers.clear();
                                    dec.list(value, page.servers, "ListServersResponse.servers", "instance.Server",
                                             [&](const std::string& k, const Json& v, InstanceServer& s) {
                                               instance_server_field(dec, k, v, s);
                                             });
                                  });
}

model::TargetGroup instance_group(const std::vector<InstanceServer>& servers, int port) {
  const std::string prefix = "__meta_scaleway_instance_";
  model::TargetGroup group;
  group.source = std::string(k_source);
  for (const InstanceServer& s : servers) {
    if (!s.private_ip) {
      continue; // v2.45 targets the private IP only
    }
    model::Labels& t = group.targets.emplace_back();
    t.set(prefix + "boot_type", s.boot_type);
    t.set(prefix + "hostname", s.hostname);
    t.set(prefix + "id", s.id);
    t.set(prefix + "name", s.name);
    t.set(prefix + "organization_id", s.organization);
    t.set(prefix + "project_id", s.project);
    t.set(prefix + "status", s.state);
    t.set(prefix + "type", s.commercial_type);
    t.set(prefix + "zone", s.zone);
    if (s.image) {
      t.set(prefix + "image_arch", s.image->arch);
      t.set(prefix + "image_id", s.image->id);
      t.set(prefix + "image_name", s.image->name);
    }
    if (s.location) {
      t.set(prefix + "location_cluster_id", s.location->cluster_id);
      t.set(prefix + "location_hypervisor_id", s.location->hypervisor_id);
      t.set(prefix + "location_node_id", s.location->node_id);
    }
    if (s.security_group) {
      t.set(prefix + "security_group_id", s.security_group->id);
      t.set(prefix + "security_group_name", s.security_group->name);
    }
    if (std::optional<std::string> region = zone_region(s.zone)) {
      t.set(prefix + "region", *region);
    }
    if (!s.tags.empty()) {
      t.set(prefix + "tags", comma_wrapped(s.tags));
    }
    if (s.ipv6) {
      t.set(prefix + "public_ipv6", *s.ipv6);
    }
    if (s.public_ip) {
      t.set(prefix + "public_ipv4", *s.public_ip);
    }
    t.set(prefix + "private_ipv4", *s.private_ip);
    t.set("__address__", util::join_host_port(*s.private_ip, std::to_string(port)));
  }
  return group;
}

Result<BaremetalServersPage> parse_baremetal_servers_page(std::string_view body) {
  return parse_page<BaremetalServersPage>(
      body, "baremetal.ListServersResponse",
      [](Decoder& dec, const std::string& key, const Json& value, BaremetalServersPage& page) {
        if (!equal_fold(key, "servers")) {
          return;
        }
        page.servers.clear();
        const std::string w = "Server.servers.";
        dec.list(value, page.servers, "ListServersResponse.servers", "baremetal.Server",
                 [&](const std::string& k, const Json& v, BaremetalServer& s) {
                   auto is = [&](std::string_view name) { return equal_fold(k, name); };
                   if (is("id")) {
                     dec.string(v, s.id, w + "id");
                   } else if (is("name")) {
                     dec.string(v, s.name, w + "name");
                   } else if (is("zone")) {
                     dec.string(v, s.zone, w + "zone");
                   } else if (is("project_id")) {
                     dec.string(v, s.project_id, w + "project_id");
                   } else if (is("offer_id")) {
                     dec.string(v, s.offer_id, w + "offer_id");
                   } else if (is("status")) {
                     dec.enumeration(v, s.status, "unknown");
                   } else if (is("tags")) {
                     s.tags.clear();
                     dec.d.string_list(v, s.tags, w + "tags");
                   } else if (is("install")) {
                     std::string os_id;
                     bool set = dec.object(v, w + "install", "baremetal.ServerInstall",
                                           [&](const std::string& ik, const Json& iv) {
                                             if (equal_fold(ik, "os_id")) {
                                               dec.string(iv, os_id, "ServerInstall.servers.install.os_id");
                                             }
                                           });
                     s.install_os_id = set ? std::optional(os_id) : std::nullopt;
                   } else if (is("ips")) {
                     s.ips.clear();
                     dec.list(v, s.ips, w + "ips", "baremetal.IP",
                              [&](const std::string& ik, const Json& iv, BaremetalServer::Ip& ip) {
                                if (equal_fold(ik, "address")) {
                                  dec.ip(iv, ip.address, "IP.servers.ips.address");
                                } else if (equal_fold(ik, "version")) {
                                  dec.enumeration(iv, ip.version, "IPv4");
                                }
                              });
                     for (BaremetalServer::Ip& ip : s.ips) { // absent fields keep Go's zero values
                       if (ip.address.empty()) {
                         ip.address = "<nil>";
                       }
                     }
                   }
                 });
      });
}

Result<BaremetalOffersPage> parse_baremetal_offers_page(std::string_view body) {
  return parse_page<BaremetalOffersPage>(
      body, "baremetal.ListOffersResponse",
      [](Decoder& dec, const std::string& key, const Json& value, BaremetalOffersPage& page) {
        if (!equal_fold(key, "offers")) {
          return;
        }
        page.offers.clear();
        dec.list(value, page.offers, "ListOffersResponse.offers", "baremetal.Offer",
                 [&](const std::string& k, const Json& v, BaremetalOffer& o) {
                   if (equal_fold(k, "id")) {
                     dec.string(v, o.id, "Offer.offers.id");
                   } else if (equal_fold(k, "name")) {
                     dec.string(v, o.name, "Offer.offers.name");
                   }
                 });
      });
}

Result<BaremetalOsPage> parse_baremetal_os_page(std::string_view body) {
  return parse_page<BaremetalOsPage>(
      body, "baremetal.ListOSResponse",
      [](Decoder& dec, const std::string& key, const Json& value, BaremetalOsPage& page) {
        if (!equal_fold(key, "os")) {
          return;
        }
        page.os.clear();
        dec.list(value, page.os, "ListOSResponse.os", "baremetal.OS",
                 [&](const std::string& k, const Json& v, BaremetalOs& o) {
                   if (equal_fold(k, "id")) {
                     dec.string(v, o.id, "OS.os.id");
                   } else if (equal_fold(k, "name")) {
                     dec.string(v, o.name, "OS.os.name");
                   } else if (equal_fold(k, "version")) {
                     dec.string(v, o.version, "OS.os.version");
                   }
                 });
      });
}

Result<model::TargetGroup> baremetal_group(const std::vector<BaremetalServer>& servers,
                                           const std::vector<BaremetalOffer>& offers,
                                           const std::vector<BaremetalOs>& os, int port) {
  const std::string prefix = "__meta_scaleway_baremetal_";
  model::TargetGroup group;
  group.source = std::string(k_source);
  for (const BaremetalServer& s : servers) {
    model::Labels t;
    t.set(prefix + "id", s.id);
    t.set(prefix + "name", s.name);
    t.set(prefix + "zone", s.zone);
    t.set(prefix + "status", s.status);
    t.set(prefix + "project_id", s.project_id);
    for (const BaremetalOffer& offer : offers) {
      if (offer.id == s.offer_id) {
        t.set(prefix + "type", offer.name);
        break;
      }
    }
    if (s.install_os_id) {
      for (const BaremetalOs& o : os) {
        if (o.id == *s.install_os_id) {
          t.set(prefix + "os_name", o.name);
          t.set(prefix + "os_version", o.version);
          break;
        }
      }
    }
    if (!s.tags.empty()) {
      t.set(prefix + "tags", comma_wrapped(s.tags));
    }
    bool have_v4 = false;
    bool have_v6 = false;
    bool have_address = false;
    for (const BaremetalServer::Ip& ip : s.ips) {
      std::string address = util::join_host_port(ip.address, std::to_string(port));
      if (ip.version == "IPv4") {
        if (have_v4) {
          continue; // the first IPv4 only
        }
        have_v4 = true;
        t.set(prefix + "public_ipv4", ip.address);
        t.set("__address__", address); // IPv4 wins over an earlier IPv6
        have_address = true;
      } else if (ip.version == "IPv6") {
        if (have_v6) {
          continue;
        }
        have_v6 = true;
        t.set(prefix + "public_ipv6", ip.address);
        if (!have_address) {
          t.set("__address__", address);
          have_address = true;
        }
      } else {
        return fail("unknown IP version: " + ip.version);
      }
    }
    group.targets.push_back(std::move(t));
  }
  return group;
}

std::string response_error(const net::HttpResponse& response) {
  std::string generic = "scaleway-sdk-go: http error " + response.status_line();
  // Only an exact "application/json" body is decoded; else the status
  // stands in for the message.
  if (response.content_type != "application/json") {
    return generic + ": " + response.status_line();
  }
  Result<Json> json = parse_json(response.body, k_unmarshal_eof);
  if (!json) {
    return "scaleway-sdk-go: could not parse error response body: " + json.error();
  }
  auto text = [&](std::string_view key) {
    if (json->is_object()) {
      for (const auto& [k, v] : json->items()) {
        if (equal_fold(k, key) && v.is_string()) {
          return v.get<std::string>();
        }
      }
    }
    return std::string();
  };
  std::string type = text("type");
  if (type == "denied_authentication") {
    std::string method = text("method");
    std::string method_text = method == "unknown_method" ? "unknown method"
                              : method == "jwt"          ? "JWT"
                              : method == "api_key"      ? "API key"
                                                         : "";
    std::string reason = text("reason");
    std::string reason_text = reason == "unknown_reason"     ? "unknown reason"
                              : reason == "invalid_argument" ? "invalid " + method_text + " format or empty value"
                              : reason == "not_found"        ? method_text + " does not exist"
                              : reason == "expired"          ? method_text + " is expired"
                                                             : "";
    return "scaleway-sdk-go: denied authentication: " + reason_text;
  }
  if (type == "permissions_denied") {
    std::string out = "scaleway-sdk-go: insufficient permissions: ";
    if (json->contains("details") && (*json)["details"].is_array()) {
      bool first = true;
      for (const Json& detail : (*json)["details"]) {
        if (!detail.is_object()) {
          continue;
        }
        out += (first ? "" : "; ") + detail.value("action", std::string()) + " " +
               detail.value("resource", std::string());
        first = false;
      }
    }
    return out;
  }
  if (type == "not_found") {
    return fmt::format("scaleway-sdk-go: resource {} with ID {} is not found", text("resource"), text("resource_id"));
  }
  std::string resource = text("resource");
  if (!resource.empty()) {
    generic += ": resource " + resource;
  }
  std::string message = util::to_lower_ascii(text("message")); // the SDK lowercases it
  if (!message.empty()) {
    generic += ": " + message;
  }
  return generic;
}

} // namespace sdscope::discovery::scaleway
