// Rendering the watch view (declared in watch_view.h): the overview (one
// row per job) or one job's targets, the events pane and the status line.
#include <algorithm>

#include <fmt/format.h>

#include "output/screen_line.h"
#include "output/watch_view.h"
#include "util/strings.h"
#include "util/text_width.h"

namespace sdscope::output {

namespace {

// SGR codes.
constexpr std::string_view k_bold = "1";
constexpr std::string_view k_dim = "2";
constexpr std::string_view k_reverse = "7";
constexpr std::string_view k_red = "31";
constexpr std::string_view k_green = "32";
constexpr std::string_view k_yellow = "33";
constexpr std::string_view k_magenta = "35";
constexpr std::string_view k_changed = "1;33";

std::string sparkline(const std::vector<size_t>& history, size_t width) {
  static constexpr std::string_view k_bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  size_t from = history.size() > width ? history.size() - width : 0;
  size_t top = 0;
  for (size_t i = from; i < history.size(); ++i) {
    top = std::max(top, history[i]);
  }
  std::string out;
  for (size_t i = from; i < history.size(); ++i) {
    out += k_bars[top == 0 ? 0 : (history[i] * 7 + top / 2) / top];
  }
  return out;
}

struct Styled {
  std::string text;
  std::string_view style;
};

bool serves(const discovery::ProviderStatus& p, std::string_view job) {
  return std::find(p.jobs.begin(), p.jobs.end(), job) != p.jobs.end();
}

Styled provider_state(const discovery::ProviderStatus& p) {
  if (!p.synced) {
    return {"syncing", k_yellow};
  }
  if (!p.error.empty()) {
    return {"failing: " + p.error, k_red};
  }
  return {"ok", k_green};
}

// A job's providers in one word: failing (the first failing one, with its
// error) beats syncing, which beats ok.
Styled job_state(const scrape::WatchSnapshot& snapshot, std::string_view job) {
  bool syncing = false;
  for (const discovery::ProviderStatus& p : snapshot.providers) {
    if (!serves(p, job)) {
      continue;
    }
    if (p.synced && !p.error.empty()) {
      return {fmt::format("failing: {}: {}", p.name, p.error), k_red};
    }
    syncing = syncing || !p.synced;
  }
  return syncing ? Styled{"syncing", k_yellow} : Styled{"ok", k_green};
}

std::string last_change(const scrape::JobChurn& job, scrape::WallClock::time_point now) {
  return job.last_change ? time_ago(*job.last_change, now) : "never";
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// name="value" for each label but skip, those in changed highlighted (bold
// yellow, or a leading "*" without colour).
void add_labels(Line& line, const model::Labels& labels, std::string_view skip,
                const std::vector<std::string>& changed, bool color) {
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (name == skip) {
      continue;
    }
    line.spaces(first ? 0 : 1);
    first = false;
    bool highlight = contains(changed, name);
    if (highlight && !color) {
      line.add("*");
    }
    line.add(fmt::format("{}={}", name, util::go_quote(value)), highlight ? k_changed : "");
  }
}

// Moves scroll so that row selected of n is among the rows shown.
void keep_in_view(size_t& scroll, size_t selected, size_t n, size_t rows) {
  if (selected < scroll) {
    scroll = selected;
  }
  if (rows > 0 && selected >= scroll + rows) {
    scroll = selected - rows + 1;
  }
  scroll = std::min(scroll, n > rows ? n - rows : 0);
}

// Everything render needs, shared by the parts of the screen.
struct Frame {
  const scrape::WatchSnapshot& snapshot;
  WatchUi& ui;
  size_t width;
  scrape::WallClock::time_point now;
  bool color;
  std::vector<std::string> lines;

  Line line(std::string_view base = {}) const { return Line(width, color, base); }
  void push(Line& l) { lines.push_back(l.finish()); }
  void pad_to(size_t count) { lines.resize(std::max(lines.size(), count)); }
};

void title(Frame& f, Line& l) {
  l.add("sdscope watch", k_bold);
  if (f.ui.job) {
    l.add(" › ").add(*f.ui.job, k_bold);
  }
}

void updated(Frame& f, Line& l) {
  if (f.snapshot.time == scrape::WallClock::time_point{}) {
    l.spaces(2).add("waiting for discovery", k_yellow);
  } else {
    l.spaces(2).add("updated " + time_ago(f.snapshot.time, f.now));
  }
  if (!f.snapshot.reload_message.empty()) {
    l.spaces(2).add(f.snapshot.reload_message, f.snapshot.reload_failed ? k_red : k_green);
  }
}

struct Column {
  std::string_view header;
  bool right = false;
  int priority = 0; // columns go, highest first, when the screen is too narrow
  std::vector<Styled> cells;
  size_t width = 0;
};

std::vector<Column> overview_columns(const Frame& f) {
  Column job{"JOB", false, 0, {}}, active{"ACTIVE", true, 0, {}}, dropped{"DROPPED", true, 1, {}};
  Column matching{"MATCHING", true, 1, {}}, failed{"FAILED", true, 5, {}};
  Column update{"UPDATE", false, 2, {}}, minute{"LAST MIN", false, 4, {}}, history{"HISTORY", false, 6, {}};
  Column change{"LAST CHANGE", true, 3, {}}, state{"PROVIDERS", false, 0, {}};
  bool any_failed = false;
  for (const scrape::JobChurn& j : f.snapshot.jobs) {
    job.cells.push_back({j.job, {}});
    active.cells.push_back({std::to_string(j.active), {}});
    dropped.cells.push_back({std::to_string(j.dropped), {}});
    matching.cells.push_back({std::to_string(visible_targets(j, f.ui).size()), {}});
    failed.cells.push_back({std::to_string(j.failed), j.failed > 0 ? k_red : std::string_view()});
    any_failed = any_failed || j.failed > 0;
    update.cells.push_back({fmt::format("+{} -{}", j.added, j.removed), j.added + j.removed > 0 ? k_bold : ""});
    minute.cells.push_back({fmt::format("+{} -{}", j.added_last_minute, j.removed_last_minute), {}});
    history.cells.push_back({sparkline(j.active_history, 16), k_green});
    change.cells.push_back({last_change(j, f.now), {}});
    state.cells.push_back(job_state(f.snapshot, j.job));
  }
  std::vector<Column> columns = {std::move(job), std::move(active), std::move(dropped)};
  if (!f.ui.filter.empty()) {
    columns.push_back(std::move(matching));
  }
  if (any_failed) {
    columns.push_back(std::move(failed));
  }
  for (Column* c : {&update, &minute, &history, &change, &state}) {
    columns.push_back(std::move(*c));
  }
  for (Column& c : columns) {
    c.width = util::display_width(c.header);
    for (const Styled& s : c.cells) {
      c.width = std::max(c.width, util::display_width(s.text));
    }
  }
  // Long job names get a third of the screen at most; the providers column
  // takes what is left (it is last, so it is only cut, never padded) but
  // keeps room for "syncing" and the start of an error.
  columns.front().width = std::min(columns.front().width, std::max<size_t>(8, f.width / 3));
  columns.back().width = 12;
  return columns;
}

// The columns that fit in width, dropping those of highest priority first.
std::vector<const Column*> fitting(const std::vector<Column>& columns, size_t width) {
  std::vector<const Column*> shown;
  for (const Column& c : columns) {
    shown.push_back(&c);
  }
  auto total = [&] {
    size_t sum = 2; // the selection marker
    for (const Column* c : shown) {
      sum += c->width + 2;
    }
    return sum;
  };
  while (total() > width + 2) {
    auto worst = std::max_element(shown.begin(), shown.end(),
                                  [](const Column* a, const Column* b) { return a->priority < b->priority; });
    if ((*worst)->priority == 0) {
      break;
    }
    shown.erase(worst);
  }
  return shown;
}

void overview(Frame& f, size_t rows) {
  const std::vector<scrape::JobChurn>& jobs = f.snapshot.jobs;
  size_t active = 0, dropped = 0;
  for (const scrape::JobChurn& j : jobs) {
    active += j.active;
    dropped += j.dropped;
  }
  Line head = f.line();
  title(f, head);
  head.spaces(2).add(fmt::format("{} jobs  {} active  {} dropped", jobs.size(), active, dropped));
  updated(f, head);
  f.push(head);

  std::vector<Column> columns = overview_columns(f);
  std::vector<const Column*> shown = fitting(columns, f.width);
  Line header = f.line();
  header.spaces(2);
  for (const Column* c : shown) {
    cell(header, c->header, c == shown.back() ? 0 : c->width, c->right, k_bold);
    header.spaces(2);
  }
  f.push(header);

  size_t top = f.lines.size();
  f.ui.selected_job = std::min(f.ui.selected_job, jobs.empty() ? 0 : jobs.size() - 1);
  keep_in_view(f.ui.scroll, f.ui.selected_job, jobs.size(), rows);
  for (size_t i = f.ui.scroll; i < jobs.size() && i < f.ui.scroll + rows; ++i) {
    bool selected = i == f.ui.selected_job;
    Line row = f.line(selected ? k_reverse : "");
    row.add(selected ? ">" : " ").spaces(1);
    for (const Column* c : shown) {
      const Styled& s = c->cells[i];
      cell(row, s.text, c == shown.back() ? 0 : c->width, c->right, s.style);
      row.spaces(2);
    }
    f.push(row);
  }
  if (jobs.empty() && rows > 0) {
    Line none = f.line();
    none.spaces(2).add("(no jobs)", k_dim);
    f.push(none);
  }
  f.pad_to(top + rows);
}

void job_view(Frame& f, const scrape::JobChurn& job, size_t rows) {
  Line head = f.line();
  title(f, head);
  head.spaces(2).add(fmt::format("{} active  {} dropped", job.active, job.dropped));
  if (job.failed > 0) {
    head.spaces(2).add(fmt::format("{} failed", job.failed), k_red);
  }
  head.spaces(2).add("last change " + last_change(job, f.now));
  updated(f, head);
  f.push(head);

  Line providers = f.line();
  providers.spaces(2).add("providers:");
  bool first = true;
  for (const discovery::ProviderStatus& p : f.snapshot.providers) {
    if (serves(p, job.job)) {
      Styled state = provider_state(p);
      providers.spaces(first ? 1 : 2).add(p.name).spaces(1).add(state.text, state.style);
      first = false;
    }
  }
  f.push(providers);

  std::vector<const scrape::WatchedTarget*> targets = visible_targets(job, f.ui);
  auto instance = [](const scrape::WatchedTarget& t) {
    return std::string(t.dropped ? t.discovered.get("__address__") : t.labels.get("instance"));
  };
  size_t width = 8;
  for (const scrape::WatchedTarget* t : targets) {
    width = std::max(width, util::display_width(instance(*t)));
  }
  width = std::min(width, std::max<size_t>(12, f.width / 3));
  Line header = f.line();
  header.spaces(2);
  cell(header, "INSTANCE", width, false, k_bold);
  header.spaces(2).add("LABELS", k_bold);
  f.push(header);

  size_t top = f.lines.size();
  f.ui.selected_target = std::min(f.ui.selected_target, targets.empty() ? 0 : targets.size() - 1);
  keep_in_view(f.ui.scroll, f.ui.selected_target, targets.size(), rows);
  for (size_t i = f.ui.scroll; i < targets.size() && i < f.ui.scroll + rows; ++i) {
    const scrape::WatchedTarget& t = *targets[i];
    bool selected = i == f.ui.selected_target;
    Line row = f.line(selected ? k_reverse : "");
    row.add(selected ? ">" : " ").spaces(1);
    bool changed = contains(t.changed_labels, "instance");
    std::string shown = (changed && !f.color ? "*" : "") + instance(t);
    cell(row, shown, width, false, changed ? k_changed : "");
    row.spaces(2);
    if (t.dropped) {
      row.add("dropped", k_magenta).spaces(2);
      add_labels(row, t.discovered, "__address__", {}, f.color);
    } else {
      add_labels(row, t.labels, "instance", t.changed_labels, f.color);
    }
    f.push(row);
  }
  if (targets.empty() && rows > 0) {
    Line none = f.line();
    none.spaces(2).add(f.ui.filter.empty() ? "(no targets)" : "(no target matches the filter)", k_dim);
    f.push(none);
  }
  f.pad_to(top + rows);
}

void add_change(Line& l, const scrape::TargetChange& e, bool color) {
  static const std::vector<std::string> k_none;
  if (e.kind != scrape::ChangeKind::changed) {
    model::Labels shown = e.labels;
    if (shown.get("job") == e.job) {
      shown.erase("job"); // the job is on the line already, or the view's
    }
    add_labels(l, shown, "instance", k_none, color);
    return;
  }
  // Each label that differs: name: "old" → "new", +name="new" or -name="old".
  std::vector<std::string> names;
  for (const model::Labels* set : {&e.previous, &e.labels}) {
    for (const auto& [name, value] : *set) {
      if (e.previous.get(name) != e.labels.get(name) && !contains(names, name)) {
        names.push_back(name);
      }
    }
  }
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    std::string_view before = e.previous.get(names[i]), after = e.labels.get(names[i]);
    l.spaces(i == 0 ? 0 : 2);
    if (before.empty()) {
      l.add(fmt::format("+{}={}", names[i], util::go_quote(after)), k_changed);
    } else if (after.empty()) {
      l.add(fmt::format("-{}={}", names[i], util::go_quote(before)), k_changed);
    } else {
      l.add(fmt::format("{}: {} → {}", names[i], util::go_quote(before), util::go_quote(after)), k_changed);
    }
  }
}

void events(Frame& f, size_t rows) {
  if (rows == 0) {
    return;
  }
  size_t top = f.lines.size();
  Line head = f.line();
  head.add("── ", k_dim);
  head.add(f.ui.job ? fmt::format("events of {}, newest first", *f.ui.job) : "events, newest first", k_bold);
  head.spaces(1).fill("─", k_dim);
  f.push(head);
  size_t job_width = 0;
  for (const scrape::JobChurn& j : f.snapshot.jobs) {
    job_width = std::max(job_width, util::display_width(j.job));
  }
  job_width = std::min(job_width, std::max<size_t>(8, f.width / 4));
  for (const scrape::TargetChange& e : f.snapshot.events) {
    if (f.lines.size() == top + rows) {
      break;
    }
    if ((f.ui.job && e.job != *f.ui.job) || (!f.ui.filter.empty() && !f.ui.filter.matches(e.labels))) {
      continue;
    }
    static constexpr std::string_view k_signs[] = {"+", "-", "~"};
    static constexpr std::string_view k_sign_styles[] = {k_green, k_red, k_yellow};
    size_t kind = static_cast<size_t>(e.kind);
    Line l = f.line();
    cell(l, time_ago(e.time, f.now), 8, true, k_dim);
    l.spaces(2).add(k_signs[kind], k_sign_styles[kind]).spaces(1);
    if (!f.ui.job) {
      cell(l, e.job, job_width, false);
      l.spaces(2);
    }
    std::string_view where = e.labels.get("instance");
    l.add(where.empty() ? e.discovered.get("__address__") : where).spaces(2);
    add_change(l, e, f.color);
    f.push(l);
  }
  if (f.lines.size() == top + 1) {
    Line none = f.line();
    none.spaces(2).add("(no changes yet)", k_dim);
    f.push(none);
  }
  f.pad_to(top + rows);
}

constexpr std::string_view k_keys = "↑↓ move  ⏎ open  esc back  d dropped  / filter  ? help  q quit";
constexpr std::string_view k_help =
    "↑/k ↓/j PgUp PgDn g/G: move · Enter/l: open job · Esc/Backspace/h: back · d: show or hide dropped "
    "targets · /: filter by label matchers, e.g. instance=~\"10\\\\..*\",env!=\"dev\" (empty: no filter) · "
    "?: this help · q: quit";

void status(Frame& f) {
  Line l = f.line();
  if (f.ui.typing) {
    l.add("filter: ", k_bold).add(f.ui.input);
    if (f.color) {
      l.add(" ", k_reverse);
    } else {
      l.add("_");
    }
    if (!f.ui.error.empty()) {
      l.spaces(2).add("bad filter: " + f.ui.error, k_red);
    } else {
      l.spaces(2).add("enter apply  esc cancel", k_dim);
    }
  } else if (f.ui.help) {
    l.add(k_help);
  } else {
    if (!f.ui.filter_text.empty()) {
      l.add("filter: ", k_bold).add(f.ui.filter_text, k_yellow).spaces(2);
    }
    if (f.ui.show_dropped) {
      l.add("dropped shown", k_magenta).spaces(2);
    }
    l.add(k_keys, k_dim);
  }
  f.push(l);
}

} // namespace

std::vector<std::string> render(const scrape::WatchSnapshot& snapshot, WatchUi& ui, size_t width, size_t height,
                                scrape::WallClock::time_point now, bool color) {
  Frame f{snapshot, ui, width, now, color, {}};
  const scrape::JobChurn* job = nullptr;
  if (ui.job) {
    auto it = std::find_if(snapshot.jobs.begin(), snapshot.jobs.end(),
                           [&](const scrape::JobChurn& j) { return j.job == *ui.job; });
    if (it == snapshot.jobs.end()) {
      ui.job.reset(); // gone with a config reload
      ui.scroll = 0;
    } else {
      job = &*it;
    }
  }
  size_t fixed = (job ? 3 : 2) + 1; // the lines above the list, and the status line
  size_t events_rows = height >= 12 ? std::max<size_t>(4, (height - fixed) * 2 / 5) : height >= 8 ? 3 : 0;
  size_t rows = height > fixed + events_rows ? height - fixed - events_rows : 0;
  if (job) {
    job_view(f, *job, rows);
  } else {
    overview(f, rows);
  }
  events(f, events_rows);
  f.pad_to(height > 0 ? height - 1 : 0);
  f.lines.resize(height > 0 ? height - 1 : 0);
  if (height > 0) {
    status(f);
  }
  return std::move(f.lines);
}

} // namespace sdscope::output
