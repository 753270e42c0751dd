// Memory under a slow sink: 100 million events from a full-speed source into a sink about ten
// times slower. Credits hold the source back, so resident memory stays flat however long the
// stream: the figure is peak RSS, and the ratio of RSS at the end to RSS after the first tenth.
//
//   eddy_bench_memory [events=100000000] [threads=2]
#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

using namespace eddy;

namespace {

double rss_mb() {
  std::ifstream in{"/proc/self/status"};
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      double kb = 0;
      in >> kb;
      return kb / 1024;
    }
    std::getline(in, key);
  }
  return 0;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

struct bid {
  uint64_t auction = 0, bidder = 0, price = 0, date_time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bid& x) {
  return f(x.auction, x.bidder, x.price, x.date_time);
}

/// About ten times the work of making a bid, per bid.
struct slow_sink {
  std::shared_ptr<std::atomic<uint64_t>> seen;
  uint64_t acc = 0;
  void operator()(const bid& b) {
    auto z = b.price;
    for (int k = 0; k < 20; ++k)
      z = mix64(z + k);
    acc += z;
    seen->fetch_add(1, std::memory_order_relaxed);
  }
};

} // namespace

int main(int argc, char** argv) {
  uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000'000;
  size_t threads = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2;
  auto seen = std::make_shared<std::atomic<uint64_t>>(0);
  job j{job_config{}.with_threads(threads)};
  j.source(generator<bid>(n,
                          [](uint64_t i) {
                            return bid{i % 1000, i % 100000, i % 10000, i};
                          }))
      .name("source")
      .sink(slow_sink{seen})
      .name("slow-sink");
  double before = rss_mb();
  std::atomic<bool> done{false};
  double at_tenth = 0;
  double at_end = 0;
  std::thread monitor{[&] {
    while (!done) {
      auto s = seen->load();
      auto rss = rss_mb();
      if (at_tenth == 0 && s >= n / 10)
        at_tenth = rss;
      if (s > 0)
        at_end = rss;
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  }};
  auto report = j.run();
  done = true;
  monitor.join();
  if (!report || seen->load() != n) {
    std::fprintf(stderr, "eddy failed or lost records: %llu of %llu\n",
                 static_cast<unsigned long long>(seen->load()), static_cast<unsigned long long>(n));
    return 1;
  }
  uint64_t waited = 0;
  for (const auto& m : report->metrics)
    waited += m.credit_wait_ns;
  std::printf("memory under a slow sink: %llu events in %.1f s, %zu threads\n",
              static_cast<unsigned long long>(n), report->elapsed.count() / 1e9, threads);
  std::printf("  RSS before the job %.1f MB, after 10%% %.1f MB, at the end %.1f MB\n", before,
              at_tenth, at_end);
  std::printf("  peak RSS: %.1f MB (target < 200 MB); source waited %.1f s for credit\n",
              peak_rss_mb(), waited / 1e9);
  std::printf("  ratio RSS end / RSS after 10%%: %.2f (flat = 1.00)\n",
              at_tenth > 0 ? at_end / at_tenth : 0.0);
  return peak_rss_mb() < 200 ? 0 : 1;
}
