// Pipeline B of ../shared/BENCHMARKS.md (Nexmark q5 shape): bids keyed by auction, event-time
// sliding windows of 10 s every 2 s, a count per (auction, window). eddy's keyed window operator
// against a hand-written single-threaded loop (a hash map of window counts) over the same
// in-memory array, in one run. Both must agree on the checksums; at the reference size
// (20,000,000 events) they must also equal BENCHMARKS.md's. With `--checkpoints DIR` eddy runs
// twice more, taking checkpoints into DIR (every `--checkpoint-interval` ms, default 1,000):
// ready for whole-job recovery (snapshots only), then for single-task recovery (the default:
// snapshots, in-flight logs on every channel and determinants), and prints each run's speed
// against the first's: the cost of checkpointing, and of what single-task recovery keeps.
//
//   eddy_bench_pipeline_b [--events 20000000] [--threads 2] [--parallelism 1] [--rocksdb DIR]
//                         [--checkpoints DIR] [--checkpoint-interval 1000] [--batch N]
#include "cli.hpp"
#include "nexmark.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sources/container_source.hpp>

#include <string>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;
using eddy::bench::bid;

namespace {

constexpr uint64_t reference_events = 20'000'000;
constexpr uint64_t reference_results = 9'999'378;
constexpr uint64_t reference_sum = 99'980'000;
constexpr uint64_t reference_sig = 49'940'247'621'834'159ULL;

constexpr int64_t window_size = 10'000;
constexpr int64_t window_slide = 2'000;

/// The three checksums of BENCHMARKS.md.
struct checksums {
  uint64_t results = 0;
  uint64_t sum = 0;
  uint64_t sig = 0;

  void add(uint64_t auction, int64_t window_start, uint64_t count) {
    auto k = static_cast<uint64_t>(window_start / window_slide);
    ++results;
    sum += count;
    sig += (auction * 1000003 + k) * count;
  }
  void merge(const checksums& o) {
    results += o.results;
    sum += o.sum;
    sig += o.sig;
  }
  bool operator==(const checksums& o) const {
    return results == o.results && sum == o.sum && sig == o.sig;
  }
};

/// The baseline: a hash map from auction to the counts of its live windows (a ring of the
/// size / slide + 1 most recent window indices), fired in order whenever event time passes a
/// window's end by walking the map once per slide.
checksums hand_loop(const std::vector<bid>& bids) {
  constexpr int64_t ring = window_size / window_slide + 1;
  struct live {
    std::array<int64_t, ring> window{}; // window index held in each ring slot
    std::array<uint64_t, ring> count{}; // its count
  };
  checksums c;
  std::unordered_map<uint64_t, live> auctions;
  int64_t next_fire = 0; // the smallest window index not fired yet
  auto fire_until = [&](int64_t time) {
    // Window k ends at k * slide + size; it is complete once time has passed its end - 1.
    while (next_fire * window_slide + window_size - 1 < time) {
      auto slot = next_fire % ring;
      for (auto& [auction, l] : auctions)
        if (l.window[slot] == next_fire && l.count[slot] != 0) {
          c.add(auction, next_fire * window_slide, l.count[slot]);
          l.count[slot] = 0;
        }
      ++next_fire;
    }
  };
  for (const auto& b : bids) {
    auto t = static_cast<int64_t>(b.date_time);
    fire_until(t);
    auto last = t / window_slide;
    auto first = t >= window_size ? (t - window_size) / window_slide + 1 : 0;
    auto& l = auctions[b.auction];
    for (auto k = first; k <= last; ++k) {
      auto slot = k % ring;
      if (l.window[slot] != k) {
        l.window[slot] = k;
        l.count[slot] = 0;
      }
      ++l.count[slot];
    }
  }
  if (!bids.empty()) // the end of the input closes every window
    fire_until(static_cast<int64_t>(bids.back().date_time) + window_size);
  return c;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Pipeline B of BENCHMARKS.md (sliding-window bid counts per auction): eddy "
               "against a hand-written loop in the same run"};
  uint64_t events = reference_events;
  size_t threads = 2;
  uint32_t parallelism = 1;
  std::string rocksdb;
  std::string checkpoints;
  uint64_t interval_ms = 1'000;
  size_t batch = 0;
  bench::add_pipeline_options(app, events, 1'000'000'000,
                              "bids to process (checksums are known for 20000000)", threads,
                              parallelism, "instances of the window operator");
  app.add_option("--rocksdb", rocksdb, "keep the window state in RocksDB under this directory");
  bench::add_checkpoint_options(app, checkpoints, interval_ms);
  app.add_option("--batch", batch, "records per batch (0: the default, 512 KiB of records)")
      ->check(CLI::Range(size_t{0}, size_t{1} << 20));
  CLI11_PARSE(app, argc, argv);

  auto bids = bench::make_bids(events);

  auto t0 = std::chrono::steady_clock::now();
  auto loop = hand_loop(bids);
  auto loop_s = bench::seconds_since(t0);

  // One eddy run over a copy of the bids (the loop's input stays for the next run), with
  // checkpoints into `dir` when it is not empty.
  struct eddy_run {
    checksums sums;
    double seconds = 0;
    job_report report;
  };
  auto run_eddy = [&](const std::string& dir, recovery_mode how) -> std::optional<eddy_run> {
    auto sums = std::make_shared<checksums>();
    auto sink = bench::sum_into(sums, [](checksums& c, const window_result<uint64_t, int64_t>& r) {
      // BENCHMARKS.md counts windows k >= 0 only; the operator also fires the windows that
      // start before time 0 and hold its first records.
      if (r.start >= 0)
        c.add(r.key, r.start, static_cast<uint64_t>(r.value));
    });
    auto cfg = job_config{}.with_threads(threads);
    if (batch != 0)
      cfg.with_batch_size(batch);
    if (!rocksdb.empty())
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(rocksdb));
    if (!dir.empty()) {
      cfg.with_checkpoints(dir, std::chrono::milliseconds{interval_ms});
      cfg.checkpoints.recovery = how;
    }
    job j{cfg};
    j.source(from_container(bids, [](const bid& b) { return timestamp(b.date_time); }))
        .name("source")
        .key_by([](const bid& b) { return b.auction; })
        .window(sliding(10s, 2s))
        .aggregate(count_of<bid>{})
        .name("window")
        .parallelism(parallelism)
        .sink(sink)
        .name("sink")
        .parallelism(parallelism);
    auto run = bench::timed_run(j);
    if (!run)
      return std::nullopt;
    return eddy_run{*sums, run->second, std::move(run->first)};
  };
  auto plain = run_eddy({}, recovery_mode::whole_job);
  if (!plain)
    return 1;
  // (name, run) with checkpoints, for each way of recovering.
  std::vector<std::pair<const char*, eddy_run>> checkpointed;
  if (!checkpoints.empty()) {
    for (auto [name, how] : bench::recovery_modes) {
      auto r = run_eddy(checkpoints, how);
      if (!r)
        return 1;
      checkpointed.emplace_back(name, std::move(*r));
    }
  }
  auto* sums = &plain->sums;
  auto eddy_s = plain->seconds;
  bool agree = *sums == loop;
  bool is_reference = events == reference_events;
  bool reference_ok =
      loop.results == reference_results && loop.sum == reference_sum && loop.sig == reference_sig;
  auto print = [](const char* who, const checksums& c) {
    std::printf("  checksums %s: results %llu, sum of counts %llu, sig %llu\n", who,
                static_cast<unsigned long long>(c.results), static_cast<unsigned long long>(c.sum),
                static_cast<unsigned long long>(c.sig));
  };
  std::printf("pipeline B: %llu events, %zu threads, window parallelism %u, %s backend\n",
              static_cast<unsigned long long>(events), threads, parallelism,
              rocksdb.empty() ? "memory" : "RocksDB");
  print("eddy", *sums);
  print("loop", loop);
  std::printf("  eddy %s the loop\n", agree ? "agrees with" : "DISAGREES with");
  if (is_reference)
    std::printf("  reference (BENCHMARKS.md): %s\n", reference_ok ? "match" : "MISMATCH");
  else
    std::printf("  reference not checked (known only for %llu events)\n",
                static_cast<unsigned long long>(reference_events));
  std::printf("  hand-written loop (hash map): %8.1f M events/s\n", events / loop_s / 1e6);
  std::printf("  eddy:                         %8.1f M events/s\n", events / eddy_s / 1e6);
  std::printf("  ratio eddy / loop:            %8.2f\n", loop_s / eddy_s);
  for (const auto& [name, w] : checkpointed) {
    bool same = w.sums == plain->sums;
    agree = agree && same;
    bench::print_checkpointed(name, interval_ms, events, w.seconds, eddy_s, w.report, same);
  }
  return agree && (!is_reference || reference_ok) ? 0 : 1;
}
