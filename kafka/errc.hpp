// Error codes of eddy/kafka, reported as caf::error values whose sentence says what is wrong and
// how to fix it.
//
//   auto cluster = eddy::kafka::mock_cluster::start(3);
//   if (!cluster && eddy::kafka::is(cluster.error(), eddy::kafka::errc::unavailable)) ...
#pragma once

#include <eddy/actors/error.hpp>

#include <string>

namespace eddy::kafka {

/// What went wrong talking to Kafka.
enum class errc : uint8_t {
  /// A setting is wrong (an unknown librdkafka property, a bad value, a topic that is not there).
  invalid_config = 1,
  /// The cluster could not be reached or did not answer in time.
  unavailable,
  /// Kafka refused a request (the error names the Kafka error).
  refused,
  /// A transaction failed and must be aborted; it can then be tried again.
  transaction_aborted,
  /// The producer cannot go on (fenced by a newer one with its transactional id, or a fatal
  /// error): a new one must be created.
  fatal,
};

/// The category atom of eddy/kafka errors.
inline constexpr caf::atom_value error_category = caf::atom("eddy_kafka");

/// Makes an eddy/kafka error carrying the sentence `what`.
[[nodiscard]] inline caf::error make_error(errc code, std::string what) {
  return eddy::make_error(code, error_category, std::move(what));
}

/// True when `err` is the eddy/kafka error `code`.
[[nodiscard]] inline bool is(const caf::error& err, errc code) {
  return eddy::is(err, code, error_category);
}

} // namespace eddy::kafka
