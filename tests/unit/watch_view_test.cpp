#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "output/label_matcher.h"
#include "output/watch_view.h"
#include "util/text_width.h"

using namespace sdscope;
using output::Key;
using output::KeyAction;
using output::KeyCode;
using std::chrono::seconds;

namespace {

const scrape::WallClock::time_point k_now{seconds(1'700'000'000)};

scrape::WatchedTarget active(std::string instance, std::string env, std::vector<std::string> changed = {}) {
  scrape::WatchedTarget t;
  t.labels = {{"env", env}, {"instance", instance}, {"job", "node"}};
  t.discovered = {{"__address__", instance}, {"env", env}};
  t.scrape_url = "http://" + instance + "/metrics";
  t.changed_labels = std::move(changed);
  return t;
}

// Three jobs: node (two active targets, one dropped, a label just changed),
// api (its http_sd failing) and web (its dns_sd still syncing).
scrape::WatchSnapshot snapshot() {
  scrape::WatchSnapshot s;
  s.time = k_now - seconds(2);
  scrape::JobChurn node;
  node.job = "node";
  node.active = 2;
  node.dropped = 1;
  node.added = 1;
  node.added_last_minute = 3;
  node.removed_last_minute = 1;
  node.active_history = {0, 1, 1, 2, 3, 3, 2, 2};
  node.last_change = k_now - seconds(12);
  node.targets.push_back(active("127.0.0.1:9100", "prod"));
  node.targets.push_back(active("127.0.0.2:9100", "staging", {"env"}));
  scrape::WatchedTarget dropped;
  dropped.dropped = true;
  dropped.discovered = {{"__address__", "127.0.0.3:9100"}, {"__meta_filepath", "/sd/node.json"}};
  node.targets.push_back(dropped);
  scrape::JobChurn api;
  api.job = "api";
  api.active_history = {0, 0, 0};
  scrape::JobChurn web;
  web.job = "web";
  s.jobs = {node, api, web};
  s.providers = {
      {"file/0", {"node"}, true, "", 3},
      {"http/0", {"api"}, true, "Get \"http://127.0.0.1:1/sd\": connection refused", 0},
      {"dns/0", {"web"}, false, "", 0},
  };
  scrape::TargetChange changed{k_now - seconds(12), "node", scrape::ChangeKind::changed,
                               node.targets[1].labels, node.targets[0].labels, node.targets[1].discovered,
                               "http://127.0.0.2:9100/metrics"};
  changed.previous.set("instance", "127.0.0.2:9100");
  scrape::TargetChange added{k_now - seconds(12), "node", scrape::ChangeKind::added, node.targets[0].labels, {},
                             node.targets[0].discovered, "http://127.0.0.1:9100/metrics"};
  scrape::TargetChange removed{k_now - seconds(75), "node", scrape::ChangeKind::removed,
                               {{"env", "prod"}, {"instance", "127.0.0.4:9100"}, {"job", "node"}}, {}, {},
                               "http://127.0.0.4:9100/metrics"};
  s.events = {changed, added, removed};
  return s;
}

std::string screen(const scrape::WatchSnapshot& s, output::WatchUi& ui, size_t width, size_t height,
                   bool color = false) {
  std::vector<std::string> lines = output::render(s, ui, width, height, k_now, color);
  CHECK(lines.size() == height);
  std::string out;
  for (const std::string& line : lines) {
    if (!color) {
      CHECK_MESSAGE(util::display_width(line) <= width, line);
    }
    out += line + "\n";
  }
  return out;
}

// Compares a screen with testdata/golden/watch/<name>.txt;
// UPDATE_GOLDEN=1 rewrites the file instead.
void check_golden(const std::string& got, const std::string& name) {
  std::string path = std::string(SDSCOPE_SOURCE_DIR) + "/testdata/golden/watch/" + name + ".txt";
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream(path) << got;
    return;
  }
  std::ifstream in(path);
  std::stringstream want;
  want << in.rdbuf();
  CHECK_MESSAGE(got == want.str(), name, ":\n", got);
}

Key ch(std::string_view c) { return {KeyCode::character, std::string(c)}; }

void type(output::WatchUi& ui, std::string_view text, const scrape::WatchSnapshot& s) {
  for (const Key& k : output::decode_keys(text)) {
    output::handle_key(ui, k, s);
  }
}

} // namespace

TEST_SUITE("watch view") {
  TEST_CASE("overview: a row per job, events, status line") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    check_golden(screen(s, ui, 110, 14), "overview");
  }

  TEST_CASE("job view: targets with the changed labels marked, its events") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    CHECK(output::handle_key(ui, {KeyCode::enter, ""}, s) == KeyAction::redraw);
    REQUIRE(ui.job == "node");
    check_golden(screen(s, ui, 110, 14), "job");
    CHECK(output::handle_key(ui, ch("j"), s) == KeyAction::redraw);
    CHECK(output::handle_key(ui, ch("j"), s) == KeyAction::none); // the dropped one is hidden
    CHECK(ui.selected_target == 1);
  }

  TEST_CASE("d shows dropped targets with their discovered labels") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    type(ui, "\rd", s);
    CHECK(ui.show_dropped);
    type(ui, "\033[B\033[B", s);
    CHECK(ui.selected_target == 2);
    check_golden(screen(s, ui, 110, 14), "job_dropped");
    type(ui, "d", s);
    screen(s, ui, 110, 14);
    CHECK(ui.selected_target == 1); // clamped to the targets left
  }

  TEST_CASE("a filter narrows targets and events; the overview counts matches") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    type(ui, "/", s);
    CHECK(ui.typing);
    type(ui, R"(instance=~"127\\.0\\.0\\.2:.*")", s);
    check_golden(screen(s, ui, 110, 14), "filter_typing");
    type(ui, "\r", s);
    CHECK(!ui.typing);
    CHECK(ui.filter_text == R"(instance=~"127\\.0\\.0\\.2:.*")");
    check_golden(screen(s, ui, 110, 14), "filter_overview");
    type(ui, "\r", s);
    check_golden(screen(s, ui, 110, 14), "filter_job");
    // Editing starts from the filter in use; an empty one removes it.
    type(ui, "/", s);
    CHECK(ui.input == ui.filter_text);
    type(ui, "\x7f", s);
    CHECK(ui.input == R"(instance=~"127\\.0\\.0\\.2:.*)");
    type(ui, "\x15\r", s); // Ctrl-U
    CHECK(!ui.typing);
    CHECK(ui.filter.empty());
    CHECK(ui.filter_text.empty());
  }

  TEST_CASE("a bad filter is an error in the status line and changes nothing") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    type(ui, R"(/env=~"prod"/instance="x)" "\r", s);
    CHECK(ui.typing);
    CHECK(ui.filter.empty());
    std::vector<std::string> lines = output::render(s, ui, 110, 14, k_now, false);
    CHECK(lines.back() == R"(filter: env=~"prod"/instance="x_  bad filter: col 12: expected "," between matchers)");
    type(ui, "\033", s); // Esc cancels
    CHECK(!ui.typing);
    CHECK(ui.error.empty());
    type(ui, R"(/env=~"(")" "\r", s);
    CHECK(ui.error == "col 6: error parsing regexp: missing closing ): `^(?:()$`");
  }

  TEST_CASE("narrow and short screens drop columns and panes, never overflow") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    check_golden(screen(s, ui, 40, 9), "narrow_overview");
    type(ui, "\r", s);
    check_golden(screen(s, ui, 40, 9), "narrow_job");
    for (size_t width : {1, 2, 5, 13, 30, 61, 79}) {
      for (size_t height : {0, 1, 3, 7, 12, 30}) {
        screen(s, ui, width, height);
        type(ui, "\033", s);
        screen(s, ui, width, height);
        type(ui, "\r", s);
      }
    }
  }

  TEST_CASE("? shows the help line") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    type(ui, "?", s);
    CHECK(output::render(s, ui, 200, 14, k_now, false).back().starts_with("↑/k ↓/j PgUp PgDn g/G: move"));
    type(ui, "\033", s);
    CHECK(!ui.help);
  }

  TEST_CASE("colour: SGR codes that take no columns, changed labels bold yellow") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    type(ui, "\r", s);
    std::vector<std::string> lines = output::render(s, ui, 110, 14, k_now, true);
    CHECK(lines[3].starts_with("\033[7m>")); // the selected row in reverse video
    CHECK(lines[4].find("\033[1;33menv=\"staging\"\033[0m") != std::string::npos);
    CHECK(lines[4].find('*') == std::string::npos);
    CHECK(lines[1].find("\033[32mok\033[0m") != std::string::npos);
  }

  TEST_CASE("keys: moving stops at the ends, back keeps the job selected, q quits") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    CHECK(output::handle_key(ui, {KeyCode::up, ""}, s) == KeyAction::none);
    CHECK(output::handle_key(ui, {KeyCode::end, ""}, s) == KeyAction::redraw);
    CHECK(ui.selected_job == 2);
    CHECK(output::handle_key(ui, ch("j"), s) == KeyAction::none);
    CHECK(output::handle_key(ui, ch("k"), s) == KeyAction::redraw);
    CHECK(output::handle_key(ui, ch("l"), s) == KeyAction::redraw);
    CHECK(ui.job == "api");
    CHECK(output::handle_key(ui, {KeyCode::backspace, ""}, s) == KeyAction::redraw);
    CHECK(!ui.job);
    CHECK(ui.selected_job == 1);
    CHECK(output::handle_key(ui, {KeyCode::escape, ""}, s) == KeyAction::none);
    CHECK(output::handle_key(ui, ch("x"), s) == KeyAction::none);
    CHECK(output::handle_key(ui, ch("q"), s) == KeyAction::quit);
    // While typing a filter, q is a letter.
    type(ui, "/", s);
    CHECK(output::handle_key(ui, ch("q"), s) == KeyAction::redraw);
    CHECK(ui.input == "q");
  }

  TEST_CASE("an opened job that a reload removed falls back to the overview") {
    scrape::WatchSnapshot s = snapshot();
    output::WatchUi ui;
    ui.job = "gone";
    ui.selected_job = 7;
    screen(s, ui, 80, 12);
    CHECK(!ui.job);
    CHECK(ui.selected_job == 2);
  }

  TEST_CASE("the list scrolls to keep the selection in view") {
    scrape::WatchSnapshot s = snapshot();
    for (int i = 0; i < 20; ++i) {
      s.jobs.push_back(s.jobs[1]);
      s.jobs.back().job = fmt::format("extra{:02}", i);
    }
    output::WatchUi ui;
    type(ui, "G", s);
    std::vector<std::string> lines = output::render(s, ui, 80, 12, k_now, false);
    CHECK(lines[2 + 4].starts_with("> extra19")); // 12 lines: 2 above, 5 rows, 4 events, status
    CHECK(lines[2].starts_with("  extra15"));
    type(ui, "g", s);
    lines = output::render(s, ui, 80, 12, k_now, false);
    CHECK(lines[2].starts_with("> node"));
  }

  TEST_CASE("decode_keys: arrows in both modes, paging, Enter, Backspace, Esc, UTF-8") {
    auto codes = [](std::string_view bytes) {
      std::vector<std::string> out;
      for (const Key& k : output::decode_keys(bytes)) {
        out.push_back(k.code == KeyCode::character ? k.text : std::to_string(static_cast<int>(k.code)));
      }
      return out;
    };
    using V = std::vector<std::string>;
    auto code = [](KeyCode c) { return std::to_string(static_cast<int>(c)); };
    CHECK(codes("\033[A\033OB\033[C\033[D") == V{code(KeyCode::up), code(KeyCode::down), code(KeyCode::right),
                                                  code(KeyCode::left)});
    CHECK(codes("\033[5~\033[6~\033[H\033[4~") ==
          V{code(KeyCode::page_up), code(KeyCode::page_down), code(KeyCode::home), code(KeyCode::end)});
    CHECK(codes("\r\n\x7f\b\033") == V{code(KeyCode::enter), code(KeyCode::enter), code(KeyCode::backspace),
                                        code(KeyCode::backspace), code(KeyCode::escape)});
    CHECK(codes("aé€\t\xff") == V{"a", "é", "€", code(KeyCode::other)});
    CHECK(codes("\033x") == V{code(KeyCode::escape), "x"});
    CHECK(codes("\033[1;5A") == V{code(KeyCode::up)});
    CHECK(codes("\033[1;5").empty()); // cut short
  }

  TEST_CASE("relative times and when they next change") {
    using std::chrono::milliseconds;
    CHECK(output::time_ago(k_now, k_now) == "now");
    CHECK(output::time_ago(k_now + seconds(5), k_now) == "now");
    CHECK(output::time_ago(k_now - milliseconds(59'999), k_now) == "59s ago");
    CHECK(output::time_ago(k_now - seconds(60), k_now) == "1m ago");
    CHECK(output::time_ago(k_now - seconds(3 * 3600 + 5), k_now) == "3h ago");
    CHECK(output::time_ago(k_now - seconds(47 * 3600 + 3599), k_now) == "47h ago");
    CHECK(output::time_ago(k_now - seconds(49 * 3600), k_now) == "2d ago");

    scrape::WatchSnapshot s;
    CHECK(output::until_tick(s, k_now) == std::chrono::hours(1)); // nothing relative shown
    s.time = k_now - milliseconds(2'300);
    CHECK(output::until_tick(s, k_now) == milliseconds(700));
    s.time = k_now - seconds(90);
    CHECK(output::until_tick(s, k_now) == seconds(30));
    scrape::JobChurn job;
    job.last_change = k_now - milliseconds(100);
    s.jobs.push_back(job);
    CHECK(output::until_tick(s, k_now) == milliseconds(900));
    s.jobs[0].last_change = k_now + seconds(3); // the clock went back
    CHECK(output::until_tick(s, k_now) == seconds(4));
  }
}

TEST_SUITE("label matcher") {
  TEST_CASE("the four operators, anchored regexes, absent labels as empty") {
    model::Labels labels{{"env", "prod"}, {"instance", "10.0.0.1:9100"}};
    auto matches = [&](std::string_view text) {
      Result<output::LabelSelector> s = output::LabelSelector::parse(text);
      REQUIRE_MESSAGE(s, text, ": ", s.error());
      return s->matches(labels);
    };
    CHECK(matches(""));
    CHECK(matches("{}"));
    CHECK(matches(R"(env="prod")"));
    CHECK(!matches(R"(env="pro")"));
    CHECK(matches(R"(env!="dev")"));
    CHECK(matches(R"(instance=~"10\\..*")"));
    CHECK(!matches(R"(instance=~"0\\..*")")); // anchored: no match in the middle
    CHECK(!matches(R"(instance=~"10\\.0")"));
    CHECK(matches(R"(instance!~"11\\..*")"));
    CHECK(matches(R"({ env = "prod" , instance=~`10\..*`, })"));
    CHECK(!matches(R"(env="prod",instance="x")"));
    CHECK(matches(R"(zone="")"));
    CHECK(!matches(R"(zone!="")"));
    CHECK(matches(R"(zone=~".*")"));
    CHECK(matches(R"(env='prod')"));
    CHECK(matches(R"(env=~"p\x72\u006fd|dev")"));
  }

  TEST_CASE("Go string escapes") {
    auto value = [](std::string_view quoted) {
      Result<output::LabelSelector> s = output::LabelSelector::parse(fmt::format("a={}", quoted));
      REQUIRE_MESSAGE(s, quoted, ": ", s.error());
      return s->matchers().at(0).value;
    };
    CHECK(value(R"("a\"b\\c\n\t")") == "a\"b\\c\n\t");
    CHECK(value(R"('it\'s')") == "it's");
    CHECK(value(R"("\101\x42\u00e9\U0001F600")") == "AB\u00e9\U0001F600");
    CHECK(value(R"(`raw\n`)") == "raw\\n");
  }

  TEST_CASE("errors name the column") {
    auto error = [](std::string_view text) {
      Result<output::LabelSelector> s = output::LabelSelector::parse(text);
      REQUIRE(!s);
      return s.error();
    };
    CHECK(error("1a=\"x\"") == "col 1: expected a label name");
    CHECK(error("env") == R"(col 4: expected "=", "!=", "=~" or "!~" after env)");
    CHECK(error("env!x") == R"(col 5: expected "!=" or "!~")");
    CHECK(error("env=prod") == "col 5: expected a quoted value");
    CHECK(error("env=\"prod") == "col 10: unterminated quoted string");
    CHECK(error(R"(env="\q")") == R"(col 6: unknown escape sequence \q)");
    CHECK(error(R"(env="\400")") == "col 6: octal escape out of range");
    CHECK(error(R"(env="\uD800")") == "col 6: escape sequence is invalid Unicode code point");
    CHECK(error(R"(env="\x4")") == "col 6: invalid hexadecimal escape");
    CHECK(error(R"({env="a")") == R"(col 9: expected "," or "}")");
    CHECK(error(R"(env="a" b="c")") == R"(col 9: expected "," between matchers)");
    CHECK(error(R"(env=~"a(")") == "col 6: error parsing regexp: missing closing ): `^(?:a()$`");
  }
}

TEST_SUITE("util") {
  TEST_CASE("display width: wide, combining and invalid characters") {
    CHECK(util::display_width("abc") == 3);
    CHECK(util::display_width("é") == 1);
    CHECK(util::display_width("e\u0301") == 1);
    CHECK(util::display_width("日本") == 4);
    CHECK(util::display_width("\U0001F600") == 2);
    CHECK(util::display_width("▁█…") == 3);
    CHECK(util::display_width("\xff\xfe") == 2);
  }
}
