// Error codes of eddy's job API, reported as caf::error values whose sentence says what is
// wrong and how to fix it.
//
//   auto report = job.run();
//   if (!report && eddy::is(report.error(), eddy::errc::invalid_topology)) ...
#pragma once

#include <eddy/actors/error.hpp>

namespace eddy {

/// What went wrong building or running a job.
enum class errc : uint8_t {
  /// The topology cannot run (dangling stream, parallelism 0, forward with unequal parallelism).
  invalid_topology = 1,
  /// A source or sink cannot start (missing file, unreadable path).
  invalid_source,
  /// An operator failed while running (user function with error_policy::fail, crash).
  job_failed,
  /// A remote node cannot be reached or does not run the same job.
  remote_failure,
};

/// The category atom of job errors.
inline constexpr caf::atom_value error_category = caf::atom("eddy");

/// Makes a job error carrying the sentence `what`.
[[nodiscard]] inline caf::error make_error(errc code, std::string what) {
  return eddy::make_error(code, error_category, std::move(what));
}

/// True when `err` is the job error `code`.
[[nodiscard]] inline bool is(const caf::error& err, errc code) {
  return eddy::is(err, code, error_category);
}

} // namespace eddy
