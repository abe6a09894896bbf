#pragma once

// Spreading independent work over the machine's cores.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace sdscope::util {

// Calls fn(i) for every i in [0, n), on up to one thread per core (the
// calling thread included); returns when all calls have. fn must be safe to
// call concurrently for different i. Small n runs inline.
template <class Fn> void parallel_for(size_t n, Fn fn, size_t min_per_thread = 1) {
  size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), n / std::max<size_t>(min_per_thread, 1));
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) {
      fn(i);
    }
    return;
  }
  std::atomic<size_t> next = 0;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      fn(i);
    }
  };
  std::vector<std::jthread> helpers;
  for (size_t t = 1; t < threads; ++t) {
    helpers.emplace_back(work);
  }
  work();
}

} // namespace sdscope::util
