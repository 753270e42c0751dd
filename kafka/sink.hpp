// Kafka sink: writes a stream's records to a topic through librdkafka's idempotent producer.
//
//   struct alert { int mote; double score; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(alert, mote, score)
//   alerts.sink(eddy::kafka::to_topic<alert>(bootstrap, "alerts")
//                   .json()                                          // or .encode(f)
//                   .key([](const alert& a) { return std::to_string(a.mote); }));
//
// The key (optional) picks the partition by its murmur2 hash, as Java clients do, so one key's
// records stay in order on one partition (an empty key is no key: a random partition);
// `.partition(f)` picks it directly. The producer is idempotent:
// librdkafka's retries after a broker error never write a record twice.
//
// Delivery: at-least-once. At every checkpoint barrier (and at the end of the input) the sink
// waits until Kafka has acknowledged everything it sent, so a checkpoint completes only when the
// records before it are in the topic; after a recovery, what followed the checkpoint is written
// again. A record Kafka refuses for good (too large, an unknown topic) is a dead letter with the
// reason; a record refused after it was queued (a broker's MESSAGE_TOO_LARGE) and records still
// unacknowledged after `flush_timeout` fail the task (recovery retries; such a record is retried
// until the restart limit). While the producer's queue is full (a broker down), sending waits.
// Exactly-once through Kafka transactions is not built yet (kafka/README.md).
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/actors/snapshot.hpp>
#include <eddy/kafka/errc.hpp>
#include <eddy/kafka/internal/client.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace eddy::kafka {

/// Writes records of type T to a topic.
template <class T>
class topic_sink {
public:
  using encode_fn = std::function<std::string(const T&)>;
  using partition_fn = std::function<int32_t(const T&)>;

  topic_sink(std::string bootstrap, std::string topic)
      : topic_(std::move(topic)) {
    props_["bootstrap.servers"] = std::move(bootstrap);
  }

  /// Each record's value is its JSON (the record's nlohmann `to_json`).
  topic_sink json() const {
    auto copy = *this;
    copy.encode_ = [](const T& x) { return nlohmann::json(x).dump(); };
    return copy;
  }

  /// Each record's value is `f(record)`; a throw makes the record a dead letter.
  topic_sink encode(encode_fn f) const {
    auto copy = *this;
    copy.encode_ = std::move(f);
    return copy;
  }

  /// Each record's key is `f(record)` (and so its partition, by Kafka's default partitioner).
  topic_sink key(encode_fn f) const {
    auto copy = *this;
    copy.key_ = std::move(f);
    return copy;
  }

  /// Each record goes to partition `f(record)`.
  topic_sink partition(partition_fn f) const {
    auto copy = *this;
    copy.partition_ = std::move(f);
    return copy;
  }

  /// A librdkafka producer setting ("compression.type", "linger.ms", ...).
  topic_sink property(std::string name, std::string value) const {
    auto copy = *this;
    copy.props_[std::move(name)] = std::move(value);
    return copy;
  }

  /// How long a checkpoint barrier or the end of the input waits for Kafka's acknowledgements
  /// before the task fails (default 30 s).
  topic_sink flush_timeout(std::chrono::milliseconds d) const {
    auto copy = *this;
    copy.flush_timeout_ = d;
    return copy;
  }

  /// Before the job starts: the value encoding is given, the settings are valid, the cluster
  /// answers and the topic exists.
  [[nodiscard]] caf::error check() const {
    if (!encode_)
      return make_error(errc::invalid_config,
                        "kafka sink '" + topic_ +
                            "': say how to write its records: .json() or .encode(f)");
    if (auto p = internal::producer::open(props_); !p)
      return p.error();
    auto c = internal::consumer::open(props_); // the same cluster settings (security, ...)
    if (!c)
      return c.error();
    auto n = c->partitions(topic_, std::chrono::seconds{10});
    return n ? caf::error{} : n.error();
  }

  void open(uint32_t, uint32_t) {
    auto p = internal::producer::open(props_);
    if (!p)
      throw std::runtime_error(describe(p.error()));
    producer_ = std::make_shared<internal::producer>(std::move(*p));
  }

  void operator()(const T& x) {
    auto value = encode_(x);
    auto key = key_ ? key_(x) : std::string{};
    auto part = partition_ ? partition_(x) : int32_t{-1};
    if (auto err = producer_->send(topic_, part, key, value))
      throw std::runtime_error(describe(err));
  }

  /// The end of the input: everything is acknowledged.
  void finish() { flush(); }

  /// A checkpoint barrier: everything sent before it is acknowledged before the checkpoint can
  /// complete.
  void pre_commit(checkpoint_id) { flush(); }

private:
  void flush() {
    if (auto err = producer_->flush(flush_timeout_))
      throw std::runtime_error("kafka sink '" + topic_ + "': " + describe(err));
  }

  std::string topic_;
  internal::properties props_;
  encode_fn encode_;
  encode_fn key_;
  partition_fn partition_;
  std::chrono::milliseconds flush_timeout_{30'000};
  /// The instance's producer (after open).
  std::shared_ptr<internal::producer> producer_;
};

/// Writes records of type T to `topic` of the cluster at `bootstrap` ("host:port,...").
template <class T>
topic_sink<T> to_topic(std::string bootstrap, std::string topic) {
  return topic_sink<T>{std::move(bootstrap), std::move(topic)};
}

} // namespace eddy::kafka
