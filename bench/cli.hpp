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

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

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

} // namespace eddy::bench
