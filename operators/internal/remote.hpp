// The messages that place an operator instance on another process (a worker started with
// job::serve). Both processes build the same job; a request names the node by id and carries
// what the worker cannot know: the actors of its downstream instances.
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/actors/snapshot.hpp>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace eddy::internal {

/// Coordinator -> worker: spawn an instance (replies with its actor).
using spawn_atom = caf::atom_constant<caf::atom("e_spawn")>;
/// Coordinator -> worker: the job is over, stop serving.
using shutdown_atom = caf::atom_constant<caf::atom("e_shutdwn")>;

/// One outgoing edge of a remotely spawned instance.
struct remote_edge {
  /// partitioning, as its underlying value.
  uint8_t kind = 0;
  /// The consuming node, and the index of this edge among its inputs (for the key function).
  uint32_t consumer = 0;
  uint32_t edge = 0;
  /// The downstream instances and the input index of this channel at each.
  std::vector<caf::actor> dests;
  std::vector<uint32_t> inputs;
  /// The producer's output the edge takes (0: main, p: side output p).
  uint32_t port = 0;
  /// The channels send with high priority (channel_target::urgent).
  bool urgent = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_edge& x) {
  return f(caf::meta::type_name("eddy.remote_edge"), x.kind, x.consumer, x.edge, x.dests, x.inputs,
           x.port, x.urgent);
}

/// Everything a worker needs to spawn one instance of a node of its copy of the job.
struct spawn_request {
  uint32_t node = 0;
  /// Name, kind and output type as the coordinator sees them, checked by the worker.
  std::string name;
  std::string kind;
  std::string out_type;
  uint32_t instance = 0;
  uint32_t parallelism = 1;
  uint32_t inputs = 0;
  bool timed = false;
  uint8_t on_error = 0;
  uint64_t batch_size = 0;
  uint64_t batch_bytes = 0;
  int64_t linger_ns = 0;
  int64_t debloat_ns = 0;
  int64_t idle_ns = 0;
  uint32_t credit = 0;
  uint32_t key_groups = 0;
  std::vector<remote_edge> outputs;
  /// The job coordinator and the dead-letter destination of the new instance.
  caf::actor coordinator;
  caf::actor dead_letters;
  /// The input of `dead_letters` the instance's dead-letter channel feeds.
  uint32_t dead_letter_input = 0;
  /// For each input channel, the index of the incoming edge it belongs to
  /// (instance_wiring::input_edges).
  std::vector<uint32_t> input_edges;
  /// Checkpoints and recovery, as in task_spec: where snapshots go, the state to restore (when
  /// `has_restore`), the incarnation, the in-flight log, the choices to replay, poison records.
  caf::actor snapshots;
  bool has_restore = false;
  instance_state restore;
  checkpoint_id restore_id = 0;
  bool restore_finished = false;
  int64_t restore_watermark = min_time;
  uint32_t epoch = 0;
  uint32_t slot = 0;
  uint32_t dead_letters_epoch = 0;
  uint64_t log_limit = 0;
  bool record_determinants = false;
  std::vector<determinant> replay;
  checkpoint_id aborted = 0;
  std::vector<std::string> poison;
  /// Fault injection, as in task_spec.
  uint64_t crash_after_records = 0;
  checkpoint_id crash_at_checkpoint = 0;
  bool crash_on_restore = false;
  bool crash_at_end = false;
  uint64_t throw_on_record = 0;
  int64_t delay_max_ns = 0;
  uint64_t delay_seed = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, spawn_request& x) {
  return f(caf::meta::type_name("eddy.spawn_request"), x.node, x.name, x.kind, x.out_type,
           x.instance, x.parallelism, x.inputs, x.timed, x.on_error, x.batch_size, x.batch_bytes,
           x.linger_ns, x.debloat_ns, x.idle_ns, x.credit, x.key_groups, x.outputs, x.coordinator,
           x.dead_letters, x.dead_letter_input, x.input_edges, x.snapshots, x.has_restore,
           x.restore, x.restore_id, x.restore_finished, x.restore_watermark, x.epoch, x.slot,
           x.dead_letters_epoch, x.log_limit, x.record_determinants, x.replay, x.aborted, x.poison,
           x.crash_after_records, x.crash_at_checkpoint, x.crash_on_restore, x.crash_at_end,
           x.throw_on_record, x.delay_max_ns, x.delay_seed);
}

} // namespace eddy::internal
