// The two librdkafka clients eddy's Kafka source and sink are built on, behind a narrow
// interface so that librdkafka's headers stay in client.cpp: a consumer with partitions assigned
// by the caller (no consumer group rebalancing; offsets come from checkpoints) and a producer.
#pragma once

#include <eddy/kafka/message.hpp>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace eddy::kafka::internal {

/// librdkafka settings ("bootstrap.servers", "security.protocol", ...), by name.
using properties = std::map<std::string, std::string>;

/// The low and high offsets of a partition: [low, high) are the records it holds.
struct offset_range {
  int64_t low = 0;
  int64_t high = 0;
};

/// A consumer of one topic's assigned partitions.
class consumer {
public:
  /// librdkafka's statistics (its JSON), every "statistics.interval.ms".
  using statistics_fn = std::function<void(const std::string&)>;

  /// Connects (lazily: errors show up at the first request) with these settings. With
  /// `on_statistics`, librdkafka's background thread calls it with each statistics report, also
  /// while nobody polls (a source waiting for credit).
  static caf::expected<consumer> open(const properties& props, statistics_fn on_statistics = {});

  consumer(consumer&&) noexcept;
  consumer& operator=(consumer&&) noexcept;
  ~consumer();

  /// The partitions of `topic`; an error when it does not exist or the cluster does not answer
  /// within `timeout`.
  caf::expected<int32_t> partitions(const std::string& topic, std::chrono::milliseconds timeout);

  /// The offsets partition `p` of `topic` holds now.
  caf::expected<offset_range> offsets(const std::string& topic, int32_t p,
                                      std::chrono::milliseconds timeout);

  /// Reads partitions (partition, next offset) of `topic` from now on (replacing any earlier
  /// assignment).
  caf::error assign(const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& from);

  /// Appends up to `max` records to `out`, waiting at most `wait` for them, and to `ends` the
  /// partitions that were read to their end, with the offset of that end (records of aborted
  /// transactions and transaction markers are skipped, so it can be past the last record). A
  /// fatal client error is returned; transient ones (a broker away for a while) are retried by
  /// librdkafka.
  caf::error poll(std::vector<message>& out, std::vector<std::pair<int32_t, int64_t>>& ends,
                  size_t max, std::chrono::milliseconds wait);

  /// Commits, without waiting for the answer, the next offsets `next` (partition, offset) of
  /// `topic` for the consumer's group (the "group.id" setting).
  caf::error commit(const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& next);

  /// The offsets the consumer's group committed for `partitions` of `topic` (-1: none).
  caf::expected<std::vector<int64_t>> committed(const std::string& topic,
                                                const std::vector<int32_t>& partitions,
                                                std::chrono::milliseconds timeout);

private:
  struct impl;
  explicit consumer(std::unique_ptr<impl> x) noexcept;
  std::unique_ptr<impl> impl_;
};

/// A producer (idempotent unless the settings say otherwise).
class producer {
public:
  static caf::expected<producer> open(const properties& props);

  producer(producer&&) noexcept;
  producer& operator=(producer&&) noexcept;
  ~producer();

  /// Queues a record for `topic` (partition -1: by the key's murmur2 hash, as Java's default
  /// partitioner does; an empty key is no key, placed at random); timestamp -1: now.
  caf::error send(const std::string& topic, int32_t partition, const std::string& key,
                  const std::string& value, int64_t timestamp = -1);

  /// Waits until every queued record is acknowledged, or `timeout`; an error names what failed
  /// (the first delivery error, or records still queued).
  caf::error flush(std::chrono::milliseconds timeout);

  /// The partitions of `topic`, asking for it by name: a cluster that creates topics on first
  /// use (auto.create.topics.enable, Kafka's default and the mock's) creates it. An error when it
  /// does not exist after that or the cluster does not answer within `timeout`.
  caf::expected<int32_t> partitions(const std::string& topic, std::chrono::milliseconds timeout);

  // -- transactions (the settings have a "transactional.id") ------------------------------------
  //
  // Errors: errc::transaction_aborted (abort, then the transaction can be tried again),
  // errc::fatal (fenced by a newer producer with the same id, or broken: create a new one),
  // errc::unavailable (no answer within the timeout).

  /// Registers the transactional id with the cluster, fencing every earlier producer with the
  /// same id: a transaction one of them left open is aborted.
  caf::error init_transactions(std::chrono::milliseconds timeout);

  /// Starts a transaction: what is sent from here on is in it.
  caf::error begin_transaction();

  /// Flushes and commits the open transaction (retrying what Kafka says can be retried).
  caf::error commit_transaction(std::chrono::milliseconds timeout);

  /// Aborts the open transaction: nothing sent in it becomes visible to `read_committed`.
  caf::error abort_transaction(std::chrono::milliseconds timeout);

private:
  struct impl;
  explicit producer(std::unique_ptr<impl> x) noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace eddy::kafka::internal
