// storage: the checkpoint directory a user chooses. Every task's snapshot file of a checkpoint
// goes into `<dir>/chk-<id, 10 digits>/`, written to a temporary name, synced and renamed, so a
// file either exists whole or not at all; when every task has acknowledged, `complete` writes
// the checkpoint's `_manifest` the same way, which is what makes it a recovery point, and prunes
// old checkpoints. Recovery loads the newest checkpoint that verifies, falling back to older
// ones with a note when one is damaged.
//
//   namespace ck = eddy::checkpoint;
//   auto dir = ck::storage::open("/var/lib/app/checkpoints", 3);   // keep the last 3
//   if (!dir) return dir.error();                  // "checkpoint directory ... cannot be created"
//   auto bytes = dir->write_snapshot(meta, state); // from each task, any thread
//   ...
//   auto err = dir->complete(ck::manifest{12, now_ms, false, tasks, {}});
//
//   std::vector<std::string> notes;                // on recovery
//   auto chk = dir->load_latest(&notes);           // checkpoint 12 damaged? 11, and a note
//   if (chk)
//     task.restore(ck::assemble(*chk, op_index, instance, parallelism, 128));
//
// Thread safety: `write_snapshot` and `fail_next_writes` may be called from any number of
// threads at once (for different files). `complete` and `remove_incomplete` are serialized with
// each other by an internal mutex. The const readers (`completed`, `load`, `load_latest`) may
// run beside writes of other checkpoints; a checkpoint being pruned or removed while it is read
// fails to load, with a sentence. Two storage objects on the same directory are not coordinated.
#pragma once

#include <eddy/actors/snapshot.hpp>
#include <eddy/checkpoint/errc.hpp>
#include <eddy/checkpoint/manifest.hpp>
#include <eddy/checkpoint/snapshot_file.hpp>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eddy::checkpoint {

/// A checkpoint read back and verified: its manifest and every task's state.
struct loaded_checkpoint {
  /// The checkpoint's manifest.
  manifest m;
  /// The state of every task that had not finished, by (op_index, instance).
  std::map<std::pair<uint32_t, uint32_t>, instance_state> states;
  /// What each exactly-once sink's committer kept (`storage::write_sink_state`), by op_index.
  std::map<uint32_t, std::string> sink_states;
};

/// The state new instance `instance` of `parallelism` takes over for operator `op_index`: every
/// key-group entry of that operator, from any old instance, whose key group it owns now
/// (`state::key_group_range::of(instance, parallelism, key_groups)`), ordered by key group; and
/// the operator state of old instance `instance` when it existed (empty otherwise).
[[nodiscard]] instance_state assemble(const loaded_checkpoint& chk, uint32_t op_index,
                                      uint32_t instance, uint32_t parallelism, uint32_t key_groups);

/// True when task (`op_index`, `instance`) had finished before the checkpoint.
[[nodiscard]] bool finished(const loaded_checkpoint& chk, uint32_t op_index, uint32_t instance);

/// The checkpoint directory: snapshot files, manifests, pruning and recovery (see the top of this
/// header for the layout and thread safety).
class storage {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// Opens (creating it and its parents when missing) the checkpoint directory `dir`, keeping the
  /// last `keep_last` completed checkpoints (default: 3; savepoints are kept besides). Errors:
  /// invalid_config when the directory cannot be created or written, or keep_last is 0.
  [[nodiscard]] static caf::expected<storage> open(std::filesystem::path dir, size_t keep_last = 3);

  storage(storage&&) noexcept = default;
  storage& operator=(storage&&) noexcept = default;
  storage(const storage&) = delete;
  storage& operator=(const storage&) = delete;
  ~storage() = default;

  // -- writing ----------------------------------------------------------------------------------

  /// Writes the snapshot file of `meta`'s task: to `<file>.tmp`, fsync, rename, fsync of the
  /// directory. Returns the bytes written. Errors: invalid_config for a meta that contradicts
  /// itself, io_failure (with the file and the system's reason) otherwise. Thread-safe.
  [[nodiscard]] caf::expected<uint64_t> write_snapshot(const snapshot_meta& meta,
                                                       const instance_state& state);

  /// Writes what the committer of exactly-once sink `op` (#`op_index`) kept at checkpoint `id`
  /// (`sink_committer::checkpoint_state`) to `sink_file_of`, framed and written like a snapshot
  /// file; list it in the manifest's `sinks`. Returns the bytes written. Errors: io_failure.
  [[nodiscard]] caf::expected<uint64_t> write_sink_state(checkpoint_id id, uint32_t op_index,
                                                         const std::string& op,
                                                         const std::string& bytes);

  /// Makes checkpoint `m.id` complete: writes its `_manifest` (after checking that every file it
  /// lists is there, of the size it says) the way snapshot files are written, then removes
  /// completed checkpoints beyond the newest `keep_last` that are not savepoints, and every
  /// incomplete checkpoint directory older than `m.id` (one whose manifest is missing or damaged; a
  /// manifest of a newer format is left alone). An error means the manifest was not written: the
  /// checkpoint did not complete (not_found when a task that had not finished has no snapshot file,
  /// or one of another size than its entry says). A directory that cannot be pruned is not an
  /// error: a sentence goes to `notes` (when not null), and the next `complete` tries again.
  [[nodiscard]] caf::error complete(const manifest& m, std::vector<std::string>* notes = nullptr);

  /// Removes every checkpoint directory whose manifest is missing or damaged: leftovers of
  /// checkpoints that never completed (a crash, an aborted checkpoint). Call it on recovery,
  /// before new checkpoints start: it would also remove one being written.
  [[nodiscard]] caf::error remove_incomplete();

  // -- reading ----------------------------------------------------------------------------------

  /// The ids of completed checkpoints (a manifest that verifies), ascending.
  [[nodiscard]] std::vector<checkpoint_id> completed() const;

  /// Loads checkpoint `id`: its manifest, every unfinished task's snapshot file and every sink
  /// state file, each verified. Errors: not_found, or the error of the first file that fails,
  /// naming it.
  [[nodiscard]] caf::expected<loaded_checkpoint> load(checkpoint_id id) const;

  /// Loads the checkpoint or savepoint in folder `chk_dir` (`<dir>/chk-<id>`, as a run reports
  /// it), verified like `load`. Errors: invalid_config when the folder is not named chk-<id>,
  /// not_found when it does not exist or never completed, the first damaged file's error.
  [[nodiscard]] static caf::expected<loaded_checkpoint>
  load_path(const std::filesystem::path& chk_dir);

  /// Loads the newest completed checkpoint that verifies. When one fails, appends to `notes`
  /// (when not null) "checkpoint 12 is damaged (<why>): recovering from checkpoint 11 instead"
  /// and tries the one before. Errors: not_found when no checkpoint was ever completed, the
  /// newest one's error (listing every failure) when none loads.
  [[nodiscard]] caf::expected<loaded_checkpoint>
  load_latest(std::vector<std::string>* notes = nullptr) const;

  // -- properties -------------------------------------------------------------------------------

  /// The checkpoint directory.
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

  /// The number of completed checkpoints kept (besides savepoints).
  [[nodiscard]] size_t keep_last() const noexcept { return keep_last_; }

  /// The directory of checkpoint `id`: `<dir>/chk-<id padded to 10 digits>`.
  [[nodiscard]] std::filesystem::path path_of(checkpoint_id id) const;

  /// The snapshot file of a task of checkpoint `id`: `<path_of(id)>/<op_index>-<op>-<instance>
  /// .snap`, where characters of `op` other than letters, digits, '_', '-' and '.' become '_'.
  [[nodiscard]] std::filesystem::path file_of(checkpoint_id id, uint32_t op_index,
                                              const std::string& op, uint32_t instance) const;

  /// The state file of exactly-once sink `op` (#`op_index`) at checkpoint `id`:
  /// `<path_of(id)>/<op_index>-<op>.commit` (`op` made safe as in `file_of`).
  [[nodiscard]] std::filesystem::path sink_file_of(checkpoint_id id, uint32_t op_index,
                                                   const std::string& op) const;

  // -- failure injection (for the fault-injection feature and tests) ----------------------------

  /// Makes the next `n` calls of write_snapshot fail with io_failure without touching their
  /// files. Thread-safe (an atomic counter); replaces any count left.
  void fail_next_writes(size_t n) noexcept { shared_->failing_writes.store(n); }

  /// Damages one snapshot file of checkpoint `id`, the `pick`-th (modulo their number, in name
  /// order): flips every bit of the byte in its middle, or with `truncate` cuts it to half its
  /// length. Returns the file. Errors: not_found when the checkpoint has no snapshot file,
  /// io_failure when the file cannot be changed.
  [[nodiscard]] caf::expected<std::filesystem::path>
  damage_snapshot(checkpoint_id id, uint64_t pick, bool truncate) const;

private:
  /// What the object shares across moves: its lock and failure counter.
  struct shared_state {
    /// Serializes complete and remove_incomplete.
    std::mutex mtx;
    /// write_snapshot calls left to fail.
    std::atomic<size_t> failing_writes{0};
  };

  storage(std::filesystem::path dir, size_t keep_last);

  /// Every chk-<id> directory of the checkpoint directory, by id.
  [[nodiscard]] std::map<checkpoint_id, std::filesystem::path> list_dirs() const;

  /// Reads and verifies the manifest of checkpoint directory `dir` for `id`.
  [[nodiscard]] caf::expected<manifest> read_manifest(checkpoint_id id) const;

  /// The checkpoint directory.
  std::filesystem::path dir_;
  /// The completed checkpoints kept besides savepoints.
  size_t keep_last_;
  /// The lock and the failure counter (a pointer, so that storage is movable).
  std::unique_ptr<shared_state> shared_;
};

} // namespace eddy::checkpoint
