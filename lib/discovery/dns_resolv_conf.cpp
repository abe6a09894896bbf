// resolv.conf and search lists as miekg/dns reads and builds them
// (ClientConfigFromReader, ClientConfig.NameList), for dns_sd.
#include "discovery/dns_resolv_conf.h"

#include <algorithm>

#include "util/strings.h"

namespace sdscope::discovery::dns {

namespace {

std::vector<std::string> fields_of(std::string_view line) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < line.size()) {
    size_t b = line.find_first_not_of(" \t\r\v\f", at);
    if (b == std::string_view::npos) {
      break;
    }
    size_t e = line.find_first_of(" \t\r\v\f", b);
    e = e == std::string_view::npos ? line.size() : e;
    out.emplace_back(line.substr(b, e - b));
    at = e;
  }
  return out;
}

// miekg/dns CountLabel: labels of a presentation name, escapes included.
int count_labels(std::string_view name) {
  if (name == ".") {
    return 0;
  }
  int labels = 0;
  bool in_label = false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\') {
      ++i;
      in_label = true;
    } else if (name[i] == '.') {
      labels += in_label ? 1 : 0;
      in_label = false;
    } else {
      in_label = true;
    }
  }
  return labels + (in_label ? 1 : 0);
}

bool is_fqdn(std::string_view name) {
  // A final dot counts unless it is escaped (an odd run of backslashes).
  if (name.empty() || name.back() != '.') {
    return false;
  }
  size_t slashes = 0;
  for (size_t i = name.size() - 1; i > 0 && name[i - 1] == '\\'; --i) {
    ++slashes;
  }
  return slashes % 2 == 0;
}

std::string fqdn(std::string_view name) { return is_fqdn(name) ? std::string(name) : std::string(name) + "."; }

} // namespace

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf conf;
  for (const std::string& line : util::split(text, '\n')) {
    std::vector<std::string> f = fields_of(line);
    if (f.empty()) {
      continue;
    }
    if (f[0] == "nameserver" && f.size() > 1) {
      conf.servers.push_back(f[1]);
    } else if (f[0] == "domain") {
      conf.search.clear();
      if (f.size() > 1) {
        conf.search.push_back(f[1]);
      }
    } else if (f[0] == "search") {
      conf.search.assign(f.begin() + 1, f.end());
    } else if (f[0] == "options") {
      for (size_t i = 1; i < f.size(); ++i) {
        if (util::starts_with(f[i], "ndots:")) {
          // strconv.Atoi: 0 on a syntax error, saturated on overflow.
          std::string digits = f[i].substr(6);
          size_t start = !digits.empty() && (digits[0] == '-' || digits[0] == '+') ? 1 : 0;
          bool valid = digits.size() > start && digits.find_first_not_of("0123456789", start) == std::string::npos;
          long n = 0;
          for (size_t k = start; valid && k < digits.size() && n <= 15; ++k) {
            n = n * 10 + (digits[k] - '0');
          }
          n = digits[0] == '-' ? -n : n;
          conf.ndots = static_cast<int>(std::clamp<long>(n, 0, 15));
        }
      }
    }
  }
  return conf;
}

std::vector<std::string> name_list(std::string_view name, const ResolvConf& conf) {
  if (is_fqdn(name)) {
    return {std::string(name)};
  }
  bool has_ndots = count_labels(name) > conf.ndots;
  std::string absolute = fqdn(name);
  std::vector<std::string> names;
  if (has_ndots) {
    names.push_back(absolute);
  }
  for (const std::string& s : conf.search) {
    names.push_back(fqdn(absolute + s));
  }
  if (!has_ndots) {
    names.push_back(absolute);
  }
  return names;
}

} // namespace sdscope::discovery::dns
