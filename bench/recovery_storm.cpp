// Kill storm: a keyed-window job killed at random, over and over, against the same job without
// faults, in the same run. Both take checkpoints; the faulty one recovers each killed task
// alone (falling back to a whole-job restart when it must). It prints how many kills and
// recoveries there were, each recovery's downtime (p50, p99, max), both runs' throughput and
// their ratio, and whether the outputs are identical (they must be: the run fails otherwise).
//
// The job: a paced generator (2 instances) of readings (1,000 keys, event time advancing with
// the rate) -> tumbling 100 ms windows summing values per key (2 instances) -> collect.
//
// What the clocks include. Downtime is the coordinator's: from noticing the failure to the
// replacement started (restored from its snapshot, its upstream channels rewired); the replay of
// what was sent since the checkpoint happens after it and shows in the throughput, which is
// events over the whole run (start to the last window result collected) for each side.
//
// Why checkpoints every 20 ms by default: a failure abandons the checkpoint in progress, and a
// task is recovered alone only from the last completed one, with no task feeding it replaced
// since. With kills every 100 ms and checkpoints as rare, the next kill often finds the same
// checkpoint still the last one and a feeder replaced since; the whole job then goes back,
// after a backoff that grows with the recent recoveries (up to 1 s). `--interval 100` shows it:
// each whole-job fallback is listed with its reason.
//
//   eddy_bench_recovery_storm [--seconds 30] [--rate 150000] [--every 100] [--interval 20]
//                             [--threads 2] [--seed 1]
#include "cli.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

using namespace eddy;

namespace {

struct reading {
  int32_t key = 0;
  int64_t time = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reading& x) {
  return f(caf::meta::type_name("reading"), x.key, x.time, x.value);
}

struct sum_count {
  int64_t sum = 0;
  int64_t count = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sum_count& x) {
  return f(caf::meta::type_name("sum_count"), x.sum, x.count);
}

struct sum_values {
  using accumulator = sum_count;
  using result = sum_count;
  accumulator create_accumulator() const { return {}; }
  void add(const reading& r, accumulator& acc) const {
    acc.sum += r.value;
    ++acc.count;
  }
  void merge(accumulator& into, const accumulator& from) const {
    into.sum += from.sum;
    into.count += from.count;
  }
  result get_result(const accumulator& acc) const { return acc; }
};

using row = std::tuple<int32_t, int64_t, int64_t, int64_t>; // key, window start, sum, count

struct run_result {
  job_report report;
  double seconds = 0;
  std::vector<row> rows;
};

/// Runs the job over `n` readings at `rate` a second, with checkpoints every `interval` into a
/// fresh directory and `faults`.
std::optional<run_result> run(uint64_t n, double rate, caf::timespan interval, size_t threads,
                              const fault_plan& faults, const std::string& dir) {
  std::filesystem::remove_all(dir);
  auto cfg = job_config{}.with_threads(threads).with_checkpoints(dir, interval).with_faults(faults);
  // Every kill is meant to be recovered: the restart limit is for a job that cannot recover.
  cfg.checkpoints.max_restarts = static_cast<uint32_t>(2 * faults.kill_count + 10);
  job j{cfg};
  std::vector<window_result<int32_t, sum_count>> out;
  j.source(generator<reading>(n,
                              [rate](uint64_t i) {
                                return reading{static_cast<int32_t>(i * 7'919 % 1'000),
                                               static_cast<int64_t>(i * 1e3 / rate),
                                               static_cast<int64_t>(i % 97)};
                              })
               .with_event_time([](const reading& r) { return r.time; })
               .at_rate(rate))
      .name("readings")
      .parallelism(2)
      .key_by([](const reading& r) { return r.key; })
      .window(window_spec{100, 100, 0, late_policy::dead_letter})
      .aggregate(sum_values{})
      .name("windows")
      .parallelism(2)
      .sink(collect(out))
      .name("collect");
  auto timed = bench::timed_run(j);
  std::filesystem::remove_all(dir);
  if (!timed)
    return std::nullopt;
  run_result r;
  r.report = std::move(timed->first);
  r.seconds = timed->second;
  for (const auto& w : out)
    r.rows.emplace_back(w.key, w.start, w.value.sum, w.value.count);
  std::sort(r.rows.begin(), r.rows.end());
  return r;
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto at = static_cast<size_t>(p * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(at, xs.size() - 1)];
}

} // namespace

int main(int argc, char** argv) {
  uint64_t seconds = 30;
  uint64_t rate = 150'000;
  uint64_t every_ms = 100;
  uint64_t interval_ms = 20;
  uint64_t threads = 2;
  uint64_t seed = 1;
  CLI::App app{"eddy kill storm: a keyed-window job killed at random against the same job "
               "without faults"};
  app.add_option("--seconds", seconds, "length of the input at the rate")
      ->check(bench::whole_number(1, 3'600));
  app.add_option("--rate", rate, "events a second")->check(bench::whole_number(1'000, 1e8));
  app.add_option("--every", every_ms, "ms between kills")->check(bench::whole_number(1, 60'000));
  app.add_option("--interval", interval_ms, "ms between checkpoints")
      ->check(bench::whole_number(1, 60'000));
  app.add_option("--threads", threads, "scheduler threads")->check(bench::whole_number(1, 256));
  app.add_option("--seed", seed, "seeds the choice of tasks")->check(bench::whole_number(0, 1e18));
  CLI11_PARSE(app, argc, argv);

  auto n = seconds * rate;
  auto interval = caf::timespan{std::chrono::milliseconds{interval_ms}};
  auto dir = (std::filesystem::temp_directory_path() / "eddy_bench_recovery_storm").string();
  std::printf("kill storm: %llu events at %llu/s (%llu s), a random task killed every %llu ms, "
              "checkpoints every %llu ms, %llu threads\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(rate),
              static_cast<unsigned long long>(seconds), static_cast<unsigned long long>(every_ms),
              static_cast<unsigned long long>(interval_ms),
              static_cast<unsigned long long>(threads));
  auto plain = run(n, static_cast<double>(rate), interval, threads, fault_plan{}, dir);
  if (!plain)
    return 1;
  fault_plan faults;
  faults.kill_every = std::chrono::milliseconds{every_ms};
  // Kills stop a little before the input ends, so each one hits a running job.
  faults.kill_count = std::max<size_t>(1, (seconds * 1'000 - every_ms) / every_ms);
  faults.seed = seed;
  auto storm = run(n, static_cast<double>(rate), interval, threads, faults, dir);
  if (!storm)
    return 1;
  std::vector<double> down_ms, alone_ms, whole_ms, backoff_ms;
  std::map<std::string, size_t> reasons;
  for (const auto& r : storm->report.recoveries) {
    auto ms = static_cast<double>(r.downtime.count()) / 1e6;
    down_ms.push_back(ms);
    (r.single_task ? alone_ms : whole_ms).push_back(ms);
    if (!r.single_task) {
      backoff_ms.push_back(static_cast<double>(r.backoff.count()) / 1e6);
      // The reason without the task's name: "<task>, which feeds it, ..." counts as one kind.
      auto why = r.fallback;
      if (auto comma = why.find(", which feeds it"); comma != std::string::npos)
        why = "a task that feeds it" + why.substr(comma + 16);
      ++reasons[why];
    }
  }
  auto kills = storm->report.faults.size();
  std::printf("faults injected: %zu; recoveries: %zu (%zu of the task alone, %zu of the whole "
              "job)\n",
              kills, down_ms.size(), alone_ms.size(), whole_ms.size());
  for (const auto& [why, count] : reasons)
    std::printf("  whole job, %zu times: %s\n", count, why.c_str());
  auto print_downtime = [](const char* what, const std::vector<double>& ms) {
    if (!ms.empty())
      std::printf("downtime, %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", what,
                  percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0));
  };
  std::printf("(downtime: failure noticed -> replacement started, restored and rewired)\n");
  print_downtime("all", down_ms);
  print_downtime("the task alone", alone_ms);
  print_downtime("the whole job", whole_ms);
  print_downtime("of which the whole job's backoff", backoff_ms);
  auto plain_rate = static_cast<double>(n) / plain->seconds;
  auto storm_rate = static_cast<double>(n) / storm->seconds;
  std::printf("throughput: %.0f events/s under the storm, %.0f events/s without faults: %.2fx "
              "(%zu and %zu checkpoints completed)\n",
              storm_rate, plain_rate, storm_rate / plain_rate, storm->report.checkpoints.size(),
              plain->report.checkpoints.size());
  bool same = storm->rows == plain->rows;
  std::printf("output: %zu window results, %s\n", plain->rows.size(),
              same ? "identical to the run without faults"
                   : "MISMATCH: differs from the run without faults");
  bool each_once = down_ms.size() == kills;
  if (!each_once)
    std::printf("MISMATCH: %zu faults but %zu recoveries\n", kills, down_ms.size());
  return same && each_once ? 0 : 1;
}
