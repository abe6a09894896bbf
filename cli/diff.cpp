// sdscope diff: what a config change does to every job's targets. Both
// configs share one discovery run (a provider whose config is the same in
// both runs once), then each side relabels what was discovered.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "commands.h"
#include "config/config.h"
#include "discovery/manager.h"
#include "output/diff.h"
#include "scrape/diff.h"
#include "scrape/targets.h"
#include "util/strings.h"

extern char** environ;

namespace sdscope::cli {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs argv (no shell) with its output in files of scratch: its stdout when
// it exits 0, else its stderr.
Result<std::string> run_process(const std::vector<std::string>& argv, const fs::path& scratch) {
  fs::path out = scratch / "stdout";
  fs::path err = scratch / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return fail(fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return read_file(out);
  }
  std::string text = util::trim_space(read_file(err));
  return fail(text.empty() ? fmt::format("{} failed", argv[0]) : text);
}

// The files of a git revision, extracted into a temporary directory that
// is removed with this object.
class GitTree {
public:
  GitTree() = default;
  GitTree(const GitTree&) = delete;
  GitTree& operator=(const GitTree&) = delete;
  ~GitTree() {
    if (!m_dir.empty()) {
      std::error_code ignored;
      fs::remove_all(m_dir, ignored);
    }
  }

  // Extracts the tree of ref of the repository holding path. Fails with
  // git's own words (unknown ref, not a repository).
  std::string extract(const std::string& ref, const fs::path& path) {
    std::string pattern = (fs::temp_directory_path() / "sdscope-diff-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return fmt::format("cannot create a temporary directory: {}", std::strerror(errno));
    }
    m_dir = pattern;
    Result<std::string> top =
        run_process({"git", "-C", fs::absolute(path).parent_path().string(), "rev-parse", "--show-toplevel"}, m_dir);
    if (!top) {
      return top.error();
    }
    m_toplevel = util::trim_space(*top);
    fs::path tar = m_dir / "tree.tar";
    fs::create_directory(m_dir / "tree");
    for (const auto& argv : {std::vector<std::string>{"git", "-C", m_toplevel, "archive", "--format=tar", "-o",
                                                      tar.string(), ref},
                             std::vector<std::string>{"tar", "-xf", tar.string(), "-C", (m_dir / "tree").string()}}) {
      if (Result<std::string> done = run_process(argv, m_dir); !done) {
        return done.error();
      }
    }
    return "";
  }

// Where the file at path (in the working tree) is in the extracted tree.
  fs::path locate(const fs::path& path) const {
    return m_dir / "tree" / fs::weakly_canonical(fs::absolute(path)).lexically_relative(m_toplevel);
  }

private:
  fs::path m_dir;
  std::string m_toplevel;
};

// Paths in discovered labels and sources that name files of the extracted
// tree, rewritten to name them where the working tree has them, so a
// file_sd target is the same target in both configs.
std::vector<discovery::ProvidedGroup> relocate(const std::vector<discovery::ProvidedGroup>& groups,
                                               const std::string& from, const std::string& to) {
  auto moved = [&](std::string_view s) { return s.starts_with(from); };
  auto rewrite = [&](model::Labels& labels) {
    if (std::string_view path = labels.get("__meta_filepath"); moved(path)) {
      labels.set("__meta_filepath", to + std::string(path.substr(from.size())));
    }
  };
  std::vector<discovery::ProvidedGroup> out;
  for (const discovery::ProvidedGroup& g : groups) {
    bool affected = moved(g.group->source) || moved(g.group->labels.get("__meta_filepath")) ||
                    std::any_of(g.group->targets.begin(), g.group->targets.end(),
                                [&](const model::Labels& t) { return moved(t.get("__meta_filepath")); });
    if (!affected) {
      out.push_back(g);
      continue;
    }
    auto copy = std::make_shared<model::TargetGroup>(*g.group);
    if (moved(copy->source)) {
      copy->source = to + copy->source.substr(from.size());
    }
    rewrite(copy->labels);
    for (model::Labels& t : copy->targets) {
      rewrite(t);
    }
    out.push_back({g.provider, std::move(copy)});
  }
  return out;
}

// One side of the diff: its config and the jobs it compares.
struct Side {
  std::string key; // prefixes its job names in the discovery manager
  std::optional<config::Config> config;
  std::vector<const config::ScrapeConfig*> jobs;
  std::map<std::string, std::string> not_compared; // job -> why
  std::vector<scrape::JobTargets> targets;
};

std::string manager_name(const Side& side, const std::string& job) { return side.key + '\x1f' + job; }

} // namespace

DiffCommand::DiffCommand(CLI::App& app) {
  m_command = app.add_subcommand("diff", "Show what changing a config does to every job's targets: added, removed, "
                                         "changed, moved and newly dropped targets, renamed jobs.");
  m_command->add_option("CONFIGS", m_configs,
                        "OLD NEW config files; with --old-ref, NEW alone (OLD is the same file at that revision)")
      ->required()
      ->expected(1, 2);
  m_command->add_option("--old-ref", m_old_ref, "Take the old config, and the files it names, from this git revision");
  m_command->add_option("-o,--output", m_output, "Output format: table, json, markdown, github")
      ->check(CLI::IsMember({"table", "json", "markdown", "github"}))
      ->capture_default_str();
  m_command->add_option("--fail-on", m_fail_on, "Exit 1 when such a change exists: removed, dropped, changed, any")
      ->delimiter(',')
      ->check(CLI::IsMember({"removed", "dropped", "changed", "any"}));
  m_command->add_flag("--offline", m_offline,
                      "Use only static_configs and file_sd_configs (no network); other jobs are not compared");
  m_command->add_option("--job", m_jobs, "Only this job (repeatable)");
  m_command->add_option("--timeout", m_timeout, "Longest wait for every provider's first result")
      ->capture_default_str();
  m_command->add_option("--max-targets", m_max_targets, "Targets listed per job and kind in table and markdown (0: all)")
      ->capture_default_str();
  m_command->add_option("--enable-feature", m_features, "Prometheus feature flags (no-default-scrape-port)")
      ->delimiter(',');
  m_command->add_option("--color", m_color, "Colour table output")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

int DiffCommand::run() {
  if (m_old_ref.empty() && m_configs.size() != 2) {
    std::cerr << "sdscope: diff needs OLD and NEW config files, or --old-ref REF and NEW\n";
    return 2;
  }
  std::optional<std::chrono::milliseconds> timeout = parse_timeout(m_timeout);
  if (!timeout) {
    return 2;
  }
  const std::string& new_path = m_configs.back();
  std::string old_path = m_configs.front();
  std::string old_label = old_path;
  GitTree tree;
  if (!m_old_ref.empty()) {
    if (std::string e = tree.extract(m_old_ref, old_path); !e.empty()) {
      std::cerr << fmt::format("sdscope: --old-ref {}: {}\n", m_old_ref, e);
      return 2;
    }
    old_label = m_old_ref + ":" + old_path;
    old_path = tree.locate(old_path).string();
    if (!fs::exists(old_path)) {
      std::cerr << fmt::format("sdscope: {} does not exist at {}\n", m_configs.front(), m_old_ref);
      return 2;
    }
  }

  Side sides[2];
  sides[0].key = "old";
  sides[1].key = "new";
  for (auto [side, path, label] : {std::tuple{&sides[0], old_path, old_label}, {&sides[1], new_path, new_path}}) {
    auto loaded = try_load_config(path, use_color(m_color, 2));
    if (!loaded) {
      std::string text = loaded.error().text;
      // Name the old config's files by revision, not by where they were extracted.
      for (size_t at; path != label && (at = text.find(path)) != std::string::npos;) {
        text.replace(at, path.size(), label);
      }
      std::cerr << text;
      return 2;
    }
    side->config = std::move(*loaded);
    for (const config::ScrapeConfig* job : config::jobs(*side->config)) {
      if (m_jobs.empty() || std::find(m_jobs.begin(), m_jobs.end(), job->job_name) != m_jobs.end()) {
        side->jobs.push_back(job);
      }
    }
  }
  for (const std::string& name : m_jobs) {
    auto has = [&](const Side& s) {
      return std::any_of(s.jobs.begin(), s.jobs.end(), [&](auto* j) { return j->job_name == name; });
    };
    if (!has(sides[0]) && !has(sides[1])) {
      std::cerr << fmt::format("sdscope: no job \"{}\" in {} or {}\n", name, old_label, new_path);
      return 2;
    }
  }

  // One discovery for both sides; --offline leaves out every job that
  // needs the network.
  std::vector<std::unique_ptr<discovery::SdConfig>> owned;
  std::vector<discovery::JobDiscovery> discovery;
  for (Side& side : sides) {
    std::vector<const config::ScrapeConfig*> runnable;
    for (const config::ScrapeConfig* job : side.jobs) {
      std::set<std::string> online;
      for (const auto& sd : job->sd.configs) {
        if (sd->mechanism() != "file") {
          online.insert(std::string(sd->mechanism()) + "_sd");
        }
      }
      if (m_offline && !online.empty()) {
        side.not_compared[job->job_name] = fmt::format("--offline, and it uses {}", fmt::join(online, ", "));
      } else {
        runnable.push_back(job);
      }
    }
    for (discovery::JobDiscovery& d : scrape::discovery_of(runnable, owned)) {
      d.job = manager_name(side, d.job);
      discovery.push_back(std::move(d));
    }
  }
  discovery::Manager manager(discoverer_options_from_environment());
  manager.start(discovery);
  manager.wait_synced(discovery::Manager::Clock::now() + *timeout);
  std::map<std::string, std::vector<discovery::ProvidedGroup>> groups = manager.groups();
  std::vector<discovery::ProviderStatus> providers = manager.providers();
  manager.stop();

  // A job whose discovery failed or is still pending is not compared: its
  // targets would be a guess.
  for (const discovery::ProviderStatus& p : providers) {
    if (p.synced && p.error.empty()) {
      continue;
    }
    std::string why = p.synced ? fmt::format("{} failed: {}", p.name, p.error)
                               : fmt::format("{} has not delivered its first result after {}", p.name, m_timeout);
    std::cerr << "sdscope: " << why << '\n';
    for (Side& side : sides) {
      for (const config::ScrapeConfig* job : side.jobs) {
        if (std::find(p.jobs.begin(), p.jobs.end(), manager_name(side, job->job_name)) != p.jobs.end()) {
          side.not_compared.emplace(job->job_name, why);
        }
      }
    }
  }

  scrape::PopulateOptions populate{no_default_scrape_port(m_features)};
  std::string extracted_dir = fs::path(old_path).parent_path().string() + "/";
  std::string working_dir = fs::path(m_configs.front()).parent_path().string();
  working_dir += working_dir.empty() ? "" : "/";
  std::vector<scrape::DiffJob> diff_jobs[2];
  for (int s = 0; s < 2; ++s) {
    Side& side = sides[s];
    side.targets.reserve(side.jobs.size());
    for (const config::ScrapeConfig* job : side.jobs) {
      if (side.not_compared.contains(job->job_name)) {
        diff_jobs[s].push_back({job, nullptr, side.not_compared[job->job_name]});
        continue;
      }
      std::vector<discovery::ProvidedGroup>& found = groups[manager_name(side, job->job_name)];
      if (s == 0 && !m_old_ref.empty()) {
        found = relocate(found, extracted_dir, working_dir);
      }
      side.targets.push_back(scrape::build_targets(*job, found, populate));
      diff_jobs[s].push_back({job, &side.targets.back(), ""});
    }
  }
  scrape::ConfigDiff diff = scrape::diff_targets(diff_jobs[0], diff_jobs[1]);

  output::DiffStyle style{use_color(m_color, 1), m_max_targets, old_label, new_path};
  output::write_diff(std::cout, diff, m_output == "json"       ? output::DiffFormat::json
                                      : m_output == "markdown" ? output::DiffFormat::markdown
                                      : m_output == "github"   ? output::DiffFormat::github
                                                               : output::DiffFormat::table,
                     style);
  std::cout.flush();

  scrape::DiffSummary s = diff.summary();
  auto fail_on = [&](std::string_view kind) {
    return std::find(m_fail_on.begin(), m_fail_on.end(), kind) != m_fail_on.end();
  };
  bool fail = (fail_on("removed") && s.removed > 0) || (fail_on("dropped") && s.dropped > 0) ||
              (fail_on("changed") && s.changed > 0) || (fail_on("any") && s.any());
  return fail ? 1 : 0;
}

} // namespace sdscope::cli
