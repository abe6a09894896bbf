#include "output/diff.h"

#include <map>

#include <fmt/format.h>

#include "output/writer.h"
#include "relabel/rule.h"
#include "util/strings.h"

namespace sdscope::output {

namespace {

using scrape::ChangedTarget;
using scrape::DiffTarget;
using scrape::DroppedTarget;
using scrape::JobDiff;
using scrape::JobStatus;

// {a="1", b="2"}, as Prometheus prints a label set.
std::string label_set(const model::Labels& labels) {
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    out += fmt::format("{}{}={}", out.size() > 1 ? ", " : "", name, util::go_quote(value));
  }
  return out + "}";
}

std::string change_text(const scrape::LabelChange& c) {
  auto value = [](const std::optional<std::string>& v) { return v ? util::go_quote(*v) : std::string("(none)"); };
  return fmt::format("{}: {} -> {}", c.name, value(c.old_value), value(c.new_value));
}

std::string dropped_why(const JobDiff& job, const DroppedTarget& d) {
  if (d.by == nullptr) {
    return "cannot be created: " + d.error;
  }
  return fmt::format("dropped by rule {} ({}) at {}:{}", d.rule + 1, relabel::action_name(d.by->action.value),
                     job.new_config->file, d.by->line);
}

std::string plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

struct MoveCounts {
  size_t added = 0, moved_in = 0, removed = 0, moved_out = 0;
};

MoveCounts move_counts(const JobDiff& job) {
  MoveCounts c;
  for (const DiffTarget& t : job.added) {
    ++(t.moved.empty() ? c.added : c.moved_in);
  }
  for (const DiffTarget& t : job.removed) {
    ++(t.moved.empty() ? c.removed : c.moved_out);
  }
  return c;
}

// "1 added, 2 removed, ..." for the kinds of target change a job has.
std::string job_counts(const JobDiff& job) {
  MoveCounts c = move_counts(job);
  std::vector<std::string> parts;
  auto part = [&](size_t n, std::string_view what) {
    if (n > 0) {
      parts.push_back(fmt::format("{} {}", n, what));
    }
  };
  part(c.added, "added");
  part(c.moved_in, "moved in");
  part(c.removed, "removed");
  part(c.moved_out, "moved out");
  part(job.changed.size(), "changed");
  part(job.dropped.size(), "newly dropped");
  return parts.empty() ? "no target changed" : fmt::format("{}", fmt::join(parts, ", "));
}

std::string job_title(const JobDiff& job) {
  if (job.status == JobStatus::renamed) {
    return fmt::format("job \"{}\" renamed from \"{}\"", job.name, job.old_name);
  }
  return fmt::format("job \"{}\" {}", job.name, scrape::status_name(job.status));
}

std::string moved_note(const DiffTarget& t, bool added) {
  return t.moved.empty() ? "" : fmt::format(" (moved {} job \"{}\")", added ? "from" : "to", t.moved);
}

// What to show of a list: everything, or the first max entries.
size_t shown(size_t size, size_t max) { return max == 0 ? size : std::min(size, max); }

class TableWriter {
public:
  TableWriter(std::ostream& out, const DiffStyle& style) : m_out(out), m_style(style) {}

  void write(const scrape::ConfigDiff& diff) {
    m_out << paint("1", summary_text(diff.summary())) << '\n';
    size_t unchanged = 0;
    for (const JobDiff& job : diff.jobs) {
      if (job.status == JobStatus::unchanged) {
        ++unchanged;
        continue;
      }
      m_out << '\n' << paint("1", job_title(job));
      if (job.status == JobStatus::not_compared) {
        m_out << paint("33", ": " + job.not_compared) << '\n';
        continue;
      }
      m_out << fmt::format(": {} -> {} active; {}\n", job.old_active, job.new_active, job_counts(job));
      list(job.removed, [&](const DiffTarget& t) {
        m_out << paint("31", fmt::format("  - {} {}{}", t.url, label_set(t.labels), moved_note(t, false))) << '\n';
      });
      list(job.added, [&](const DiffTarget& t) {
        m_out << paint("32", fmt::format("  + {} {}{}", t.url, label_set(t.labels), moved_note(t, true))) << '\n';
      });
      list(job.changed, [&](const ChangedTarget& t) {
        std::vector<std::string> changes;
        for (const scrape::LabelChange& c : t.changes) {
          changes.push_back(change_text(c));
        }
        m_out << paint("33", fmt::format("  ~ {} {}", t.url, fmt::join(changes, "; "))) << '\n';
      });
      list(job.dropped, [&](const DroppedTarget& d) {
        m_out << paint("1;31", fmt::format("  ! {} {} {}", d.url, label_set(d.labels), dropped_why(job, d))) << '\n';
      });
    }
    if (unchanged > 0) {
      m_out << '\n' << paint("2", plural(unchanged, "job unchanged", "jobs unchanged")) << '\n';
    }
  }

private:
  std::string paint(std::string_view code, const std::string& text) const {
    return m_style.color ? fmt::format("\033[{}m{}\033[0m", code, text) : text;
  }

  template <class T, class Fn> void list(const std::vector<T>& items, Fn fn) {
    size_t n = shown(items.size(), m_style.max_targets);
    for (size_t i = 0; i < n; ++i) {
      fn(items[i]);
    }
    if (n < items.size()) {
      m_out << paint("2", fmt::format("    ... and {} more (-o json lists all)", items.size() - n)) << '\n';
    }
  }

  std::ostream& m_out;
  const DiffStyle& m_style;
};

void write_labels(DocumentWriter& w, const model::Labels& labels) {
  w.begin_object();
  for (const auto& [name, value] : labels) {
    w.key(name);
    w.string(value);
  }
  w.end_object();
}

void write_json(std::ostream& out, const scrape::ConfigDiff& diff, const DiffStyle& style) {
  std::unique_ptr<DocumentWriter> writer = json_writer(out);
  DocumentWriter& w = *writer;
  scrape::DiffSummary s = diff.summary();
  w.begin_object();
  w.key("old");
  w.string(style.old_label);
  w.key("new");
  w.string(style.new_label);
  w.key("summary");
  w.begin_object();
  for (auto [name, n] : {std::pair{"jobsAdded", s.jobs_added}, {"jobsRemoved", s.jobs_removed},
                         {"jobsRenamed", s.jobs_renamed}, {"jobsChanged", s.jobs_changed},
                         {"jobsNotCompared", s.jobs_not_compared}, {"targetsAdded", s.added},
                         {"targetsRemoved", s.removed}, {"targetsMoved", s.moved}, {"targetsChanged", s.changed},
                         {"targetsDropped", s.dropped}}) {
    w.key(name);
    w.number(static_cast<int64_t>(n));
  }
  w.end_object();
  w.key("jobs");
  w.begin_array();
  for (const JobDiff& job : diff.jobs) {
    w.begin_object();
    w.key("job");
    w.string(job.name);
    w.key("oldJob");
    w.string(job.old_name);
    w.key("status");
    w.string(job.status == JobStatus::not_compared ? "notCompared" : scrape::status_name(job.status));
    if (job.status == JobStatus::not_compared) {
      w.key("reason");
      w.string(job.not_compared);
      w.end_object();
      continue;
    }
    w.key("oldActive");
    w.number(static_cast<int64_t>(job.old_active));
    w.key("newActive");
    w.number(static_cast<int64_t>(job.new_active));
    auto targets = [&](const char* key, const std::vector<DiffTarget>& list, const char* moved_key) {
      w.key(key);
      w.begin_array();
      for (const DiffTarget& t : list) {
        w.begin_object();
        w.key("scrapeUrl");
        w.string(t.url);
        w.key("labels");
        write_labels(w, t.labels);
        if (!t.moved.empty()) {
          w.key(moved_key);
          w.string(t.moved);
        }
        w.end_object();
      }
      w.end_array();
    };
    targets("added", job.added, "movedFrom");
    targets("removed", job.removed, "movedTo");
    w.key("changed");
    w.begin_array();
    for (const ChangedTarget& t : job.changed) {
      w.begin_object();
      w.key("scrapeUrl");
      w.string(t.url);
      w.key("labels");
      write_labels(w, t.labels);
      w.key("changes");
      w.begin_array();
      for (const scrape::LabelChange& c : t.changes) {
        w.begin_object();
        w.key("label");
        w.string(c.name);
        for (auto [key, value] : {std::pair{"old", &c.old_value}, {"new", &c.new_value}}) {
          if (*value) {
            w.key(key);
            w.string(**value);
          }
        }
        w.end_object();
      }
      w.end_array();
      w.end_object();
    }
    w.end_array();
    w.key("dropped");
    w.begin_array();
    for (const DroppedTarget& d : job.dropped) {
      w.begin_object();
      w.key("scrapeUrl");
      w.string(d.url);
      w.key("labels");
      write_labels(w, d.labels);
      if (d.by != nullptr) {
        w.key("droppedBy");
        w.begin_object();
        w.key("rule");
        w.number(d.rule + 1);
        w.key("action");
        w.string(relabel::action_name(d.by->action.value));
        w.key("file");
        w.string(job.new_config->file);
        w.key("line");
        w.number(d.by->line);
        w.end_object();
      } else {
        w.key("error");
        w.string(d.error);
      }
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  w.finish();
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '|':
      out += "&#124;"; // would end a table cell
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string md_code(std::string_view s) { return "<code>" + html_escape(s) + "</code>"; }

void write_markdown(std::ostream& out, const scrape::ConfigDiff& diff, const DiffStyle& style) {
  out << "### sdscope diff\n\n" << html_escape(summary_text(diff.summary()));
  if (!style.old_label.empty()) {
    out << fmt::format(" ({} → {})", md_code(style.old_label), md_code(style.new_label));
  }
  out << "\n\n";
  bool any = false;
  for (const JobDiff& job : diff.jobs) {
    if (job.status == JobStatus::unchanged) {
      continue;
    }
    if (!any) {
      out << "| Job | Change | Active targets | Added | Removed | Moved in/out | Changed | Newly dropped |\n"
             "|---|---|---:|---:|---:|---:|---:|---:|\n";
      any = true;
    }
    std::string name = md_code(job.name);
    if (job.status == JobStatus::renamed) {
      name += " (was " + md_code(job.old_name) + ")";
    }
    if (job.status == JobStatus::not_compared) {
      out << fmt::format("| {} | not compared: {} | | | | | | |\n", name, html_escape(job.not_compared));
      continue;
    }
    MoveCounts c = move_counts(job);
    out << fmt::format("| {} | {} | {} → {} | {} | {} | {}/{} | {} | {} |\n", name, scrape::status_name(job.status),
                       job.old_active, job.new_active, c.added, c.removed, c.moved_in, c.moved_out,
                       job.changed.size(), job.dropped.size());
  }
  for (const JobDiff& job : diff.jobs) {
    if (job.status == JobStatus::unchanged || job.status == JobStatus::not_compared ||
        (job.added.empty() && job.removed.empty() && job.changed.empty() && job.dropped.empty())) {
      continue;
    }
    // A fenced block shows text as is; only a line of backticks could end it.
    std::string body;
    auto list = [&](const auto& items, auto line) {
      size_t n = shown(items.size(), style.max_targets);
      for (size_t i = 0; i < n; ++i) {
        body += line(items[i]);
      }
      if (n < items.size()) {
        body += fmt::format("  ... and {} more\n", items.size() - n);
      }
    };
    list(job.removed, [](const DiffTarget& t) {
      return fmt::format("- {} {}{}\n", t.url, label_set(t.labels), moved_note(t, false));
    });
    list(job.added, [](const DiffTarget& t) {
      return fmt::format("+ {} {}{}\n", t.url, label_set(t.labels), moved_note(t, true));
    });
    list(job.changed, [](const ChangedTarget& t) {
      std::string text = fmt::format("  {}\n", t.url);
      for (const scrape::LabelChange& c : t.changes) {
        if (c.old_value) {
          text += fmt::format("-   {}={}\n", c.name, util::go_quote(*c.old_value));
        }
        if (c.new_value) {
          text += fmt::format("+   {}={}\n", c.name, util::go_quote(*c.new_value));
        }
      }
      return text;
    });
    list(job.dropped, [&](const DroppedTarget& d) {
      return fmt::format("- {} {} {}\n", d.url, label_set(d.labels), dropped_why(job, d));
    });
    out << fmt::format("\n<details><summary>{}: {}</summary>\n\n````diff\n{}````\n\n</details>\n", md_code(job.name),
                       job_counts(job), body);
  }
}

// GitHub workflow command escaping (actions/toolkit's command.ts).
std::string gh_data(std::string_view s) {
  std::string out;
  for (char c : s) {
    out += c == '%' ? "%25" : c == '\r' ? "%0D" : c == '\n' ? "%0A" : std::string(1, c);
  }
  return out;
}
std::string gh_property(std::string_view s) {
  std::string out;
  for (char c : gh_data(s)) {
    out += c == ':' ? "%3A" : c == ',' ? "%2C" : std::string(1, c);
  }
  return out;
}

void annotate(std::ostream& out, std::string_view level, const std::string& file, uint32_t line,
              const std::string& message) {
  out << "::" << level << " ";
  if (!file.empty()) {
    out << "file=" << gh_property(file) << ",";
    if (line > 0) {
      out << "line=" << line << ",";
    }
  }
  out << "title=" << gh_property("sdscope diff") << "::" << gh_data(message) << '\n';
}

void write_github(std::ostream& out, const scrape::ConfigDiff& diff) {
  for (const JobDiff& job : diff.jobs) {
    // Newly dropped targets: on the rule that drops them, or on the job
    // for targets Prometheus can no longer create.
    std::map<int, std::vector<const DroppedTarget*>> by_rule;
    for (const DroppedTarget& d : job.dropped) {
      by_rule[d.rule].push_back(&d);
    }
    for (const auto& [rule, targets] : by_rule) {
      const DroppedTarget& first = *targets.front();
      std::string what = rule < 0 ? "can no longer be created (" + first.error + ")"
                                  : fmt::format("now dropped by relabel rule {} ({})", rule + 1,
                                                relabel::action_name(first.by->action.value));
      annotate(out, "error", job.new_config->file, rule < 0 ? job.new_config->mark.line : first.by->line,
               fmt::format("job \"{}\": {} {}, e.g. {}", job.name,
                           plural(targets.size(), "scraped target is", "scraped targets are"), what, first.url));
    }
    size_t removed = 0;
    const DiffTarget* example = nullptr;
    for (const DiffTarget& t : job.removed) {
      if (t.moved.empty()) {
        example = example != nullptr ? example : &t;
        ++removed;
      }
    }
    if (removed == 0) {
      continue;
    }
    std::string message = fmt::format("job \"{}\"{}: {} no longer scraped, e.g. {}", job.name,
                                      job.new_config == nullptr ? " removed" : "",
                                      plural(removed, "target is", "targets are"), example->url);
    annotate(out, "warning", job.new_config != nullptr ? job.new_config->file : "",
             job.new_config != nullptr ? job.new_config->mark.line : 0, message);
  }
  annotate(out, "notice", "", 0, summary_text(diff.summary()));
}

} // namespace

std::string summary_text(const scrape::DiffSummary& s) {
  std::vector<std::string> jobs;
  auto part = [](std::vector<std::string>& parts, size_t n, std::string_view what) {
    if (n > 0) {
      parts.push_back(fmt::format("{} {}", n, what));
    }
  };
  part(jobs, s.jobs_changed, "changed");
  part(jobs, s.jobs_added, "added");
  part(jobs, s.jobs_removed, "removed");
  part(jobs, s.jobs_renamed, "renamed");
  std::vector<std::string> targets;
  part(targets, s.added, "added");
  part(targets, s.removed, "removed");
  part(targets, s.moved, "moved");
  part(targets, s.changed, "changed");
  part(targets, s.dropped, "newly dropped");
  std::string text = s.any() ? fmt::format("jobs: {}", fmt::join(jobs, ", ")) : "no job's targets change";
  if (!targets.empty()) {
    text += fmt::format("; targets: {}", fmt::join(targets, ", "));
  }
  if (s.jobs_not_compared > 0) {
    text += fmt::format(" ({} not compared)", plural(s.jobs_not_compared, "job", "jobs"));
  }
  return text;
}

void write_diff(std::ostream& out, const scrape::ConfigDiff& diff, DiffFormat format, const DiffStyle& style) {
  switch (format) {
  case DiffFormat::table:
    TableWriter(out, style).write(diff);
    break;
  case DiffFormat::json:
    write_json(out, diff, style);
    break;
  case DiffFormat::markdown:
    write_markdown(out, diff, style);
    break;
  case DiffFormat::github:
    write_github(out, diff);
    break;
  }
}

} // namespace sdscope::output
