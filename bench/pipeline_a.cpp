// Pipeline A of ../shared/BENCHMARKS.md (map and filter over bids), eddy against a hand-written
// single-threaded loop over the same in-memory array, in one run. The checksums of both must
// agree; with the reference size (50,000,000 events) they must also equal BENCHMARKS.md's.
//
//   eddy_bench_pipeline_a [--events 50000000] [--threads 2] [--parallelism 1] [--batch 0]
#include "cli.hpp"
#include "nexmark.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sources/container_source.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

using namespace eddy;
using eddy::bench::bid;

namespace {

/// The size BENCHMARKS.md gives checksums for.
constexpr uint64_t reference_events = 50'000'000;
constexpr uint64_t reference_count = 22'468'430;
constexpr uint64_t reference_sum = 158'184'960'225ULL;

constexpr uint64_t convert(uint64_t price) {
  return price * 908 / 1000;
}

struct totals {
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> sum{0};
};

/// Counts and sums converted prices; adds its instance's totals when the input ends.
struct count_sum_sink {
  std::shared_ptr<totals> out;
  uint64_t count = 0;
  uint64_t sum = 0;
  void operator()(const bid& b) {
    ++count;
    sum += b.price;
  }
  void finish() {
    out->count += count;
    out->sum += sum;
  }
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Pipeline A of BENCHMARKS.md (map + filter over bids): eddy against a "
               "hand-written loop in the same run"};
  uint64_t events = reference_events;
  size_t threads = 2;
  uint32_t parallelism = 1;
  size_t batch = 0;
  bench::add_pipeline_options(app, events, 10'000'000'000,
                              "bids to process (checksums are known for 50000000)", threads,
                              parallelism, "instances of every operator");
  app.add_option("--batch", batch, "records per batch (0: 512 KiB of records)")
      ->capture_default_str()
      ->check(bench::whole_number(0, 1 << 24));
  CLI11_PARSE(app, argc, argv);

  auto bids = bench::make_bids(events);

  // Baseline: the same work as one hand-written loop.
  auto t0 = std::chrono::steady_clock::now();
  uint64_t count = 0, sum = 0;
  for (const auto& b : bids) {
    auto p = convert(b.price);
    if (p > 5000) {
      ++count;
      sum += p;
    }
  }
  auto loop_s = bench::seconds_since(t0);

  auto result = std::make_shared<totals>();
  job j{job_config{}.with_threads(threads).with_parallelism(parallelism).with_batch_size(batch)};
  j.source(from_container(std::move(bids)))
      .name("source")
      .map([](const bid& b) {
        bid out = b;
        out.price = convert(b.price);
        return out;
      })
      .name("map")
      .filter([](const bid& b) { return b.price > 5000; })
      .name("filter")
      .sink(count_sum_sink{result})
      .name("sink");
  auto run = bench::timed_run(j);
  if (!run)
    return 1;
  auto& [report, eddy_s] = *run;
  bool agree = result->count == count && result->sum == sum;
  bool is_reference = events == reference_events;
  bool reference_ok = count == reference_count && sum == reference_sum;
  std::printf("pipeline A: %llu events, %zu threads, parallelism %u, batch %zu\n",
              static_cast<unsigned long long>(events), threads, parallelism,
              records_per_batch<bid>(j.config().channels));
  std::printf("  checksums eddy: count %llu sum %llu\n",
              static_cast<unsigned long long>(result->count.load()),
              static_cast<unsigned long long>(result->sum.load()));
  std::printf("  checksums loop: count %llu sum %llu (%s)\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(sum),
              agree ? "eddy agrees" : "eddy DISAGREES");
  if (is_reference)
    std::printf("  reference (BENCHMARKS.md): count %llu sum %llu (%s)\n",
                static_cast<unsigned long long>(reference_count),
                static_cast<unsigned long long>(reference_sum),
                reference_ok ? "match" : "MISMATCH");
  else
    std::printf("  reference not checked (known only for %llu events)\n",
                static_cast<unsigned long long>(reference_events));
  std::printf("  hand-written loop: %8.1f M events/s\n", events / loop_s / 1e6);
  std::printf("  eddy:              %8.1f M events/s\n", events / eddy_s / 1e6);
  std::printf("  ratio eddy / loop: %8.2f\n", loop_s / eddy_s);
  return agree && (!is_reference || reference_ok) ? 0 : 1;
}
