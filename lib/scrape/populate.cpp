#include "scrape/populate.h"

#include <algorithm>

#include <fmt/format.h>

#include "relabel/apply.h"
#include "util/strings.h"

namespace sdscope::scrape {

namespace {

constexpr std::string_view k_address = "__address__";
constexpr std::string_view k_scheme = "__scheme__";
constexpr std::string_view k_metrics_path = "__metrics_path__";
constexpr std::string_view k_interval = "__scrape_interval__";
constexpr std::string_view k_timeout = "__scrape_timeout__";
constexpr std::string_view k_param_prefix = "__param_";
constexpr std::string_view k_meta_prefix = "__meta_";

// net/url shouldEscape for the modes URL.String and Values.Encode use.
enum class Escape { host, path, query };

bool should_escape(unsigned char c, Escape mode) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return false;
  }
  if (mode == Escape::host) {
    switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';':
    case '=': case ':': case '[': case ']': case '<': case '>': case '"':
      return false;
    default: break;
    }
  }
  switch (c) {
  case '-': case '_': case '.': case '~':
    return false;
  case '$': case '&': case '+': case ',': case '/': case ':': case ';': case '=': case '?': case '@':
    if (mode == Escape::path) {
      return c == '?';
    }
    if (mode == Escape::query) {
      return true;
    }
    break;
  default: break;
  }
  return true;
}

void append_escaped(std::string& out, std::string_view s, Escape mode) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == ' ' && mode == Escape::query) {
      out += '+';
    } else if (should_escape(c, mode)) {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    } else {
      out += ch;
    }
  }
}

void append_query_pair(std::string& out, std::string_view key, std::string_view value, bool& first) {
  out += first ? '?' : '&';
  first = false;
  append_escaped(out, key, Escape::query);
  out += '=';
  append_escaped(out, value, Escape::query);
}

} // namespace

Populator::Populator(const JobSettings& job, PopulateOptions options)
    : m_job(&job), m_options(options), m_interval(model::format_text(job.scrape_interval)),
      m_timeout(model::format_text(job.scrape_timeout)) {
  // §5.2 steps 1-2: job defaults where a label is absent, params always (an
  // empty first value deletes the label).
  m_job_labels = {{"job", job.job_name, false},
                  {std::string(k_interval), m_interval, false},
                  {std::string(k_timeout), m_timeout, false},
                  {std::string(k_metrics_path), job.metrics_path, false},
                  {std::string(k_scheme), job.scheme, false}};
  for (const auto& [key, values] : job.params) {
    if (!values.empty()) {
      m_job_labels.push_back({fmt::format("{}{}", k_param_prefix, key), values.front(), true});
    }
  }
  std::sort(m_job_labels.begin(), m_job_labels.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

void Populator::add_job_labels(model::Labels& labels) const {
  // One sorted merge of labels with m_job_labels: appending in name order
  // never shifts the labels already set.
  model::Labels out;
  out.reserve(labels.size() + m_job_labels.size() + 8); // room for relabeling to add a few
  auto l = labels.begin();
  auto d = m_job_labels.begin();
  while (l != labels.end() || d != m_job_labels.end()) {
    if (d == m_job_labels.end() || (l != labels.end() && l->first < d->name)) {
      out.append_sorted(l->first, l->second);
      ++l;
    } else if (l == labels.end() || d->name < l->first) {
      out.append_sorted(d->name, d->value);
      ++d;
    } else {
      out.append_sorted(d->name, d->overrides ? d->value : l->second);
      ++l;
      ++d;
    }
  }
  labels = std::move(out);
}

model::Labels Populator::discovered(const model::TargetGroup& group, size_t i) const {
  model::Labels labels;
  discovered_into(group, i, labels);
  return labels;
}

void Populator::discovered_into(const model::TargetGroup& group, size_t i, model::Labels& labels) const {
  labels.clear();
  // Room for what relabeling and `instance` usually add, so that they do
  // not reallocate.
  labels.reserve(group.targets[i].size() + group.labels.size() + m_job_labels.size() + 8);
  for_each_discovered(group, i, [&](std::string_view name, std::string_view value) { labels.append_sorted(name, value); });
}

std::string Populator::populate(model::Labels labels, Target& target) const {
  add_job_labels(labels);
  // 3. Discovered labels.
  target.discovered = labels;
  return relabel_and_check(labels, target);
}

std::string Populator::relabel_and_check(model::Labels& labels, Target& target) const {
  const JobSettings& job = *m_job;
  target.labels.clear();
  target.dropped_by = -1;
  target.error.clear();
  // 4. Relabeling.
  relabel::ApplyResult result = relabel::apply(job.relabel_configs, labels);
  if (!result.kept) {
    target.dropped_by = result.dropped_by;
    return "";
  }
  // 5.
  std::string addr(labels.get(k_address));
  if (addr.empty()) {
    return "no address";
  }
  // 6. Default port (§5.3).
  std::string scheme(labels.get(k_scheme));
  util::HostPort split = util::split_host_port(addr);
  bool add_port = !split.ok() && util::split_host_port(addr + ":1234").ok();
  if (m_options.no_default_scrape_port) {
    // Strip a port that is the scheme's default; `instance` keeps addr.
    if ((scheme == "http" && split.port == "80") || (scheme == "https" && split.port == "443")) {
      labels.set(k_address, split.host);
    }
  } else if (add_port) {
    if (scheme == "http" || scheme.empty()) {
      addr += ":80";
    } else if (scheme == "https") {
      addr += ":443";
    } else {
      // Prometheus shows the configured scheme, not __scheme__.
      return fmt::format("invalid scheme: {}", util::go_quote(job.scheme));
    }
    labels.set(k_address, addr);
  }
  // 7.
  if (addr.find('/') != std::string::npos) {
    return fmt::format("{} is not a valid hostname", util::go_quote(addr));
  }
  // 8.-10. Interval and timeout as the labels now say.
  // (The job's own texts, the usual case, are known to parse.)
  std::string_view interval_text = labels.get(k_interval);
  model::Duration interval = m_job->scrape_interval;
  if (interval_text != m_interval) {
    if (std::string e = model::parse_text(interval_text, interval); !e.empty()) {
      return "error parsing scrape interval: " + e;
    }
  }
  if (interval.ms == 0) {
    return "scrape interval cannot be 0";
  }
  std::string_view timeout_text = labels.get(k_timeout);
  model::Duration timeout = m_job->scrape_timeout;
  if (timeout_text != m_timeout) {
    if (std::string e = model::parse_text(timeout_text, timeout); !e.empty()) {
      return "error parsing scrape timeout: " + e;
    }
  }
  if (timeout.ms == 0) {
    return "scrape timeout cannot be 0";
  }
  if (timeout > interval) {
    return fmt::format("scrape timeout cannot be greater than scrape interval ({} > {})",
                       util::go_quote(timeout_text), util::go_quote(interval_text));
  }
  // 11.
  labels.erase_if([](const std::string& name) { return util::starts_with(name, k_meta_prefix); });
  // 12.
  if (!labels.has("instance")) {
    labels.set("instance", addr);
  }
  // 13. In sorted order, the first invalid value wins.
  for (const auto& [name, value] : labels) {
    if (!util::valid_utf8(value)) {
      return fmt::format("invalid label value for {}: {}", util::go_quote(name), util::go_quote(value));
    }
  }
  std::swap(target.labels, labels); // (labels keeps target's old memory, for reuse)
  return "";
}

void Populator::from_group(const model::TargetGroup& group, std::vector<Target>& out, bool keep_discovered) const {
  out.reserve(out.size() + group.targets.size());
  model::Labels scratch;
  for (size_t i = 0; i < group.targets.size(); ++i) {
    Target& target = out.emplace_back();
    build(group, i, target, scratch);
    if (keep_discovered) {
      target.discovered = discovered(group, i);
    }
  }
}

void Populator::build(const model::TargetGroup& group, size_t i, Target& target, model::Labels& scratch) const {
  discovered_into(group, i, scratch); // §5.1-§5.2 step 3
  if (std::string e = relabel_and_check(scratch, target); !e.empty()) {
    target.error = fmt::format("instance {} in group {}: {}", i, group.source, e);
  }
}

std::vector<Target> targets_from_group(const model::TargetGroup& group, const JobSettings& job,
                                       PopulateOptions options) {
  std::vector<Target> out;
  Populator(job, options).from_group(group, out);
  return out;
}

namespace {

// What a scrape URL is made of: the labels __scheme__, __address__,
// __metrics_path__ and every __param_<k> label (as <k>, value; sorted).
struct UrlLabels {
  std::string_view scheme, host, path;
  std::vector<std::pair<std::string_view, std::string_view>> params;

  void add(std::string_view name, std::string_view value) {
    if (name == k_scheme) {
      scheme = value;
    } else if (name == k_address) {
      host = value;
    } else if (name == k_metrics_path) {
      path = value;
    } else if (util::starts_with(name, k_param_prefix)) {
      params.emplace_back(name.substr(k_param_prefix.size()), value);
    }
  }
};

std::string render_url(const UrlLabels& labels, const std::map<std::string, std::vector<std::string>>& params) {
  std::string_view scheme = labels.scheme;
  std::string_view host = labels.host;
  std::string_view path = labels.path;

  // url.URL{Scheme, Host, Path, RawQuery}.String() (Go 1.20).
  std::string out;
  out.reserve(scheme.size() + host.size() + path.size() + 16);
  if (!scheme.empty()) {
    out += scheme;
    out += ':';
  }
  if (!scheme.empty() || !host.empty()) {
    if (!host.empty() || !path.empty()) {
      out += "//";
    }
    append_escaped(out, host, Escape::host);
  }
  std::string escaped_path;
  if (path == "*") {
    escaped_path.push_back('*'); // not = "*": GCC 12 warns falsely (-Wrestrict) under ASan
  } else {
    append_escaped(escaped_path, path, Escape::path);
  }
  if (!escaped_path.empty() && escaped_path[0] != '/' && !host.empty()) {
    out += '/';
  }
  if (out.empty()) {
    // A first path segment with a colon would read as a scheme.
    std::string_view segment = std::string_view(escaped_path).substr(0, escaped_path.find('/'));
    if (segment.find(':') != std::string_view::npos) {
      out += "./";
    }
  }
  out += escaped_path;

  // Query: params overlaid with the `__param_<k>` labels, sorted by key.
  auto l = labels.params.begin();
  auto l_end = labels.params.end();
  auto p = params.begin();
  bool first = true;
  while (l != l_end || p != params.end()) {
    std::string_view key = l != l_end ? l->first : "";
    if (p == params.end() || (l != l_end && key < std::string_view(p->first))) {
      append_query_pair(out, key, l->second, first); // a label without a job param
      ++l;
    } else if (l == l_end || std::string_view(p->first) < key) {
      for (const std::string& value : p->second) {
        append_query_pair(out, p->first, value, first);
      }
      ++p;
    } else { // the label replaces the first value
      append_query_pair(out, key, l->second, first);
      for (size_t i = 1; i < p->second.size(); ++i) {
        append_query_pair(out, key, p->second[i], first);
      }
      ++l;
      ++p;
    }
  }
  return out;
}

} // namespace

std::string scrape_url(const model::Labels& labels, const std::map<std::string, std::vector<std::string>>& params) {
  UrlLabels parts;
  for (const auto& [name, value] : labels) {
    parts.add(name, value);
  }
  return render_url(parts, params);
}

std::string scrape_url(const model::PackedLabels& labels,
                       const std::map<std::string, std::vector<std::string>>& params) {
  UrlLabels parts;
  labels.for_each([&](std::string_view name, std::string_view value) { parts.add(name, value); });
  return render_url(parts, params);
}

model::Labels public_labels(const model::Labels& labels) {
  model::Labels out;
  for (const auto& [name, value] : labels) {
    if (!util::starts_with(name, "__")) {
      out.set(name, value);
    }
  }
  return out;
}

} // namespace sdscope::scrape
