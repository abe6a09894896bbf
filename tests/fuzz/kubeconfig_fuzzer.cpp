// libFuzzer entry point for kubernetes_sd's kubeconfig_file: the bytes are
// written to a kubeconfig file and loaded as client-go would, with no
// in-cluster environment to fall back on.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include <unistd.h>

#include "discovery/kubernetes_kubeconfig.h"

namespace {

// One file for every input, removed when the process exits.
struct InputFile {
  std::string path = "/tmp/sdscope-kubeconfig-fuzz-" + std::to_string(getpid()) + ".yml";
  ~InputFile() { unlink(path.c_str()); }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const InputFile input;
  const std::string& path = input.path;
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return 0;
  }
  std::fwrite(data, 1, size, file);
  std::fclose(file);
  sdscope::discovery::kubernetes::InClusterEnvironment nowhere;
  nowhere.service_account_dir = "/nonexistent";
  nowhere.getenv = [](const std::string&) { return std::string(); };
  (void)sdscope::discovery::kubernetes::kubeconfig_connection(path, nowhere);
  return 0;
}
