// mock_cluster: an embedded Kafka cluster for tests, demos and local work. It is librdkafka's
// mock cluster (rdkafka_mock.h): brokers in this process that speak the real Kafka protocol on
// loopback sockets, so any Kafka client (eddy's source and sink, kcat, a Java consumer) can use
// its bootstrap address. The same job code runs against a real cluster by passing that
// cluster's address instead.
//
//   auto cluster = eddy::kafka::mock_cluster::start(3);        // three brokers
//   if (!cluster) { ... describe(cluster.error()) ... }
//   cluster->create_topic("sensors", 4);                      // four partitions
//   auto readings = job.source(eddy::kafka::from_topic<reading>(cluster->bootstrap(), "sensors")
//                                  .json());
//
// Faults for tests (the brokers misbehave as a real one would): a broker down and up again,
// added round-trip time, request errors on a given request type (Produce, EndTxn, ...).
// The cluster lives as long as this object (it is movable, not copyable).
//
// Limits of librdkafka 2.0.2's mock (Debian's): no admin API (topics are created here or
// automatically on first use), `read_committed` consumers see records of aborted
// transactions (its Fetch responses list none), and each partition keeps at most about 5 MB (or
// 100,000 batches): older records are deleted as by a retention limit, so spread large inputs
// over more partitions.
#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace eddy::kafka {

/// Kafka protocol request types (the ApiKey of a request), for injecting request errors.
enum class request : int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  init_producer_id = 22,
  add_partitions_to_txn = 24,
  add_offsets_to_txn = 25,
  end_txn = 26,
  txn_offset_commit = 28,
};

/// An embedded Kafka cluster (librdkafka's mock brokers) on loopback.
class mock_cluster {
public:
  /// Starts `brokers` brokers (ids 1 to brokers); an error says why it could not.
  static caf::expected<mock_cluster> start(int brokers = 1);

  mock_cluster(mock_cluster&&) noexcept;
  mock_cluster& operator=(mock_cluster&&) noexcept;
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;
  /// Stops the brokers.
  ~mock_cluster();

  /// The bootstrap servers, "host:port,host:port,...", for any Kafka client.
  [[nodiscard]] const std::string& bootstrap() const noexcept;

  /// The number of brokers.
  [[nodiscard]] int brokers() const noexcept;

  /// Creates topic `name` with `partitions` partitions and `replication` replicas (at most the
  /// number of brokers).
  caf::error create_topic(const std::string& name, int partitions, int replication = 1);

  /// Takes broker `id` down (its connections close, it accepts none) or brings it back up.
  caf::error set_broker_down(int32_t id);
  caf::error set_broker_up(int32_t id);

  /// Delays every response of broker `id` by `rtt`.
  caf::error set_round_trip_time(int32_t id, std::chrono::milliseconds rtt);

  /// The next `errors.size()` requests of type `type` (to any broker) fail with these Kafka
  /// error codes, in order (see librdkafka's rd_kafka_resp_err_t; -195 closes the connection).
  void push_request_errors(request type, const std::vector<int>& errors);

private:
  struct impl;
  explicit mock_cluster(std::unique_ptr<impl> x) noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace eddy::kafka
