// Replays every fuzz corpus through its fuzzer's entry point, so the inputs
// the fuzzers found keep being run (under ASan and UBSan in CI) without
// clang or libFuzzer. The entry points are compiled renamed (tests/
// CMakeLists.txt): LLVMFuzzerTestOneInput becomes fuzz_<corpus name>.
//
//   fuzz_replay <corpus root>      each directory under it is one corpus
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

extern "C" {
int fuzz_config(const uint8_t* data, size_t size);
int fuzz_consul(const uint8_t* data, size_t size);
int fuzz_dns(const uint8_t* data, size_t size);
int fuzz_file_sd_json(const uint8_t* data, size_t size);
int fuzz_file_sd_yaml(const uint8_t* data, size_t size);
int fuzz_http_sd(const uint8_t* data, size_t size);
int fuzz_kubeconfig(const uint8_t* data, size_t size);
int fuzz_kubernetes(const uint8_t* data, size_t size);
int fuzz_xml(const uint8_t* data, size_t size);
}

namespace {

using EntryPoint = int (*)(const uint8_t*, size_t);

// The input being run, for the report of a crash: it is written from a
// signal handler, so kept as a plain C string.
char current_input[4096] = "";

void report_current_input() {
  const char prefix[] = "fuzz_replay: crashed on ";
  (void)!write(STDERR_FILENO, prefix, sizeof prefix - 1);
  (void)!write(STDERR_FILENO, current_input, std::strlen(current_input));
  (void)!write(STDERR_FILENO, "\n", 1);
}

void on_fatal_signal(int signal) {
  report_current_input();
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus root>\n", argv[0]);
    return 2;
  }
  const std::map<std::string, EntryPoint> entry_points = {
      {"config", fuzz_config},
      {"consul", fuzz_consul},
      {"dns", fuzz_dns},
      {"file_sd_json", fuzz_file_sd_json},
      {"file_sd_yaml", fuzz_file_sd_yaml},
      {"http_sd", fuzz_http_sd},
      {"kubeconfig", fuzz_kubeconfig},
      {"kubernetes", fuzz_kubernetes},
      {"xml", fuzz_xml},
  };
  // ASan reports a SEGV itself (with its stack), then calls back.
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_set_death_callback(report_current_input);
#else
  std::signal(SIGSEGV, on_fatal_signal);
#endif
  std::signal(SIGABRT, on_fatal_signal);

  std::vector<std::filesystem::path> corpora;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    corpora.push_back(entry.path());
  }
  std::sort(corpora.begin(), corpora.end());
  if (corpora.size() != entry_points.size()) {
    std::fprintf(stderr, "fuzz_replay: %zu corpora under %s for %zu fuzzers\n", corpora.size(), argv[1],
                 entry_points.size());
    return 1;
  }
  for (const auto& corpus : corpora) {
    auto entry_point = entry_points.find(corpus.filename().string());
    if (entry_point == entry_points.end()) {
      std::fprintf(stderr, "fuzz_replay: no fuzzer for corpus %s\n", corpus.c_str());
      return 1;
    }
    std::vector<std::filesystem::path> inputs;
    for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
      inputs.push_back(entry.path());
    }
    std::sort(inputs.begin(), inputs.end());
    const auto start = std::chrono::steady_clock::now();
    for (const auto& input : inputs) {
      std::snprintf(current_input, sizeof current_input, "%s", input.c_str());
      std::ifstream file(input, std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
      // An allocation of exactly the input's size, as libFuzzer makes, so
      // ASan catches a read one past its end; never null, even when empty.
      const std::unique_ptr<uint8_t[]> data(new uint8_t[bytes.size()]);
      std::memcpy(data.get(), bytes.data(), bytes.size());
      entry_point->second(data.get(), bytes.size());
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("%-13s %6zu inputs  %6.1f s\n", entry_point->first.c_str(), inputs.size(), took.count());
  }
  return 0;
}
