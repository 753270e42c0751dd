// What one operator instance's state looks like in a checkpoint.
//
// A task fills an `instance_state` when a checkpoint barrier has reached it on every input
// (`logic::snapshot`), and a replacement task gets one back before its first message
// (`logic::restore`). Keyed state travels per key group, so a restore with another parallelism
// hands each new instance the key groups it owns now, from whichever old instances had them;
// operator state (a source's position, broadcast state) belongs to the instance index.
//
//   void snapshot(eddy::task&, eddy::instance_state& s) override {
//     s.operator_state = encode(position_);
//     for (auto kg : range_) s.key_groups.emplace_back(kg, store_.write_key_group(kg));
//   }
//
// The checkpoint library (checkpoint/) frames these into snapshot files.
#pragma once

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace eddy {

/// Checkpoint ids count from 1; 0 means "no checkpoint".
using checkpoint_id = int64_t;

/// One operator instance's state at a checkpoint.
struct instance_state {
  /// State that belongs to this instance index, opaque to the runtime (a source's position,
  /// broadcast state, a sink's pending transaction). Empty when the operator keeps none.
  std::string operator_state;
  /// Keyed state: (key group, bytes of that key group), one entry per key group that holds
  /// state or timers, in the format of operators/internal/keyed_snapshot.hpp (the store's
  /// `write_key_group` bytes and the timers' together).
  std::vector<std::pair<uint32_t, std::string>> key_groups;
  /// The runtime's own state of the instance (its channels' sequence numbers, its inputs'
  /// watermarks and ends), written by the task, not the operator. Only meaningful to an
  /// instance of the same index and parallelism.
  std::string runtime;

  [[nodiscard]] bool empty() const noexcept {
    return operator_state.empty() && key_groups.empty() && runtime.empty();
  }

  /// Bytes held (for metrics and the in-memory copy's cost).
  [[nodiscard]] size_t bytes() const noexcept {
    auto n = operator_state.size() + runtime.size();
    for (const auto& kg : key_groups)
      n += kg.second.size() + sizeof(uint32_t);
    return n;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_state& x) {
  return f(caf::meta::type_name("eddy.instance_state"), x.operator_state, x.key_groups, x.runtime);
}

/// A choice a task made that a replay must make the same way (Clonos' determinants): which
/// input it took a message from next, when a processing-time wake-up came, what processing
/// time it read. A replacement restored from a checkpoint replays its predecessor's choices
/// since that checkpoint, so it emits exactly what its predecessor did.
struct determinant {
  enum kind_t : uint8_t {
    /// The task took its next message from input `value`.
    input = 0,
    /// A processing-time wake-up ran.
    timer = 1,
    /// Processing time read: `value`.
    clock = 2,
    /// The task took its snapshot for checkpoint `value` (what follows is after it).
    checkpoint = 3,
  };
  kind_t kind = input;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, determinant& x) {
  return f(caf::meta::type_name("eddy.determinant"), x.kind, x.value);
}

/// The id the coordinator commits once the whole job has ended: the end of a run is its last
/// checkpoint.
inline constexpr checkpoint_id final_checkpoint = std::numeric_limits<checkpoint_id>::max();

/// The committing half of an exactly-once (two-phase) sink, shared by its instances.
///
/// Each sink instance pre-commits at every checkpoint barrier (what it wrote since the last one
/// becomes durable but stays invisible, filed under the checkpoint's id) and at the end of its
/// input (under the id after its last checkpoint). The job's coordinator, in the same process,
/// then calls `commit` when a checkpoint completed (and with `final_checkpoint` when the job
/// ended), and `abort_after` before a recovery, so what users see is exactly what a run without
/// failures shows. `abort_after` may name a checkpoint older than one committed already, when
/// the newer one turned out damaged: a sink that can should take that output back. Both may run
/// concurrently with instances' pre-commits: implementations lock.
class sink_committer {
public:
  virtual ~sink_committer() = default;
  /// Checkpoint `id` completed: makes visible, in checkpoint order, everything pre-committed
  /// under ids up to `id`. What could not be committed stays pending (a later commit tries
  /// again); the error says why. The error of the final commit (`final_checkpoint`) fails the
  /// job's run.
  virtual caf::error commit(checkpoint_id id) = 0;
  /// The job goes back to checkpoint `id`: drops everything pre-committed under later ids.
  virtual void abort_after(checkpoint_id id) = 0;
  /// Only instance `instance` goes back to checkpoint `id` (it is replaced alone and will send
  /// again what followed): drops what that instance pre-committed under later ids.
  virtual void abort_instance_after(checkpoint_id id, uint32_t instance) = 0;
  /// Checkpoint `id` completed (its manifest is about to be written; nothing committed it yet):
  /// what this committer holds under ids up to `id` and may not have made visible, as bytes the
  /// checkpoint keeps (empty, the default: nothing). With them, a job started from this
  /// checkpoint in a new process can finish what the old one left uncommitted, including what
  /// instances that had finished filed (a finished task takes no snapshot).
  [[nodiscard]] virtual std::string checkpoint_state(checkpoint_id id) {
    (void)id;
    return {};
  }
  /// A job starts from checkpoint `id`, whose state for this sink is `bytes` (of
  /// `checkpoint_state`): file again what is not visible yet, so that a later commit makes it
  /// visible once. Called before any task starts. An error fails the run before it starts.
  virtual caf::error restore(checkpoint_id id, const std::string& bytes) {
    (void)id;
    (void)bytes;
    return {};
  }
};

} // namespace eddy
