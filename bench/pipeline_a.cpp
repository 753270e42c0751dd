// Pipeline A of ../shared/BENCHMARKS.md (map and filter over bids), eddy against a hand-written
// single-threaded loop over the same in-memory array, in one run. The checksums of both must
// agree; with the reference size (50,000,000 events) they must also equal BENCHMARKS.md's. With
// `--checkpoints DIR` eddy runs twice more with checkpoints (every `--checkpoint-interval` ms),
// ready for whole-job recovery and for single-task recovery: the second keeps in-flight logs
// and determinants, the first does not, so their ratio is the cost of the logs on a stateless
// pipeline that is nothing but channels.
//
//   eddy_bench_pipeline_a [--events 50000000] [--threads 2] [--parallelism 1] [--batch 0]
//                         [--checkpoints DIR] [--checkpoint-interval 1000] [--rounds 1]
#include "cli.hpp"
#include "nexmark.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sources/container_source.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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
  std::string checkpoints;
  uint64_t interval_ms = 1'000;
  bench::add_checkpoint_options(app, checkpoints, interval_ms);
  uint32_t rounds = 1;
  app.add_option("--rounds", rounds, "runs of each eddy configuration; the fastest counts")
      ->capture_default_str()
      ->check(bench::whole_number(1, 100));
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

  // One eddy run over a copy of the bids, with checkpoints into `dir` when it is not empty.
  struct eddy_run {
    std::shared_ptr<totals> result = std::make_shared<totals>();
    double seconds = 0;
    job_report report;
  };
  auto cfg =
      job_config{}.with_threads(threads).with_parallelism(parallelism).with_batch_size(batch);
  auto run_eddy = [&](const std::string& dir, recovery_mode how) -> std::optional<eddy_run> {
    eddy_run out;
    auto c = cfg;
    if (!dir.empty()) {
      c.with_checkpoints(dir, std::chrono::milliseconds{interval_ms});
      c.checkpoints.recovery = how;
    }
    job j{c};
    j.source(from_container(bids))
        .name("source")
        .map([](const bid& b) {
          bid converted = b;
          converted.price = convert(b.price);
          return converted;
        })
        .name("map")
        .filter([](const bid& b) { return b.price > 5000; })
        .name("filter")
        .sink(count_sum_sink{out.result})
        .name("sink");
    auto run = bench::timed_run(j);
    if (!run)
      return std::nullopt;
    out.report = std::move(run->first);
    out.seconds = run->second;
    return out;
  };
  // Each configuration runs `rounds` times, interleaved, and keeps its fastest run: the first
  // runs of a process pay for fresh memory the later ones reuse.
  std::optional<eddy_run> plain;
  std::vector<std::pair<const char*, eddy_run>> checkpointed;
  auto keep_fastest = [](std::optional<eddy_run>& best, eddy_run&& r) {
    if (!best || r.seconds < best->seconds)
      best = std::move(r);
  };
  std::vector<std::optional<eddy_run>> best_checkpointed(std::size(bench::recovery_modes));
  for (uint32_t round = 0; round < rounds; ++round) {
    auto r = run_eddy({}, recovery_mode::whole_job);
    if (!r)
      return 1;
    keep_fastest(plain, std::move(*r));
    if (checkpoints.empty())
      continue;
    for (size_t k = 0; k < std::size(bench::recovery_modes); ++k) {
      auto c = run_eddy(checkpoints, bench::recovery_modes[k].second);
      if (!c)
        return 1;
      keep_fastest(best_checkpointed[k], std::move(*c));
    }
  }
  if (!checkpoints.empty())
    for (size_t k = 0; k < std::size(bench::recovery_modes); ++k)
      checkpointed.emplace_back(bench::recovery_modes[k].first, std::move(*best_checkpointed[k]));
  auto& result = plain->result;
  auto eddy_s = plain->seconds;
  bool agree = result->count == count && result->sum == sum;
  bool is_reference = events == reference_events;
  bool reference_ok = count == reference_count && sum == reference_sum;
  std::printf("pipeline A: %llu events, %zu threads, parallelism %u, batch %zu\n",
              static_cast<unsigned long long>(events), threads, parallelism,
              records_per_batch<bid>(cfg.channels));
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
  for (const auto& [name, w] : checkpointed) {
    bool same = w.result->count == result->count && w.result->sum == result->sum;
    agree = agree && same;
    bench::print_checkpointed(name, interval_ms, events, w.seconds, eddy_s, w.report, same);
  }
  return agree && (!is_reference || reference_ok) ? 0 : 1;
}
