#include "config/config.h"

#include <cerrno>
#include <cstring>
#include <glob.h>
#include <unistd.h>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "util/strings.h"
#include "yaml/visit.h"

namespace sdscope::config {

namespace {

// ^[^*]*(\*[^/]*)?$ : no '/' after the first '*' (only the last path
// element may hold wildcards).
bool valid_file_pattern(std::string_view p) {
  size_t star = p.find('*');
  return star == std::string_view::npos || p.find('/', star) == std::string_view::npos;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash == 0 ? 1 : slash);
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') {
    return path;
  }
  char buffer[4096];
  std::string cwd = getcwd(buffer, sizeof buffer) != nullptr ? buffer : ".";
  return yaml::join_dir(cwd, path);
}

// A Go filepath.Glob pattern is malformed when a '[' class is not closed.
bool malformed_glob(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
    } else if (p[i] == '[') {
      size_t close = p.find(']', i + 2);
      if (close == std::string_view::npos) {
        return true;
      }
      i = close;
    }
  }
  return false;
}

// The contents of a file named by scrape_config_files.
struct ScrapeConfigsFile {
  static constexpr std::string_view k_go_type = "config.ScrapeConfigs";
  std::vector<yaml::Box<ScrapeConfig>> scrape_configs;
  template <class V> void fields(V& v) { v("scrape_configs", scrape_configs); }
};

template <class T> bool decode_file(const std::string& path, const std::string& text, T& out,
                                    yaml::Diagnostics& diagnostics, yaml::Stage syntax_stage) {
  auto doc = yaml::Document::parse(text);
  if (!doc) {
    diagnostics.error(path, doc.error().mark, doc.error().message, syntax_stage);
    return false;
  }
  yaml::Decoder decoder(diagnostics, path);
  decoder.decode(doc->root(), out);
  return true;
}

// Checks ScrapeConfig.Validate(global) and duplicate names for the jobs of
// one file, in file order, recording where each name was first seen.
// Consumed jobs passed Validate(global) when they were consumed.
void validate_jobs(std::vector<yaml::Box<ScrapeConfig>>& jobs, const std::vector<ConsumedJob>& consumed,
                   const GlobalConfig& global, std::map<std::string, std::string>& first_seen,
                   const std::string& origin, const std::string& file, yaml::Diagnostics& diagnostics,
                   yaml::Stage stage) {
  auto check_name = [&](const std::string& name, yaml::Mark mark) {
    auto [it, inserted] = first_seen.emplace(name, origin);
    if (!inserted) {
      std::string message = fmt::format("found multiple scrape configs with job name {}", util::go_quote(name));
      if (stage == yaml::Stage::include) {
        message += ", first found in " + it->second;
      }
      diagnostics.error(file, mark, message, stage);
    }
  };
  auto next_consumed = consumed.begin();
  for (auto& job : jobs) {
    for (; next_consumed != consumed.end() && job && next_consumed->mark < job->mark; ++next_consumed) {
      check_name(next_consumed->job_name, next_consumed->mark);
    }
    if (!job) {
      diagnostics.error(file, {}, "empty or null scrape config section", stage);
      continue;
    }
    if (std::string message = job->apply_global(global); !message.empty()) {
      diagnostics.error(file, job->mark, message, stage);
    }
    check_name(job->job_name, job->mark);
  }
  for (; next_consumed != consumed.end(); ++next_consumed) {
    check_name(next_consumed->job_name, next_consumed->mark);
  }
}

void load_scrape_config_files(Config& config, yaml::Diagnostics& diagnostics, const std::string& main_file) {
  std::map<std::string, std::string> first_seen;
  for (const auto& job : config.scrape_configs) {
    if (job) {
      first_seen.emplace(job->job_name, "main config file");
    }
  }
  for (const ConsumedJob& job : config.consumed_jobs) {
    first_seen.emplace(job.job_name, "main config file");
  }
  for (const std::string& pattern : config.scrape_config_files) {
    if (malformed_glob(pattern)) {
      diagnostics.error(main_file, {},
                        fmt::format("error retrieving scrape config files for {}: syntax error in pattern",
                                    util::go_quote(pattern)),
                        yaml::Stage::include);
      continue;
    }
    glob_t matches{};
    if (glob(pattern.c_str(), GLOB_PERIOD, nullptr, &matches) == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) {
        std::string file = matches.gl_pathv[i];
        std::string text;
        if (!util::read_file(file, text)) {
          diagnostics.error(file, {}, fmt::format("{}: {}", util::go_quote(absolute(file)), std::strerror(errno)),
                            yaml::Stage::include);
          continue;
        }
        ScrapeConfigsFile included;
        if (!decode_file(file, text, included, diagnostics, yaml::Stage::include)) {
          continue;
        }
        validate_jobs(included.scrape_configs, {}, config.global, first_seen, util::go_quote(absolute(file)), file,
                      diagnostics, yaml::Stage::include);
        yaml::PathJoiner joiner(dir_of(file));
        for (auto& job : included.scrape_configs) {
          if (job) {
            yaml::walk(joiner, *job);
            config.scrape_configs.push_back(std::move(job));
          }
        }
      }
    }
    globfree(&matches);
  }
}

} // namespace

void Config::validate(yaml::Checker& c) {
  if (global.is_zero()) {
    global = GlobalConfig::defaults();
  }
  auto check_patterns = [&](std::string_view key, const std::vector<std::string>& patterns, std::string_view what) {
    yaml::Node list = c.field(key);
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (!valid_file_pattern(patterns[i])) {
        c.decoder().error(list.element(i), fmt::format("invalid {} path {}", what, util::go_quote(patterns[i])),
                          yaml::Stage::file);
        return false;
      }
    }
    return true;
  };
  if (!check_patterns("rule_files", rule_files, "rule file") ||
      !check_patterns("scrape_config_files", scrape_config_files, "scrape config file")) {
    return;
  }
  std::map<std::string, std::string> first_seen;
  validate_jobs(scrape_configs, consumed_jobs, global, first_seen, "main config file", c.decoder().file(), c.decoder().diagnostics(),
                yaml::Stage::file);

  auto check_remote = [&](std::string_view key, auto& list, std::string_view null_message, std::string_view kind) {
    yaml::Node nodes = c.field(key);
    std::map<std::string, bool> names;
    for (size_t i = 0; i < list.size(); ++i) {
      yaml::Node at = nodes.is_sequence() && i < nodes.size() ? nodes.element(i) : c.node();
      if (!list[i]) {
        c.decoder().error(at, std::string(null_message), yaml::Stage::file);
        return;
      }
      const std::string& name = list[i]->name;
      if (!name.empty() && !names.emplace(name, true).second) {
        c.decoder().error(at, fmt::format("found multiple remote {} configs with job name {}", kind, util::go_quote(name)),
                          yaml::Stage::file);
        return;
      }
    }
  };
  check_remote("remote_write", remote_write, "empty or null remote write config section", "write");
  check_remote("remote_read", remote_read, "empty or null remote read config section", "read");
}

namespace {

// The global section as Config::validate settles it, or nullopt if it has
// an error (then nothing is consumed early).
std::optional<GlobalConfig> decode_global(yaml::Node node, const std::string& name) {
  yaml::Diagnostics scratch;
  yaml::Decoder decoder(scratch, name);
  GlobalConfig global;
  decoder.decode(node, global);
  if (scratch.error_count() != 0) {
    return std::nullopt;
  }
  return global.is_zero() ? GlobalConfig::defaults() : global;
}

// Hands a cleanly decoded job to LoadOptions::consume_job and returns what
// validate_jobs needs of it, or nullopt if it fails Validate(global): then
// it stays in the config and is reported after the document is decoded.
std::optional<ConsumedJob> consume(ScrapeConfig& job, const GlobalConfig& global, const std::string& dir,
                                   const LoadOptions& options) {
  if (!job.apply_global(global).empty()) {
    return std::nullopt;
  }
  yaml::PathJoiner joiner(dir);
  yaml::walk(joiner, job);
  options.consume_job(job);
  return ConsumedJob{std::move(job.job_name), job.mark};
}

// Parses and decodes a config. The jobs of scrape_configs are decoded as
// soon as each is parsed, and their YAML nodes dropped: on a config of
// thousands of jobs, the tree of one job is in memory at a time.
Config parse_and_decode(std::istream& input, const std::string& name, yaml::Diagnostics& diagnostics,
                        const LoadOptions& options) {
  Config config;
  yaml::Decoder decoder(diagnostics, name);
  std::optional<GlobalConfig> global_first;
  yaml::Document::StreamedList list;
  list.key = "scrape_configs";
  if (options.consume_job) {
    list.on_preceding = [&](yaml::Node key, yaml::Node value) {
      if (key.text() == "global") {
        global_first = decode_global(value, name);
      }
    };
  }
  list.on_element = [&](yaml::Node node) {
    uint32_t slot = decoder.decode_ahead<yaml::Box<ScrapeConfig>>(node);
    if (global_first) {
      if (auto* job = decoder.decoded_cleanly<yaml::Box<ScrapeConfig>>(slot); job && *job) {
        if (auto consumed = consume(**job, *global_first, dir_of(name), options)) {
          config.consumed_jobs.push_back(std::move(*consumed));
          decoder.leave_out(slot);
        }
      }
    }
    return slot;
  };
  auto doc = yaml::Document::parse(input, list);
  if (!doc) {
    diagnostics.error(name, doc.error().mark, doc.error().message);
    return config;
  }
  decoder.decode(doc->root(), config);
  return config;
}

} // namespace

Config load_text(std::string_view text, const std::string& name, yaml::Diagnostics& diagnostics,
                 const LoadOptions& options) {
  std::istringstream input{std::string(text)};
  return parse_and_decode(input, name, diagnostics, options);
}

Result<Config> load(const std::string& path, yaml::Diagnostics& diagnostics, const LoadOptions& options) {
  // Read as a stream: the file's text is never held in memory as a whole.
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    return fail(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  Config config = parse_and_decode(input, path, diagnostics, options);
  yaml::PathJoiner joiner(dir_of(path));
  yaml::walk(joiner, config);
  if (diagnostics.error_count() == 0) {
    load_scrape_config_files(config, diagnostics, path);
  }
  return config;
}

size_t job_count(const Config& config) { return jobs(config).size() + config.consumed_jobs.size(); }

std::vector<const ScrapeConfig*> jobs(const Config& config) {
  std::vector<const ScrapeConfig*> out;
  for (const auto& job : config.scrape_configs) {
    if (job) {
      out.push_back(&*job);
    }
  }
  return out;
}

} // namespace sdscope::config
