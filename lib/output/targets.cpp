#include "output/targets.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/emitter.h>

#include "relabel/rule.h"

namespace sdscope::output {

namespace {

using Json = nlohmann::ordered_json;

Json label_object(const model::Labels& labels) {
  Json out = Json::object();
  for (const auto& [name, value] : labels) {
    out[name] = value;
  }
  return out;
}

Json public_label_object(const model::Labels& labels) {
  Json out = Json::object();
  for (const auto& [name, value] : labels) {
    if (!name.starts_with("__")) {
      out[name] = value;
    }
  }
  return out;
}

// The rule that dropped a target: its number (1-based), action and place.
Json dropped_by(const config::ScrapeConfig& job, int index) {
  const relabel::Rule* rule = nullptr;
  int seen = -1;
  for (const auto& r : job.relabel_configs) {
    if (r && ++seen == index) {
      rule = &*r;
      break;
    }
  }
  Json out = Json::object();
  out["rule"] = index + 1;
  if (rule != nullptr) {
    out["action"] = std::string(relabel::action_name(rule->action.value));
    out["file"] = job.file;
    out["line"] = rule->line;
  }
  return out;
}

Json targets_document(const TargetsReport& report) {
  Json active = Json::array();
  Json dropped = Json::array();
  Json failed = Json::array();
  Json jobs = Json::array();
  for (const scrape::JobTargets& job : report.jobs) {
    const std::string& pool = job.job->job_name;
    for (const scrape::JobTarget& t : job.active) {
      Json entry = Json::object();
      entry["discoveredLabels"] = label_object(t.target.discovered);
      entry["labels"] = public_label_object(t.target.labels);
      entry["scrapePool"] = pool;
      entry["scrapeUrl"] = t.url;
      entry["scrapeInterval"] = std::string(t.target.labels.get("__scrape_interval__"));
      entry["scrapeTimeout"] = std::string(t.target.labels.get("__scrape_timeout__"));
      entry["source"] = t.source;
      active.push_back(std::move(entry));
    }
    for (const scrape::JobTarget& t : job.dropped) {
      Json entry = Json::object();
      entry["discoveredLabels"] = label_object(t.target.discovered);
      entry["scrapePool"] = pool;
      entry["source"] = t.source;
      entry["droppedBy"] = dropped_by(*job.job, t.target.dropped_by);
      dropped.push_back(std::move(entry));
    }
    for (const scrape::JobTarget& t : job.failed) {
      Json entry = Json::object();
      entry["discoveredLabels"] = label_object(t.target.discovered);
      entry["scrapePool"] = pool;
      entry["source"] = t.source;
      entry["error"] = t.target.error;
      failed.push_back(std::move(entry));
    }
    Json providers = Json::array();
    for (const discovery::ProviderStatus& p : report.providers) {
      if (std::find(p.jobs.begin(), p.jobs.end(), pool) != p.jobs.end()) {
        providers.push_back({{"name", p.name}, {"synced", p.synced}, {"error", p.error}, {"targets", p.targets}});
      }
    }
    jobs.push_back({{"name", pool},
                    {"active", job.active.size()},
                    {"dropped", job.dropped.size()},
                    {"failed", job.failed.size()},
                    {"duplicatesMerged", job.duplicates_merged},
                    {"providers", std::move(providers)}});
  }
  Json doc = Json::object();
  doc["activeTargets"] = std::move(active);
  doc["droppedTargets"] = std::move(dropped);
  doc["failedTargets"] = std::move(failed);
  doc["jobs"] = std::move(jobs);
  return doc;
}

Json groups_document(const TargetsReport& report) {
  Json out = Json::array();
  for (const scrape::JobTargets& job : report.jobs) {
    auto it = report.groups.find(job.job->job_name);
    if (it == report.groups.end()) {
      continue;
    }
    for (const discovery::ProvidedGroup& g : it->second) {
      Json targets = Json::array();
      for (const model::Labels& t : g.group.targets) {
        targets.push_back(label_object(t));
      }
      out.push_back({{"job", job.job->job_name},
                     {"provider", g.provider},
                     {"source", g.group.source},
                     {"labels", label_object(g.group.labels)},
                     {"targets", std::move(targets)}});
    }
  }
  return out;
}

// Each target as file_sd would give it back: its address as the target and
// every other label (group and target ones) as group labels; neighbours
// with equal labels share one group.
Json file_sd_document(const TargetsReport& report) {
  Json out = Json::array();
  model::Labels previous;
  for (const scrape::JobTargets& job : report.jobs) {
    auto it = report.groups.find(job.job->job_name);
    if (it == report.groups.end()) {
      continue;
    }
    for (const discovery::ProvidedGroup& g : it->second) {
      for (const model::Labels& t : g.group.targets) {
        model::Labels labels = g.group.labels;
        for (const auto& [name, value] : t) {
          labels.set(name, value);
        }
        std::string address(labels.get("__address__"));
        labels.erase("__address__");
        if (!out.empty() && labels == previous) {
          out.back()["targets"].push_back(address);
          continue;
        }
        Json group = {{"targets", Json::array({address})}};
        if (!labels.empty()) {
          group["labels"] = label_object(labels);
        }
        out.push_back(std::move(group));
        previous = std::move(labels);
      }
    }
  }
  return out;
}

// Invalid UTF-8 (possible in labels an API sent) is replaced, not fatal.
std::string dump(const Json& document) { return document.dump(2, ' ', false, Json::error_handler_t::replace); }

void emit_yaml(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      emit_yaml(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const Json& item : value) {
      emit_yaml(out, item);
    }
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else {
    out << value.dump();
  }
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
      if (std::find(p.jobs.begin(), p.jobs.end(), job.job->job_name) == p.jobs.end()) {
        continue;
      }
      std::string state = !p.synced ? paint("33", "pending") : p.error.empty() ? "ok" : paint("31", "failing");
      states.push_back(fmt::format("{} {}", p.name, state));
    }
    m_out << line << "  [" << fmt::format("{}", fmt::join(states, ", ")) << "]\n";
    for (const discovery::ProviderStatus& p : providers) {
      if (!p.error.empty() && std::find(p.jobs.begin(), p.jobs.end(), job.job->job_name) != p.jobs.end()) {
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
      std::vector<std::string> labels;
      for (const auto& [name, value] : t.target.labels) {
        if (!name.starts_with("__") && name != "instance" && name != "job") {
          labels.push_back(fmt::format("{}=\"{}\"", name, value));
        }
      }
      table.push_back({std::string(t.target.labels.get("instance")), t.url, fmt::format("{}", fmt::join(labels, " "))});
    }
    if (m_style.dropped) {
      for (const scrape::JobTarget& t : job.dropped) {
        Json by = dropped_by(*job.job, t.target.dropped_by);
        std::string where = by.contains("file") ? fmt::format(" at {}:{}", by["file"].get<std::string>(),
                                                              by["line"].get<uint32_t>())
                                                : "";
        std::string action = by.contains("action") ? by["action"].get<std::string>() : "";
        table.push_back({std::string(t.target.discovered.get("__address__")), "(dropped)",
                         fmt::format("by rule {} ({}){}", t.target.dropped_by + 1, action, where)});
      }
      for (const scrape::JobTarget& t : job.failed) {
        table.push_back({std::string(t.target.discovered.get("__address__")), "(failed)", t.target.error});
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
    out << dump(targets_document(report)) << '\n';
    break;
  case TargetFormat::yaml: {
    YAML::Emitter emitter;
    emit_yaml(emitter, targets_document(report));
    out << emitter.c_str() << '\n';
    break;
  }
  case TargetFormat::groups:
    out << dump(groups_document(report)) << '\n';
    break;
  case TargetFormat::file_sd:
    out << dump(file_sd_document(report)) << '\n';
    break;
  case TargetFormat::table:
    TableWriter(out, style).write(report);
    break;
  }
}

} // namespace sdscope::output
