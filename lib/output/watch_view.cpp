#include "output/watch_view.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::output {

namespace {

// The key a CSI or SS3 sequence names by its parameters and final byte.
KeyCode sequence_key(std::string_view params, char final) {
  switch (final) {
  case 'A': return KeyCode::up;
  case 'B': return KeyCode::down;
  case 'C': return KeyCode::right;
  case 'D': return KeyCode::left;
  case 'H': return KeyCode::home;
  case 'F': return KeyCode::end;
  case '~':
    if (params == "5") {
      return KeyCode::page_up;
    }
    if (params == "6") {
      return KeyCode::page_down;
    }
    if (params == "1" || params == "7") {
      return KeyCode::home;
    }
    if (params == "4" || params == "8") {
      return KeyCode::end;
    }
    return KeyCode::other;
  default: return KeyCode::other;
  }
}

constexpr size_t k_page = 10; // rows moved by PageUp/PageDown

size_t list_size(const WatchUi& ui, const scrape::WatchSnapshot& snapshot) {
  if (!ui.job) {
    return snapshot.jobs.size();
  }
  for (const scrape::JobChurn& job : snapshot.jobs) {
    if (job.job == *ui.job) {
      return visible_targets(job, ui).size();
    }
  }
  return 0;
}

// Moves the selection by delta rows (clamped to the list).
KeyAction move(WatchUi& ui, const scrape::WatchSnapshot& snapshot, long delta) {
  size_t n = list_size(ui, snapshot);
  size_t& selected = ui.job ? ui.selected_target : ui.selected_job;
  size_t old = std::min(selected, n == 0 ? 0 : n - 1);
  long target = std::clamp(static_cast<long>(old) + delta, 0L, std::max(0L, static_cast<long>(n) - 1));
  selected = static_cast<size_t>(target);
  return selected == old ? KeyAction::none : KeyAction::redraw;
}

KeyAction open(WatchUi& ui, const scrape::WatchSnapshot& snapshot) {
  if (ui.job || ui.selected_job >= snapshot.jobs.size()) {
    return KeyAction::none;
  }
  ui.job = snapshot.jobs[ui.selected_job].job;
  ui.selected_target = 0;
  ui.scroll = 0;
  return KeyAction::redraw;
}

KeyAction back(WatchUi& ui, const scrape::WatchSnapshot& snapshot) {
  if (ui.help) {
    ui.help = false;
    return KeyAction::redraw;
  }
  if (!ui.job) {
    return KeyAction::none;
  }
  for (size_t i = 0; i < snapshot.jobs.size(); ++i) {
    if (snapshot.jobs[i].job == *ui.job) {
      ui.selected_job = i;
    }
  }
  ui.job.reset();
  ui.scroll = 0;
  return KeyAction::redraw;
}

KeyAction filter_key(WatchUi& ui, const Key& key) {
  switch (key.code) {
  case KeyCode::character: ui.input += key.text; return KeyAction::redraw;
  case KeyCode::backspace:
    // Drop the last character, not just its last byte.
    while (!ui.input.empty() && (static_cast<unsigned char>(ui.input.back()) & 0xC0) == 0x80) {
      ui.input.pop_back();
    }
    if (!ui.input.empty()) {
      ui.input.pop_back();
    }
    return KeyAction::redraw;
  case KeyCode::kill_line:
    ui.input.clear();
    return KeyAction::redraw;
  case KeyCode::escape:
    ui.typing = false;
    ui.input.clear();
    ui.error.clear();
    return KeyAction::redraw;
  case KeyCode::enter: {
    Result<LabelSelector> parsed = LabelSelector::parse(ui.input);
    if (!parsed) {
      ui.error = parsed.error();
      return KeyAction::redraw;
    }
    ui.filter = std::move(*parsed);
    ui.filter_text = ui.filter.empty() ? "" : ui.input;
    ui.typing = false;
    ui.input.clear();
    ui.error.clear();
    ui.selected_target = 0;
    ui.scroll = 0;
    return KeyAction::redraw;
  }
  default: return KeyAction::none;
  }
}

// Keys that are letters in the overview and the job view.
KeyAction letter_key(WatchUi& ui, std::string_view c, const scrape::WatchSnapshot& snapshot) {
  if (c == "q") {
    return KeyAction::quit;
  }
  if (c == "?") {
    ui.help = !ui.help;
    return KeyAction::redraw;
  }
  if (c == "/") {
    ui.typing = true;
    ui.input = ui.filter_text;
    return KeyAction::redraw;
  }
  if (c == "d") {
    ui.show_dropped = !ui.show_dropped;
    return KeyAction::redraw;
  }
  if (c == "j") {
    return move(ui, snapshot, 1);
  }
  if (c == "k") {
    return move(ui, snapshot, -1);
  }
  if (c == "g") {
    return move(ui, snapshot, -static_cast<long>(list_size(ui, snapshot)));
  }
  if (c == "G") {
    return move(ui, snapshot, static_cast<long>(list_size(ui, snapshot)));
  }
  if (c == "l") {
    return open(ui, snapshot);
  }
  if (c == "h") {
    return back(ui, snapshot);
  }
  return KeyAction::none;
}

} // namespace

std::vector<Key> decode_keys(std::string_view bytes) {
  std::vector<Key> keys;
  for (size_t i = 0; i < bytes.size();) {
    char c = bytes[i];
    if (c == '\033') {
      if (i + 2 < bytes.size() && (bytes[i + 1] == '[' || bytes[i + 1] == 'O')) {
        size_t end = i + 2;
        while (end < bytes.size() && bytes[end] >= 0x20 && bytes[end] <= 0x3F) {
          ++end; // parameter and intermediate bytes
        }
        if (end == bytes.size()) {
          break; // a sequence cut short: nothing to act on
        }
        keys.push_back({sequence_key(bytes.substr(i + 2, end - i - 2), bytes[end]), ""});
        i = end + 1;
        continue;
      }
      keys.push_back({KeyCode::escape, ""}); // alone, or Alt with a key: the key follows
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      keys.push_back({KeyCode::enter, ""});
    } else if (c == 0x7F || c == '\b') {
      keys.push_back({KeyCode::backspace, ""});
    } else if (c == 0x15) {
      keys.push_back({KeyCode::kill_line, ""});
    } else if (static_cast<unsigned char>(c) < 0x20) {
      keys.push_back({KeyCode::other, ""});
    } else {
      char32_t rune = 0;
      size_t len = util::utf8_sequence(bytes, i, rune);
      if (len == 0) {
        ++i; // not UTF-8: ignored
        continue;
      }
      keys.push_back({KeyCode::character, std::string(bytes.substr(i, len))});
      i += len;
      continue;
    }
    ++i;
  }
  return keys;
}

KeyAction handle_key(WatchUi& ui, const Key& key, const scrape::WatchSnapshot& snapshot) {
  if (ui.typing) {
    return filter_key(ui, key);
  }
  switch (key.code) {
  case KeyCode::character: return letter_key(ui, key.text, snapshot);
  case KeyCode::up: return move(ui, snapshot, -1);
  case KeyCode::down: return move(ui, snapshot, 1);
  case KeyCode::page_up: return move(ui, snapshot, -static_cast<long>(k_page));
  case KeyCode::page_down: return move(ui, snapshot, static_cast<long>(k_page));
  case KeyCode::home: return move(ui, snapshot, -static_cast<long>(list_size(ui, snapshot)));
  case KeyCode::end: return move(ui, snapshot, static_cast<long>(list_size(ui, snapshot)));
  case KeyCode::enter:
  case KeyCode::right: return open(ui, snapshot);
  case KeyCode::escape:
  case KeyCode::backspace:
  case KeyCode::left: return back(ui, snapshot);
  case KeyCode::kill_line:
  case KeyCode::other: return KeyAction::none;
  }
  return KeyAction::none;
}

std::vector<const scrape::WatchedTarget*> visible_targets(const scrape::JobChurn& job, const WatchUi& ui) {
  std::vector<const scrape::WatchedTarget*> out;
  for (const scrape::WatchedTarget& t : job.targets) {
    if (t.dropped && !ui.show_dropped) {
      continue;
    }
    if (ui.filter.empty() || ui.filter.matches(t.dropped ? t.discovered : t.labels)) {
      out.push_back(&t);
    }
  }
  return out;
}

namespace {

using std::chrono::seconds;

// The age of t in the unit the view shows it in, rounded down.
struct Age {
  seconds unit;
  long count;
  char suffix;
};

Age age_of(scrape::WallClock::time_point t, scrape::WallClock::time_point now) {
  long s = std::max(0L, static_cast<long>(std::chrono::floor<seconds>(now - t).count()));
  if (s < 60) {
    return {seconds(1), s, 's'};
  }
  if (s < 3600) {
    return {seconds(60), s / 60, 'm'};
  }
  if (s < 48 * 3600) {
    return {seconds(3600), s / 3600, 'h'};
  }
  return {seconds(86400), s / 86400, 'd'};
}

} // namespace

std::string time_ago(scrape::WallClock::time_point t, scrape::WallClock::time_point now) {
  Age age = age_of(t, now);
  if (age.count == 0) {
    return "now";
  }
  return fmt::format("{}{} ago", age.count, age.suffix);
}

std::chrono::milliseconds until_tick(const scrape::WatchSnapshot& snapshot, scrape::WallClock::time_point now) {
  std::chrono::milliseconds soonest = std::chrono::hours(1);
  auto consider = [&](scrape::WallClock::time_point t) {
    if (t == scrape::WallClock::time_point{}) {
      return;
    }
    Age age = age_of(t, now);
    scrape::WallClock::time_point next = t + age.unit * (age.count + 1);
    if (t > now) {
      next = t + seconds(1); // the clock went back: "now" until a second after t
    }
    soonest = std::min(soonest, std::chrono::ceil<std::chrono::milliseconds>(next - now));
  };
  consider(snapshot.time);
  for (const scrape::JobChurn& job : snapshot.jobs) {
    if (job.last_change) {
      consider(*job.last_change);
    }
  }
  for (const scrape::TargetChange& event : snapshot.events) {
    consider(event.time);
  }
  return std::max(soonest, std::chrono::milliseconds(1));
}

} // namespace sdscope::output
