// The committing half of the Kafka sink's exactly-once mode: what the sink's instances
// pre-committed at each checkpoint barrier waits here, and when the checkpoint completes it goes
// to Kafka in one transaction of one transactional producer, all of it or nothing.
//
// Records of an attempt that failed are dropped before they ever reach Kafka, so consumers see
// exactly-once output whatever their isolation level. The producer's transactional id is stable,
// so a new producer (after a fatal error, or in a new process) fences the old one: a transaction
// it left open is aborted.
//
// Durable: each completed checkpoint also keeps what the committer holds for it and has not
// committed yet (`checkpoint_state`, `restore`: every instance's blocks, including those of
// instances that had finished), each block tagged with the committer's lineage (a random number
// per committer, that is per sink object: per run, unless one object runs twice), and every
// transaction writes, with the records, one record to a commit log topic, keyed by transactional id
// and lineage: "eddy-commit <lineage> <checkpoint id>". A job restored from a checkpoint in a new
// process (the old one died after the checkpoint completed, before or during its commit) fences the
// old producer, reads the newest log record of each lineage its blocks carry, and files again,
// under its own lineage, exactly the blocks the log does not say were committed. Blocks of its own
// run (a recovery in the process) are judged by what it committed itself.
#pragma once

#include <eddy/actors/snapshot.hpp>
#include <eddy/kafka/internal/client.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
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
  /// transaction given `timeout` to commit, writing what it committed to `commit_log`
  /// (partition 0).
  transaction_committer(properties props, std::string topic, std::string id, std::string commit_log,
                        std::chrono::milliseconds timeout);
  transaction_committer(const transaction_committer&) = delete;
  transaction_committer& operator=(const transaction_committer&) = delete;
  ~transaction_committer() override;

  /// Files what instance `instance` wrote before the barrier of checkpoint `id` (from any
  /// thread).
  void stage(checkpoint_id id, uint32_t instance, std::vector<outgoing>&& records);

  /// Before the job starts: claims the transactional id (a record in the commit log) and creates
  /// the producer, which fences every earlier one. Errors: the cluster's, or this committer was
  /// superseded.
  caf::error take_over();

  /// Why this committer stopped for good (another job took its transactional id over), or empty.
  [[nodiscard]] std::string superseded() const;

  /// Bytes staged and not yet committed.
  [[nodiscard]] size_t staged_bytes() const;

  /// The error of the last commit, while what it should have committed still waits.
  [[nodiscard]] std::string failure() const;

  /// Transactional producers created so far (one more after each fence or fatal error).
  [[nodiscard]] uint64_t producers() const;

  /// Transactions committed so far (one per commit that had records).
  [[nodiscard]] uint64_t transactions() const;

  caf::error commit(checkpoint_id id) override;
  void abort_after(checkpoint_id id) override;
  void abort_instance_after(checkpoint_id id, uint32_t instance) override;
  /// Every block staged (or being sent) under ids up to `id`, tagged with this committer's
  /// lineage, checkpoint and instance.
  std::string checkpoint_state(checkpoint_id id) override;
  /// Stages again each block of `bytes` that is neither committed (by this committer, or as
  /// the commit log says for an earlier run) nor still held here. Errors: the bytes do not
  /// decode (invalid_config), the commit log cannot be read (unavailable).
  caf::error restore(checkpoint_id id, const std::string& bytes) override;

private:
  /// Sends `records` in one transaction with the commit log's record for checkpoint `id`; the
  /// error when it could not be committed.
  caf::error send_all(checkpoint_id id, const std::vector<const std::vector<outgoing>*>& records);

  /// Creates the producer (after writing a claim to the commit log, fencing its predecessors)
  /// unless there is one.
  caf::error ensure_producer();

  /// Writes this run's claim to the commit log with a plain producer, acknowledged.
  caf::error write_claim();

  /// The error to return when this committer was superseded, else none.
  caf::error check_superseded();

  /// Reads the commit log back to this committer's claim: superseded (and the error saying so)
  /// when another job claimed the id since; the scan's error when it cannot tell.
  caf::error check_taken_over();

  /// Reads the commit log newest record first, calling `visit(key, value)` until it returns true
  /// or the log's first record was seen.
  caf::error scan_log(const std::function<bool(const std::string&, const std::string&)>& visit);

  /// Through which checkpoint each of `lineages` committed, as the commit log says (a lineage
  /// without a record is not in the map).
  caf::expected<std::map<uint64_t, checkpoint_id>>
  read_commit_log(const std::set<uint64_t>& lineages);

  properties props_;
  std::string topic_;
  std::string id_;
  std::string commit_log_;
  std::chrono::milliseconds timeout_;
  /// Held by a commit while it sends (and by a restore): one at a time, and the producer is
  /// theirs. Taken before `mtx_`, never after.
  std::mutex send_mtx_;
  /// Guards everything below but the producer, never held over the network.
  mutable std::mutex mtx_;
  /// Staged records by checkpoint and instance.
  std::map<std::pair<checkpoint_id, uint32_t>, std::vector<outgoing>> staged_;
  /// What the commit under way sends (taken out of staged_; back there if it fails).
  std::map<std::pair<checkpoint_id, uint32_t>, std::vector<outgoing>> sending_;
  size_t staged_bytes_ = 0;
  /// The transactional producer, created (and fencing its predecessors) at the first commit
  /// (guarded by send_mtx_).
  std::optional<producer> producer_;
  std::string failure_;
  uint64_t transactions_ = 0;
  uint64_t producers_ = 0;
  /// This committer's run, drawn at random: its blocks and its commit log records carry it.
  uint64_t lineage_ = 0;
  /// The largest checkpoint id this committer committed.
  checkpoint_id committed_through_ = 0;
  /// Earlier runs' lineages and the checkpoint through which the commit log says each committed
  /// (guarded by send_mtx_).
  std::map<uint64_t, checkpoint_id> log_through_;
  /// Set when another run took the transactional id over: why this one stopped for good.
  std::string superseded_;
  /// A producer was dropped after a fatal error (fenced, perhaps): the next one is created only
  /// after the log shows no other job claimed the id (guarded by send_mtx_).
  bool must_check_ = false;
};

} // namespace eddy::kafka::internal
