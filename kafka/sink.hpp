// Kafka sink: writes a stream's records to a topic through librdkafka's idempotent producer.
//
//   struct alert { int mote; double score; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(alert, mote, score)
//   alerts.sink(eddy::kafka::to_topic<alert>(bootstrap, "alerts")
//                   .json()                                          // or .encode(f)
//                   .key([](const alert& a) { return std::to_string(a.mote); })
//                   .exactly_once());                                // else at-least-once
//
// The key (optional) picks the partition by its murmur2 hash, as Java clients do, so one key's
// records stay in order on one partition (an empty key is no key: a random partition);
// `.partition(f)` picks it directly. Ending a keyed stream (`key_by(k).sink(...)`), the key is
// the stream's (as text) unless `.key` or `.partition` says otherwise. The producer is idempotent:
// librdkafka's retries after a broker error never write a record twice.
//
// Delivery, by default at-least-once: at every checkpoint barrier (and at the end of the input)
// the sink waits until Kafka has acknowledged everything it sent, so a checkpoint completes only
// when the records before it are in the topic; after a recovery, what followed the checkpoint is
// written again. A record Kafka refuses for good (too large, an unknown topic) is a dead letter
// with the reason, as is one larger than `message.max.bytes` or for a partition the topic lacks
// (checked before it is queued); a record refused after it was queued (a broker whose own limit
// is lower) and records still unacknowledged after `flush_timeout` fail the task (recovery
// retries; such a record is retried until the restart limit). While the producer's queue is full
// (a broker down), sending waits.
//
// `.exactly_once()`: each instance keeps what it writes until the next checkpoint barrier; when
// that checkpoint completes, everything written before it goes to Kafka in one transaction
// (kafka/internal/transaction_committer.hpp), and what an attempt that failed wrote never reaches
// Kafka. So every record is in the topic once, for any consumer, after any recoveries; records
// appear when their checkpoint completes (the latency of Flink's exactly-once Kafka sink with a
// read_committed consumer). A commit Kafka refuses is tried again at the next one; records too
// large for `message.max.bytes` or sent to a partition the topic lacks are dead letters.
// Records wait in the job's memory between their barrier and the commit, and in the
// checkpoint's snapshot: a job restored from that checkpoint in a new process (the old one died
// before or during the commit) commits exactly what a commit log topic (`commit_log`, default
// "<transactional id>.commits", created on first use where the cluster allows it; better
// created compacted beforehand) does not say was committed. Not yet across a process death: the
// last records of an instance whose input ended before the others' (kafka/README.md, "Known
// gaps").
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/actors/snapshot.hpp>
#include <eddy/kafka/errc.hpp>
#include <eddy/kafka/internal/client.hpp>
#include <eddy/kafka/internal/transaction_committer.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

  /// The key of the keyed stream the sink ends (`key_by(k).sink(...)` calls it): each record's
  /// Kafka key is the stream's key as text unless `.key(f)` or `.partition(f)` is given, so a
  /// key's records stay on one partition, in order.
  topic_sink with_stream_key(encode_fn f) const {
    auto copy = *this;
    copy.stream_key_ = std::move(f);
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

  /// Exactly-once delivery through Kafka transactions, as transactional id `id` (default
  /// "eddy-" and the topic): keep it stable across runs of the job, so that a new run fences
  /// what an earlier one left open, and distinct between jobs writing at the same time.
  topic_sink exactly_once(std::string id = {}) const {
    auto copy = *this;
    copy.txn_ = std::make_shared<transactions>();
    copy.txn_->id = id.empty() ? "eddy-" + topic_ : std::move(id);
    return copy;
  }

  /// Exactly-once: the topic each transaction also writes what it commits to (partition 0, one
  /// small record per commit; compaction may keep only the last), read when a job is restored
  /// from a checkpoint. Default: the transactional id and ".commits". A cluster that does not
  /// create topics on first use needs it created: `kafka-topics.sh --create --topic <name>
  /// --partitions 1 --config cleanup.policy=compact`.
  topic_sink commit_log(std::string topic) const {
    auto copy = *this;
    copy.commit_log_ = std::move(topic);
    return copy;
  }

  /// Exactly-once: how many bytes may wait for a commit before the sink fails (Kafka refusing
  /// commits for that long), default 256 MiB.
  topic_sink max_uncommitted(size_t bytes) const {
    auto copy = *this;
    copy.max_uncommitted_ = bytes;
    return copy;
  }

  /// Before the job starts: the value encoding is given, the settings are valid, the cluster
  /// answers and the topic exists; exactly-once: the cluster takes transactions, and a producer
  /// an earlier run left with this transactional id is fenced.
  [[nodiscard]] caf::error check() const {
    if (!encode_)
      return make_error(errc::invalid_config,
                        "kafka sink '" + topic_ +
                            "': say how to write its records: .json() or .encode(f)");
    auto p = internal::producer::open(props_);
    if (!p)
      return p.error();
    auto c = internal::consumer::open(props_); // the same cluster settings (security, ...)
    if (!c)
      return c.error();
    auto n = c->partitions(topic_, std::chrono::seconds{10});
    if (!n)
      return n.error();
    if (txn_) {
      if (auto log = p->partitions(commit_log_name(), std::chrono::seconds{10}); !log)
        return make_error(errc::invalid_config,
                          "kafka sink '" + topic_ +
                              "': exactly-once needs its commit log: " + describe(log.error()));
      // Claims the transactional id and fences whatever producer an earlier run left.
      if (auto err = committer_of()->take_over())
        return make_error(errc::unavailable,
                          "kafka sink '" + topic_ +
                              "': exactly-once needs transactions: " + describe(err));
    }
    return {};
  }

  void open(uint32_t instance, uint32_t) {
    instance_ = instance;
    // Records are checked here, so that Kafka refuses none after it queued them (inside a
    // transaction, or where no dead letter can name them).
    auto c = internal::consumer::open(props_);
    auto n = c ? c->partitions(topic_, std::chrono::seconds{10}) : c.error();
    if (!n)
      throw std::runtime_error(describe(n.error()));
    partitions_ = *n;
    auto max = props_.find("message.max.bytes");
    max_bytes_ = max == props_.end() ? 1'000'000 : std::stoull(max->second);
    if (txn_)
      return;
    auto p = internal::producer::open(props_);
    if (!p)
      throw std::runtime_error(describe(p.error()));
    // The topic's leaders known before the first record (else it waits for them).
    if (auto known = p->partitions(topic_, std::chrono::seconds{10}); !known)
      throw std::runtime_error(describe(known.error()));
    producer_ = std::make_shared<internal::producer>(std::move(*p));
  }

  void operator()(const T& x) {
    auto value = encode_(x);
    auto key = key_ ? key_(x) : stream_key_ && !partition_ ? stream_key_(x) : std::string{};
    auto part = partition_ ? partition_(x) : int32_t{-1};
    if (part < -1 || part >= partitions_)
      throw std::runtime_error("kafka sink '" + topic_ + "': partition " + std::to_string(part) +
                               " does not exist (the topic has " + std::to_string(partitions_) +
                               ")");
    if (key.size() + value.size() > max_bytes_)
      throw std::runtime_error(
          "kafka sink '" + topic_ + "': a record of " + std::to_string(key.size() + value.size()) +
          " bytes is larger than message.max.bytes (" + std::to_string(max_bytes_) + ")");
    if (txn_) {
      pending_.push_back({part, std::move(key), std::move(value)});
      return;
    }
    if (auto err = producer_->send(topic_, part, key, value))
      throw std::runtime_error(describe(err));
  }

  /// The end of the input: at-least-once, everything is acknowledged (exactly-once: the
  /// pre-commit that follows files the rest).
  void finish() {
    if (!txn_)
      flush();
  }

  /// A checkpoint barrier: at-least-once, everything sent before it is acknowledged before the
  /// checkpoint can complete; exactly-once, what was written since the last barrier waits for
  /// checkpoint `id` to complete.
  void pre_commit(checkpoint_id id) {
    if (!txn_) {
      flush();
      return;
    }
    auto& c = *committer_of();
    if (auto why = c.superseded(); !why.empty())
      throw std::runtime_error(why);
    if (c.staged_bytes() > max_uncommitted_)
      throw std::runtime_error("kafka sink '" + topic_ + "': " + std::to_string(c.staged_bytes()) +
                               " bytes wait for a commit, more than max_uncommitted (" +
                               std::to_string(max_uncommitted_) +
                               "); the last commit: " + c.failure());
    c.stage(id, instance_, std::move(pending_));
    pending_.clear();
  }

  /// Exactly-once: the committer the instances share and the job commits through.
  [[nodiscard]] std::shared_ptr<sink_committer> committer() const {
    if (!txn_)
      return nullptr;
    return committer_of();
  }

private:
  /// Exactly-once: the transactional id and the committer, shared by every copy.
  struct transactions {
    std::string id;
    std::shared_ptr<internal::transaction_committer> committer;
  };

  /// The committer, created with the settings as they are when the job asks for it.
  std::shared_ptr<internal::transaction_committer> committer_of() const {
    if (!txn_->committer)
      txn_->committer = std::make_shared<internal::transaction_committer>(
          props_, topic_, txn_->id, commit_log_name(), flush_timeout_);
    return txn_->committer;
  }

  std::string commit_log_name() const {
    return commit_log_.empty() ? txn_->id + ".commits" : commit_log_;
  }

  void flush() {
    if (auto err = producer_->flush(flush_timeout_))
      throw std::runtime_error("kafka sink '" + topic_ + "': " + describe(err));
  }

  std::string topic_;
  internal::properties props_;
  encode_fn encode_;
  encode_fn key_;
  encode_fn stream_key_;
  partition_fn partition_;
  std::chrono::milliseconds flush_timeout_{30'000};
  /// The instance's producer (after open; at-least-once).
  std::shared_ptr<internal::producer> producer_;
  /// Exactly-once (null: at-least-once).
  std::shared_ptr<transactions> txn_;
  size_t max_uncommitted_ = size_t{256} << 20;
  std::string commit_log_;
  /// Per instance: its number, the topic's partitions, the largest record, and (exactly-once)
  /// what it wrote since the last barrier.
  uint32_t instance_ = 0;
  int32_t partitions_ = 0;
  size_t max_bytes_ = 0;
  std::vector<internal::outgoing> pending_;
};

/// Writes records of type T to `topic` of the cluster at `bootstrap` ("host:port,...").
template <class T>
topic_sink<T> to_topic(std::string bootstrap, std::string topic) {
  return topic_sink<T>{std::move(bootstrap), std::move(topic)};
}

} // namespace eddy::kafka
