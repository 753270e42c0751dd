// The committing half of the Kafka sink's exactly-once mode: what the sink's instances
// pre-committed at each checkpoint barrier waits here, and when the checkpoint completes it goes
// to Kafka in one transaction of one transactional producer, all of it or nothing.
//
// Records of an attempt that failed are dropped before they ever reach Kafka, so consumers see
// exactly-once output whatever their isolation level. The producer's transactional id is stable,
// so a new producer (after a fatal error, or in a new process) fences the old one: a transaction
// it left open is aborted.
#pragma once

#include <eddy/actors/snapshot.hpp>
#include <eddy/kafka/internal/client.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eddy::kafka::internal {

/// A record on its way to Kafka: its partition (-1: by the key's hash), key and value.
struct outgoing {
  int32_t partition = -1;
  std::string key;
  std::string value;
};

class transaction_committer final : public sink_committer {
public:
  /// Commits to `topic` of the cluster `props` names, as transactional id `id`, each
  /// transaction given `timeout` to commit.
  transaction_committer(properties props, std::string topic, std::string id,
                        std::chrono::milliseconds timeout);
  transaction_committer(const transaction_committer&) = delete;
  transaction_committer& operator=(const transaction_committer&) = delete;
  ~transaction_committer() override;

  /// Files what instance `instance` wrote before the barrier of checkpoint `id` (from any
  /// thread).
  void stage(checkpoint_id id, uint32_t instance, std::vector<outgoing>&& records);

  /// Bytes staged and not yet committed.
  [[nodiscard]] size_t staged_bytes() const;

  /// The error of the last commit, while what it should have committed still waits.
  [[nodiscard]] std::string failure() const;

  /// Transactions committed so far (one per commit that had records).
  [[nodiscard]] uint64_t transactions() const;

  caf::error commit(checkpoint_id id) override;
  void abort_after(checkpoint_id id) override;
  void abort_instance_after(checkpoint_id id, uint32_t instance) override;

private:
  /// Sends `records` in one transaction; the error when it could not be committed.
  caf::error send_all(const std::vector<const std::vector<outgoing>*>& records);

  properties props_;
  std::string topic_;
  std::chrono::milliseconds timeout_;
  /// Guards everything below.
  mutable std::mutex mtx_;
  /// Staged records by checkpoint and instance.
  std::map<std::pair<checkpoint_id, uint32_t>, std::vector<outgoing>> staged_;
  size_t staged_bytes_ = 0;
  /// The transactional producer, created (and fencing its predecessors) at the first commit.
  std::optional<producer> producer_;
  std::string failure_;
  uint64_t transactions_ = 0;
};

} // namespace eddy::kafka::internal
