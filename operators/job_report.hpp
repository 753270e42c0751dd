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

/// A checkpoint that completed during the run.
struct checkpoint_record {
  /// Its id (ids grow through the run, also across recoveries).
  int64_t id = 0;
  /// From the coordinator's trigger to the last acknowledgement.
  std::chrono::nanoseconds duration{0};
  /// Bytes of snapshot files written.
  uint64_t bytes = 0;
};

/// A recovery: a failure and the restart that followed it.
struct recovery_record {
  /// What failed and why, as reported.
  std::string cause;
  /// The checkpoint the job went back to (0: the start of the input).
  int64_t from_checkpoint = 0;
  /// From the failure's detection to the replacement tasks running.
  std::chrono::nanoseconds downtime{0};
  /// Whether only the failed task was replaced (`recovery_mode::single_task`); false when the
  /// whole job went back to the checkpoint.
  bool single_task = false;
  /// With a whole-job recovery under `recovery_mode::single_task`: why the task could not be
  /// recovered alone (e.g. "events#0, which feeds it, was replaced since the checkpoint").
  std::string fallback;
  /// Of `downtime`, the wait before a whole-job restart (exponential backoff with jitter over
  /// the recent recoveries, see `checkpoint_config::backoff`).
  std::chrono::nanoseconds backoff{0};
  /// Other failures this recovery covered: tasks that failed while the job was already going
  /// back to the checkpoint (two failures at once), one sentence each.
  std::vector<std::string> also{};
};

/// A savepoint: a checkpoint taken because the user asked (`job::savepoint`), which pruning never
/// removes.
struct savepoint_info {
  /// Its checkpoint id.
  int64_t id = 0;
  /// Its folder, `<checkpoint directory>/chk-<id>`: a job starts from it with
  /// `job_config::from_savepoint(path)`, also with other parallelism.
  std::string path;
};

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
  /// Checkpoints that completed, in order.
  std::vector<checkpoint_record> checkpoints;
  /// Checkpoints started but not completed (a task failed, a write failed, it timed out).
  uint64_t checkpoints_abandoned = 0;
  /// Recoveries, in order.
  std::vector<recovery_record> recoveries;
  /// Faults injected (`job_config::faults`), one sentence each, in order.
  std::vector<std::string> faults;
  /// What the job noticed and worked around (a damaged checkpoint it skipped, ...).
  std::vector<std::string> notes;
  /// Savepoints taken during the run, in order.
  std::vector<savepoint_info> savepoints;
  /// The job stopped at its last savepoint (`job::stop_with_savepoint`) before its sources
  /// ended: its sinks hold exactly what preceded the savepoint, and a job started from it
  /// produces the rest.
  bool stopped = false;

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
