// What the benchmarks share: command-line checks (CLI11) for whole numbers within a range, with a
// message that says what was wrong; the options every pipeline benchmark has; a stopwatch; a timed
// job run that says why it failed; a sink that sums checksums over its instances.
//
//   app.add_option("--events", events, "records")->check(eddy::bench::whole_number(1, 1e10));
//   auto t0 = std::chrono::steady_clock::now();
//   double s = eddy::bench::seconds_since(t0);
#pragma once

#include <eddy/operators/job.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eddy::bench {

/// Accepts a whole decimal number from `min` to `max`; refuses signs, fractions and exponents.
inline CLI::Validator whole_number(uint64_t min, uint64_t max) {
  auto range = "[" + std::to_string(min) + " - " + std::to_string(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
            text.size() > 19)
          return "'" + text + "' is not a whole number in " + range;
        auto value = std::stoull(text);
        if (value < min || value > max)
          return std::to_string(value) + " is not in " + range;
        return {};
      },
      "in " + range);
}

/// Seconds since `t0` on the steady clock.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Runs `j` and returns its report and the seconds it took, or prints why it failed and returns
/// nothing.
inline std::optional<std::pair<job_report, double>> timed_run(job& j) {
  auto t0 = std::chrono::steady_clock::now();
  auto report = j.run();
  auto s = seconds_since(t0);
  if (!report) {
    std::fprintf(stderr, "eddy failed: %s\n", describe(report.error()).c_str());
    return std::nullopt;
  }
  return std::make_pair(std::move(*report), s);
}

/// A sink whose instances each count what they see into checksums of their own (`add(sums, x)`)
/// and merge them into one total when they finish, so no lock is taken per record. `Sums` has
/// `merge(const Sums&)`.
template <class Sums, class Add>
struct summing_sink {
  std::shared_ptr<Sums> total;
  std::shared_ptr<std::mutex> mtx;
  Add add;
  Sums mine{};
  template <class T>
  void operator()(const T& x) {
    add(mine, x);
  }
  void finish() {
    std::lock_guard<std::mutex> guard{*mtx};
    total->merge(mine);
  }
};

/// A summing_sink into `total`.
template <class Sums, class Add>
summing_sink<Sums, Add> sum_into(std::shared_ptr<Sums> total, Add add) {
  return {std::move(total), std::make_shared<std::mutex>(), std::move(add), {}};
}

/// The options of the pipeline benchmarks: --events (1 to `max_events`), --threads and
/// --parallelism (of the operator named in `parallelism_help`).
template <class Parallelism>
void add_pipeline_options(CLI::App& app, uint64_t& events, uint64_t max_events,
                          const std::string& events_help, size_t& threads, Parallelism& parallelism,
                          const std::string& parallelism_help) {
  app.add_option("--events", events, events_help)
      ->capture_default_str()
      ->check(whole_number(1, max_events));
  app.add_option("--threads", threads, "CAF scheduler threads")
      ->capture_default_str()
      ->check(whole_number(1, 1024));
  app.add_option("--parallelism", parallelism, parallelism_help)
      ->capture_default_str()
      ->check(whole_number(1, 128));
}

/// The options of a benchmark that can also run with checkpoints: --checkpoints DIR (empty: no
/// checkpointed runs) and --checkpoint-interval in ms.
inline void add_checkpoint_options(CLI::App& app, std::string& dir, uint64_t& interval_ms) {
  app.add_option("--checkpoints", dir,
                 "also run eddy with checkpoints into this directory, and compare");
  app.add_option("--checkpoint-interval", interval_ms, "ms between checkpoints")
      ->capture_default_str()
      ->check(whole_number(1, 3'600'000));
}

/// Prints a run with checkpoints every `interval_ms`, ready for recovery `how` ("whole-job
/// recovery", ...), that took `seconds` for `events`, against the run without checkpoints
/// (`plain_seconds`): throughput, the ratio, checkpoint durations (p50), the largest checkpoint,
/// abandoned ones, and how often an in-flight log outgrew its limit. `same`: its checksums
/// equal the run without's.
inline void print_checkpointed(const char* how, uint64_t interval_ms, uint64_t events,
                               double seconds, double plain_seconds, const job_report& report,
                               bool same) {
  std::vector<int64_t> ns;
  uint64_t bytes = 0;
  for (const auto& c : report.checkpoints) {
    ns.push_back(c.duration.count());
    bytes = std::max(bytes, c.bytes);
  }
  std::sort(ns.begin(), ns.end());
  uint64_t overflows = 0;
  for (const auto& m : report.metrics)
    overflows += m.log_overflows;
  std::printf("  eddy, checkpoints every %llu ms, ready for %s: %8.1f M events/s, %s\n",
              static_cast<unsigned long long>(interval_ms), how, events / seconds / 1e6,
              same ? "same checksums" : "checksums DISAGREE with the run without");
  std::printf("    ratio to the run without checkpoints: %.2f (%zu completed, p50 %.1f ms, "
              "largest %.2f MB; %llu abandoned; in-flight logs over their limit %llu times)\n",
              plain_seconds / seconds, ns.size(), ns.empty() ? 0.0 : ns[ns.size() / 2] / 1e6,
              static_cast<double>(bytes) / 1e6,
              static_cast<unsigned long long>(report.checkpoints_abandoned),
              static_cast<unsigned long long>(overflows));
}

/// The two ways a checkpointed run can be ready to recover, named for print_checkpointed: the
/// whole job (no in-flight logs or determinants) and a task alone (both kept).
inline constexpr std::pair<const char*, recovery_mode> recovery_modes[] = {
    {"whole-job recovery", recovery_mode::whole_job},
    {"single-task recovery", recovery_mode::single_task},
};

} // namespace eddy::bench
