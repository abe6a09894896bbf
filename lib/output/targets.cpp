#include "output/targets.h"

#include <algorithm>
#include <array>
#include <thread>

#include <fmt/format.h>

#include "output/writer.h"
#include "relabel/rule.h"
#include "util/parallel.h"

namespace sdscope::output {

namespace {

void write_labels(DocumentWriter& w, const model::Labels& labels) {
  w.begin_object();
  for (const auto& [name, value] : labels) {
    w.key(name);
    w.string(value);
  }
  w.end_object();
}

// The rule that dropped a target, as rules count (from 1, null entries
// excluded), with its action and place.
struct DroppedBy {
  int number = 0;
  const relabel::Rule* rule = nullptr;
};

DroppedBy dropped_by(const config::ScrapeConfig& job, int index) {
  int seen = -1;
  for (const auto& r : job.relabel_configs) {
    if (r && ++seen == index) {
      return {index + 1, &*r};
    }
  }
  return {index + 1, nullptr};
}

bool serves(const discovery::ProviderStatus& p, const std::string& job) {
  return std::find(p.jobs.begin(), p.jobs.end(), job) != p.jobs.end();
}

enum class Kind { active, dropped, failed };

// One entry of activeTargets, droppedTargets or failedTargets.
void write_target(DocumentWriter& w, const scrape::JobTargets& job, const scrape::JobTarget& t, Kind kind) {
  w.begin_object();
  w.key("discoveredLabels");
  w.begin_object();
  job.for_each_discovered(t, [&](std::string_view name, std::string_view value) {
    w.key(name);
    w.string(value);
  });
  w.end_object();
  std::string_view interval;
  std::string_view timeout;
  if (kind == Kind::active) {
    w.key("labels");
    w.begin_object();
    t.labels.for_each([&](std::string_view name, std::string_view value) {
      if (!name.starts_with("__")) {
        w.key(name);
        w.string(value);
      } else if (name == "__scrape_interval__") {
        interval = value;
      } else if (name == "__scrape_timeout__") {
        timeout = value;
      }
    });
    w.end_object();
  }
  w.key("scrapePool");
  w.string(job.job->job_name);
  if (kind == Kind::active) {
    w.key("scrapeUrl");
    w.string(job.url(t));
    w.key("scrapeInterval");
    w.string(interval);
    w.key("scrapeTimeout");
    w.string(timeout);
  }
  w.key("source");
  w.string(job.source(t));
  if (kind == Kind::dropped) {
    DroppedBy by = dropped_by(*job.job, t.dropped_by);
    w.key("droppedBy");
    w.begin_object();
    w.key("rule");
    w.number(by.number);
    if (by.rule != nullptr) {
      w.key("action");
      w.string(relabel::action_name(by.rule->action.value));
      w.key("file");
      w.string(job.job->file);
      w.key("line");
      w.number(by.rule->line);
    }
    w.end_object();
  } else if (kind == Kind::failed) {
    w.key("error");
    w.string(*t.error);
  }
  w.end_object();
}

// Writes element i of the current container with write_one(writer, i) for
// every i in [0, n). Many are formatted in batches on every core and
// appended in order, a round of batches at a time to keep the memory small.
template <class WriteOne> void write_elements(DocumentWriter& w, size_t n, WriteOne write_one) {
  constexpr size_t k_batch = 512;
  std::vector<std::string> buffers(2 * std::max(1u, std::thread::hardware_concurrency()));
  if (n < 2 * k_batch || w.element_writer(buffers[0], false) == nullptr) {
    for (size_t i = 0; i < n; ++i) {
      write_one(w, i);
    }
    return;
  }
  size_t batches = (n + k_batch - 1) / k_batch;
  for (size_t first = 0; first < batches; first += buffers.size()) {
    size_t count = std::min(buffers.size(), batches - first);
    util::parallel_for(count, [&](size_t b) {
      buffers[b].clear();
      std::unique_ptr<DocumentWriter> writer = w.element_writer(buffers[b], first + b > 0);
      for (size_t i = (first + b) * k_batch; i < std::min(n, (first + b + 1) * k_batch); ++i) {
        write_one(*writer, i);
      }
    });
    for (size_t b = 0; b < count; ++b) {
      w.append_elements(buffers[b]);
    }
  }
}

void write_targets_document(DocumentWriter& w, const TargetsReport& report) {
  w.begin_object();
  auto list = [&](std::string_view key, Kind kind, std::vector<scrape::JobTarget> scrape::JobTargets::*targets) {
    w.key(key);
    w.begin_array();
    for (const scrape::JobTargets& job : report.jobs) {
      const std::vector<scrape::JobTarget>& of_job = job.*targets;
      write_elements(w, of_job.size(),
                     [&](DocumentWriter& to, size_t i) { write_target(to, job, of_job[i], kind); });
    }
    w.end_array();
  };
  list("activeTargets", Kind::active, &scrape::JobTargets::active);
  list("droppedTargets", Kind::dropped, &scrape::JobTargets::dropped);
  list("failedTargets", Kind::failed, &scrape::JobTargets::failed);
  w.key("jobs");
  w.begin_array();
  for (const scrape::JobTargets& job : report.jobs) {
    w.begin_object();
    w.key("name");
    w.string(job.job->job_name);
    w.key("active");
    w.number(static_cast<int64_t>(job.active.size()));
    w.key("dropped");
    w.number(static_cast<int64_t>(job.dropped.size()));
    w.key("failed");
    w.number(static_cast<int64_t>(job.failed.size()));
    w.key("duplicatesMerged");
    w.number(static_cast<int64_t>(job.duplicates_merged));
    w.key("providers");
    w.begin_array();
    for (const discovery::ProviderStatus& p : report.providers) {
      if (serves(p, job.job->job_name)) {
        w.begin_object();
        w.key("name");
        w.string(p.name);
        w.key("synced");
        w.boolean(p.synced);
        w.key("error");
        w.string(p.error);
        w.key("targets");
        w.number(static_cast<int64_t>(p.targets));
        w.end_object();
      }
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  w.finish();
}

void write_groups_document(DocumentWriter& w, const TargetsReport& report) {
  w.begin_array();
  for (const scrape::JobTargets& job : report.jobs) {
    auto it = report.groups.find(job.job->job_name);
    for (size_t i = 0; it != report.groups.end() && i < it->second.size(); ++i) {
      const discovery::ProvidedGroup& g = it->second[i];
      w.begin_object();
      w.key("job");
      w.string(job.job->job_name);
      w.key("provider");
      w.string(g.provider);
      w.key("source");
      w.string(g.group->source);
      w.key("labels");
      write_labels(w, g.group->labels);
      w.key("targets");
      w.begin_array();
      for (const model::Labels& t : g.group->targets) {
        write_labels(w, t);
      }
      w.end_array();
      w.end_object();
    }
  }
  w.end_array();
  w.finish();
}

// Each target as file_sd would give it back: its address as the target and
// every other label (group and target ones) as group labels; neighbours
// with equal labels share one group.
void write_file_sd_document(DocumentWriter& w, const TargetsReport& report) {
  w.begin_array();
  bool open = false;
  model::Labels previous;
  auto close_group = [&] {
    if (open) {
      w.end_array();
      if (!previous.empty()) {
        w.key("labels");
        write_labels(w, previous);
      }
      w.end_object();
    }
  };
  for (const scrape::JobTargets& job : report.jobs) {
    auto it = report.groups.find(job.job->job_name);
    for (size_t i = 0; it != report.groups.end() && i < it->second.size(); ++i) {
      const model::TargetGroup& g = *it->second[i].group;
      for (const model::Labels& t : g.targets) {
        model::Labels labels = g.labels;
        for (const auto& [name, value] : t) {
          labels.set(name, value);
        }
        std::string address(labels.get("__address__"));
        labels.erase("__address__");
        if (!open || labels != previous) {
          close_group();
          w.begin_object();
          w.key("targets");
          w.begin_array();
          open = true;
          previous = std::move(labels);
        }
        w.string(address);
      }
    }
  }
  close_group();
  w.end_array();
  w.finish();
}

// Cuts s to width columns (counting UTF-8 code points), marking the cut.
std::string fit(const std::string& s, size_t width) {
  size_t columns = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++columns > width) {
      return width == 0 ? "" : fit(s, width - 1) + "…";
    }
  }
  return s;
}

class TableWriter {
public:
  TableWriter(std::ostream& out, const TableStyle& style) : m_out(out), m_style(style) {}

  void write(const TargetsReport& report) {
    bool first = true;
    for (const scrape::JobTargets& job : report.jobs) {
      if (!first) {
        m_out << '\n';
      }
      first = false;
      header(job, report.providers);
      rows(job);
    }
  }

private:
  std::string paint(std::string_view code, const std::string& text) const {
    return m_style.color ? fmt::format("\033[{}m{}\033[0m", code, text) : text;
  }

  void header(const scrape::JobTargets& job, const std::vector<discovery::ProviderStatus>& providers) {
    std::string line = fmt::format("{} {} active, {} dropped", paint("1", job.job->job_name), job.active.size(),
                                   job.dropped.size());
    if (!job.failed.empty()) {
      line += fmt::format(", {}", paint("31", fmt::format("{} failed", job.failed.size())));
    }
    if (job.duplicates_merged > 0) {
      line += fmt::format(" ({} duplicate{} merged)", job.duplicates_merged, job.duplicates_merged == 1 ? "" : "s");
    }
    std::vector<std::string> states;
    for (const discovery::ProviderStatus& p : providers) {
      if (!serves(p, job.job->job_name)) {
        continue;
      }
      std::string state = !p.synced ? paint("33", "pending") : p.error.empty() ? "ok" : paint("31", "failing");
      states.push_back(fmt::format("{} {}", p.name, state));
    }
    m_out << line << "  [" << fmt::format("{}", fmt::join(states, ", ")) << "]\n";
    for (const discovery::ProviderStatus& p : providers) {
      if (!p.error.empty() && serves(p, job.job->job_name)) {
        m_out << "  " << paint("31", fit(fmt::format("{}: {}", p.name, p.error), width(2))) << '\n';
      }
    }
  }

  size_t width(size_t used) const {
    return m_style.width == 0 ? std::string::npos : (m_style.width > used + 10 ? m_style.width - used : 10);
  }

  void rows(const scrape::JobTargets& job) {
    std::vector<std::array<std::string, 3>> table;
    for (const scrape::JobTarget& t : job.active) {
      std::string labels;
      t.labels.for_each([&](std::string_view name, std::string_view value) {
        if (!name.starts_with("__") && name != "instance" && name != "job") {
          labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : " ", name, value);
        }
      });
      table.push_back({std::string(t.labels.get("instance")), job.url(t), std::move(labels)});
    }
    if (m_style.dropped) {
      for (const scrape::JobTarget& t : job.dropped) {
        DroppedBy by = dropped_by(*job.job, t.dropped_by);
        std::string why = fmt::format("by rule {}", by.number);
        if (by.rule != nullptr) {
          why += fmt::format(" ({}) at {}:{}", relabel::action_name(by.rule->action.value), job.job->file,
                             by.rule->line);
        }
        table.push_back({std::string(job.discovered(t).get("__address__")), "(dropped)", std::move(why)});
      }
      for (const scrape::JobTarget& t : job.failed) {
        table.push_back({std::string(job.discovered(t).get("__address__")), "(failed)", *t.error});
      }
    }
    if (table.empty()) {
      return;
    }
    size_t w0 = 8;
    size_t w1 = 10;
    for (const auto& row : table) {
      w0 = std::max(w0, row[0].size());
      w1 = std::max(w1, row[1].size());
    }
    m_out << "  " << paint("2", fmt::format("{:<{}}  {:<{}}  {}", "INSTANCE", w0, "SCRAPE URL", w1, "LABELS")) << '\n';
    size_t active = job.active.size();
    for (size_t i = 0; i < table.size(); ++i) {
      const auto& row = table[i];
      std::string line = fit(fmt::format("{:<{}}  {:<{}}  {}", row[0], w0, row[1], w1, row[2]), width(2));
      m_out << "  " << (i < active ? line : paint("2", line)) << '\n';
    }
  }

  std::ostream& m_out;
  const TableStyle& m_style;
};

} // namespace

void write_targets(std::ostream& out, const TargetsReport& report, TargetFormat format, const TableStyle& style) {
  switch (format) {
  case TargetFormat::json:
    write_targets_document(*json_writer(out), report);
    break;
  case TargetFormat::yaml:
    write_targets_document(*yaml_writer(out), report);
    break;
  case TargetFormat::groups:
    write_groups_document(*json_writer(out), report);
    break;
  case TargetFormat::file_sd:
    write_file_sd_document(*json_writer(out), report);
    break;
  case TargetFormat::table:
    TableWriter(out, style).write(report);
    break;
  }
}

} // namespace sdscope::output
