// The job graph: operators (nodes) and the edges between them, before anything runs.
// Internal to operators/: users see it through `job` and `stream<T>`.
#pragma once

#include <eddy/actors/channel_config.hpp>
#include <eddy/actors/output.hpp>
#include <eddy/actors/partitioning.hpp>
#include <eddy/actors/task.hpp>
#include <eddy/state/backend_config.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <vector>

namespace eddy::internal {

/// How one operator consumes another's output.
struct edge_spec {
  /// The producing node.
  size_t from = 0;
  /// How records are spread over the consumer's instances.
  partitioning kind = partitioning::forward;
  /// With hash partitioning: a std::function<uint64_t(const T&)> for the producer's T.
  std::shared_ptr<void> key_hash;
  /// True when the user chose the partitioning (forward then requires equal parallelism).
  bool explicit_kind = false;
  /// The producer's output this edge takes: 0 for its main output, p for its side output p.
  uint32_t port = 0;
  /// Its messages go to the consumer with CAF's high priority (stream::urgent).
  bool urgent = false;
};

/// The wiring of one outgoing edge of one instance, handed to its logic at spawn time.
struct out_edge {
  /// The consuming node and the index of this edge among its inputs.
  size_t consumer = 0;
  size_t edge = 0;
  partitioning kind = partitioning::forward;
  std::shared_ptr<void> key_hash;
  std::vector<channel_target> targets;
  /// The producer's output the edge takes (0: main, p: side output p).
  uint32_t port = 0;
};

/// A side output an operator declares: a second typed output that streams take by its tag.
struct side_port {
  /// The tag's name, unique per operator.
  std::string name;
  /// Type of its records.
  std::type_index type = typeid(void);
  /// Registers batch<S> with CAF.
  std::function<void(caf::actor_system_config&)> register_types;
};

/// What a node's logic factory receives for one instance.
struct instance_wiring {
  /// Outgoing edges of this instance.
  std::vector<out_edge> outputs;
  /// Whether the output carries event times.
  bool timed = false;
  /// Where keyed operators keep their state (job_config::state_backend).
  state::backend_config state_backend;
  /// Processing time in ms (job_config::processing_clock).
  std::function<int64_t()> processing_clock;
  /// For each input channel of this instance (`batch<T>::input`), the index of the incoming
  /// edge (in `node::inputs`) it belongs to.
  std::vector<uint32_t> input_edges;
  /// Two-input operators: how many of the node's incoming edges belong to the first input
  /// (node::first_side_edges).
  uint32_t first_side_edges = 0;
};

/// One operator of the job.
struct node {
  /// Index in the job's node list.
  size_t id = 0;
  /// What kind of operator ("map", "source", ...), for messages.
  std::string kind;
  /// User-visible name (defaults to kind and id).
  std::string name;
  /// Instances; 0 means "the job's default".
  uint32_t parallelism = 0;
  /// The most instances this operator supports (files: 1).
  uint32_t max_parallelism = 0;
  /// Incoming edges.
  std::vector<edge_spec> inputs;
  /// Two-input operators (connect, joins): the first `first_side_edges` incoming edges feed the
  /// first input, the others the second (a union on either side gives several edges per side).
  /// 0 for one-input operators.
  uint32_t first_side_edges = 0;
  /// Nodes consuming this one's output.
  std::vector<size_t> consumers;
  /// Type of the records this node emits (void for sinks).
  std::type_index out_type = typeid(void);
  /// Type of the records this node consumes (void for sources).
  std::type_index in_type = typeid(void);
  /// True for sources.
  bool is_source = false;
  /// True for sinks.
  bool is_sink = false;
  /// True when the source assigns event times (propagated downstream at build time).
  bool timed = false;
  /// True for operators that work in event time (windows): their input must be timed.
  bool needs_event_time = false;
  /// What a throwing user function does.
  error_policy on_error = error_policy::dead_letter;
  /// Where this operator keeps its keyed state, when not the job's (job_config::state_backend).
  std::optional<state::backend_config> state_backend;
  /// Checks done before the job starts (a source's file exists, ...).
  std::function<caf::error()> check;
  /// Creates the logic of one instance.
  std::function<std::unique_ptr<logic>(task&, uint32_t instance, const instance_wiring&)> make;
  /// Registers the message types this node sends (batch<Out>) with CAF.
  std::function<void(caf::actor_system_config&)> register_types;
  /// Side outputs: port p is side_outputs[p - 1].
  std::vector<side_port> side_outputs;
  /// Sources: the source can seek back to a position kept in a checkpoint (has `position()` and
  /// `seek()`), so a recovery replays exactly what followed the checkpoint.
  bool replayable = false;
  /// Exactly-once sinks: the committing half shared by the instances (operators/sink.hpp).
  std::shared_ptr<sink_committer> committer;
  /// Every instance holds the same operator state (broadcast state, a model served): after a
  /// change of parallelism, an instance beyond the old count starts from instance 0's.
  bool replicated_state = false;
  /// The operator's own debloat target (stream::debloat_target); negative: the job's.
  caf::timespan debloat_target{-1};
};

/// The nodes of one job, shared by the job and its streams.
struct graph {
  std::vector<node> nodes;
  /// Mistakes found while building (reported by run()).
  std::vector<std::string> mistakes;
};

} // namespace eddy::internal
