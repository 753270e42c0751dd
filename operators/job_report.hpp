// What a finished job reports: per-instance metrics, dead letters, elapsed time.
//
//   auto report = job.run();
//   std::cout << report->summary();
//   auto n = report->records_in("print");          // summed over the operator's instances
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/actors/metrics.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace eddy {

/// The outcome of a job that ran to its end.
struct job_report {
  /// Final counters of every instance.
  std::vector<metrics_snapshot> metrics;
  /// Rejected records, when the job did not route them to a dead-letter sink (at most
  /// `job_config::kept_dead_letters` of them).
  std::vector<dead_letter> dead_letters;
  /// Rejected records beyond `job_config::kept_dead_letters`, counted but not kept: give
  /// `job.dead_letters()` a sink to keep every one.
  uint64_t dead_letters_not_kept = 0;
  /// Wall time from start to the last instance's end.
  std::chrono::nanoseconds elapsed{0};

  /// Records received by operator `op`, over all its instances.
  [[nodiscard]] uint64_t records_in(const std::string& op) const;
  /// Records emitted by operator `op`, over all its instances.
  [[nodiscard]] uint64_t records_out(const std::string& op) const;
  /// Dead letters over all operators.
  [[nodiscard]] uint64_t dead_letter_count() const;
  /// Records later than event-time operators allowed, over all operators.
  [[nodiscard]] uint64_t late_record_count() const;
  /// A table of the metrics, one line per operator.
  [[nodiscard]] std::string summary() const;
};

} // namespace eddy
