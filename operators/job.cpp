#include <eddy/operators/job.hpp>

#include <eddy/actors/atoms.hpp>
#include <eddy/checkpoint/storage.hpp>
#include <eddy/operators/internal/commit_worker.hpp>
#include <eddy/operators/internal/dead_letter_logic.hpp>
#include <eddy/operators/internal/remote.hpp>
#include <eddy/state/key_group_range.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

namespace eddy {

// -- job_report -----------------------------------------------------------------------------------

uint64_t job_report::records_in(const std::string& op) const {
  uint64_t n = 0;
  for (const auto& m : metrics)
    if (m.op == op)
      n += m.records_in;
  return n;
}

uint64_t job_report::records_out(const std::string& op) const {
  uint64_t n = 0;
  for (const auto& m : metrics)
    if (m.op == op)
      n += m.records_out;
  return n;
}

uint64_t job_report::dead_letter_count() const {
  uint64_t n = 0;
  for (const auto& m : metrics)
    n += m.dead_letters;
  return n;
}

uint64_t job_report::late_record_count() const {
  uint64_t n = 0;
  for (const auto& m : metrics)
    n += m.late_records;
  return n;
}

std::string job_report::summary() const {
  std::map<std::string, metrics_snapshot> per_op;
  std::vector<std::string> order;
  for (const auto& m : metrics) {
    auto [it, added] = per_op.emplace(m.op, metrics_snapshot{});
    if (added)
      order.push_back(m.op);
    auto& s = it->second;
    s.records_in += m.records_in;
    s.records_out += m.records_out;
    s.batches_in += m.batches_in;
    s.batches_out += m.batches_out;
    s.dead_letters += m.dead_letters;
    s.credit_wait_ns += m.credit_wait_ns;
    s.peak_queued = std::max(s.peak_queued, m.peak_queued);
    ++s.instance;
  }
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof(line), "%-20s %4s %14s %14s %10s %8s %12s\n", "operator", "inst",
                "records in", "records out", "batches", "dead", "credit wait");
  out << line;
  for (const auto& op : order) {
    const auto& s = per_op[op];
    std::snprintf(line, sizeof(line), "%-20s %4u %14llu %14llu %10llu %8llu %10.1fms\n", op.c_str(),
                  s.instance, static_cast<unsigned long long>(s.records_in),
                  static_cast<unsigned long long>(s.records_out),
                  static_cast<unsigned long long>(s.batches_in + s.batches_out),
                  static_cast<unsigned long long>(s.dead_letters), s.credit_wait_ns / 1e6);
    out << line;
  }
  std::snprintf(line, sizeof(line), "elapsed %.3f s\n", elapsed.count() / 1e9);
  out << line;
  return out.str();
}

// -- job
// --------------------------------------------------------------------------------------------

job::job(job_config cfg)
    : cfg_(std::move(cfg))
    , g_(std::make_shared<internal::graph>()) {}

stream<dead_letter> job::dead_letters() {
  if (!dead_letter_node_) {
    internal::node n;
    n.id = g_->nodes.size();
    n.kind = "dead_letters";
    n.name = "dead-letters";
    n.is_source = true;
    n.parallelism = 1;
    n.max_parallelism = 1;
    n.out_type = typeid(dead_letter);
    n.make = [](task& t, uint32_t, const internal::instance_wiring& w) {
      return std::make_unique<internal::dead_letter_logic>(t, w);
    };
    g_->nodes.push_back(std::move(n));
    dead_letter_node_ = g_->nodes.size() - 1;
  }
  return stream<dead_letter>{g_, {*dead_letter_node_}};
}

std::function<int64_t()> job::processing_clock() const {
  if (cfg_.processing_clock)
    return cfg_.processing_clock;
  return [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

caf::error job::validate() {
  std::vector<size_t> order;
  return prepare(order);
}

caf::error job::prepare(std::vector<size_t>& order, bool run_checks) {
  auto& nodes = g_->nodes;
  auto invalid = [](std::string what) { return make_error(errc::invalid_topology, what); };
  // Whether some operator takes output `port` of node `id`.
  auto consumed = [&](size_t id, uint32_t port) {
    return std::any_of(nodes[id].consumers.begin(), nodes[id].consumers.end(), [&](size_t c) {
      return std::any_of(nodes[c].inputs.begin(), nodes[c].inputs.end(),
                         [&](auto& e) { return e.from == id && e.port == port; });
    });
  };
  if (!g_->mistakes.empty())
    return invalid(g_->mistakes.front());
  if (nodes.empty())
    return invalid("the job has no operators: add a source with job.source(...) and a sink");
  if (cfg_.parallelism == 0)
    return invalid("job_config.parallelism is 0: give it at least 1");
  if (cfg_.channels.batch_bytes == 0 || cfg_.channels.initial_credit == 0)
    return invalid("channel_config: batch_bytes and initial_credit must be at least 1");
  if (cfg_.channels.key_groups == 0)
    return invalid("channel_config.key_groups is 0: give it at least the largest parallelism of "
                   "a keyed operator (default 128)");
  std::set<std::string> names;
  for (auto& n : nodes)
    if (!names.insert(n.name).second)
      return invalid("two operators are named '" + n.name +
                     "': names identify operators in metrics and placement, make them unique");
  for (auto& n : nodes) {
    if (n.parallelism == 0)
      n.parallelism = cfg_.parallelism;
    if (n.max_parallelism != 0 && n.parallelism > n.max_parallelism) {
      if (n.kind == "source" && n.parallelism == cfg_.parallelism)
        n.parallelism = n.max_parallelism; // the job's default does not apply to a file source
      else
        return invalid("operator '" + n.name + "' supports at most " +
                       std::to_string(n.max_parallelism) + " instance(s) but was given " +
                       std::to_string(n.parallelism) + ": lower its parallelism");
    }
    if (!n.is_sink && !consumed(n.id, 0))
      return invalid("the output of operator '" + n.name + "' (" + n.kind +
                     ") is never consumed: add a sink to it or remove it");
    for (uint32_t p = 1; p <= n.side_outputs.size(); ++p)
      if (!consumed(n.id, p))
        return invalid("the side output '" + n.side_outputs[p - 1].name + "' of operator '" +
                       n.name +
                       "' is never consumed: take it with .side_output(tag) and add "
                       "a sink to it, or do not ask for it");
    if (!n.is_source && n.inputs.empty())
      return invalid("operator '" + n.name + "' has no input");
  }
  for (auto& n : nodes)
    for (auto& e : n.inputs) {
      auto& up = nodes[e.from];
      if (e.kind == partitioning::forward && up.parallelism != n.parallelism) {
        if (e.explicit_kind)
          return invalid("operator '" + n.name + "' takes its input forward from '" + up.name +
                         "' but their parallelism differs (" + std::to_string(up.parallelism) +
                         " vs " + std::to_string(n.parallelism) +
                         "): use rebalance() or key_by(), or give both the same parallelism");
        e.kind = partitioning::rebalance;
      }
    }
  // Topological order (Kahn); what is left over is a cycle.
  std::vector<size_t> indegree(nodes.size());
  for (auto& n : nodes) {
    std::set<size_t> from; // a stream united with itself is one dependency
    for (auto& e : n.inputs)
      from.insert(e.from);
    indegree[n.id] = from.size();
  }
  order.clear();
  for (auto& n : nodes)
    if (indegree[n.id] == 0)
      order.push_back(n.id);
  for (size_t i = 0; i < order.size(); ++i)
    for (auto c : nodes[order[i]].consumers)
      if (--indegree[c] == 0)
        order.push_back(c);
  if (order.size() != nodes.size())
    return invalid("the topology has a cycle: eddy runs directed acyclic graphs only");
  for (auto id : order) {
    auto& n = nodes[id];
    for (auto& e : n.inputs)
      n.timed = n.timed || nodes[e.from].timed;
    if (n.needs_event_time && !std::all_of(n.inputs.begin(), n.inputs.end(),
                                           [&](auto& e) { return nodes[e.from].timed; }))
      return invalid("operator '" + n.name +
                     "' works in event time but its input has none: give the source "
                     "with_event_time(...)");
  }
  if (auto err = cfg_.state_backend.validate())
    return err;
  for (auto& n : nodes)
    if (n.state_backend)
      if (auto err = n.state_backend->validate())
        return make_error(errc::invalid_topology, "operator '" + n.name + "': " + describe(err));
  for (auto& n : nodes)
    for (auto& e : n.inputs)
      if (e.kind == partitioning::hash && n.parallelism > cfg_.channels.key_groups)
        return invalid("operator '" + n.name + "' is keyed and has " +
                       std::to_string(n.parallelism) + " instances, more than the " +
                       std::to_string(cfg_.channels.key_groups) +
                       " key groups: raise channel_config.key_groups or lower its parallelism");
  // Sources and sinks check their files where they run: here unless placed on a worker.
  for (auto& n : nodes)
    if (run_checks && n.check && cfg_.placement.count(n.name) == 0)
      if (auto err = n.check())
        return err;
  return caf::none;
}

namespace {

/// Registers every message type of the job's protocol and of its edges, and the middleman
/// when messages cross processes.
void configure(caf::actor_system_config& cfg, const job_config& job_cfg, const internal::graph& g,
               bool network) {
  auto threads = job_cfg.threads != 0 ? job_cfg.threads
                                      : std::max<size_t>(2, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  cfg.add_message_type<control>("eddy.control");
  cfg.add_message_type<credit>("eddy.credit");
  cfg.add_message_type<dead_letter>("eddy.dead_letter");
  internal::register_batch<dead_letter>(cfg); // every task's dead-letter channel
  cfg.add_message_type<metrics_snapshot>("eddy.metrics_snapshot");
  cfg.add_message_type<internal::spawn_request>("eddy.spawn_request");
  cfg.add_message_type<instance_state>("eddy.instance_state"); // snapshots of remote tasks
  cfg.add_message_type<std::vector<determinant>>("eddy.determinants");
  for (auto& n : g.nodes) {
    if (n.register_types)
      n.register_types(cfg);
    for (auto& side : n.side_outputs)
      side.register_types(cfg);
  }
  if (network) {
    cfg.load<caf::io::middleman>();
    // Failure detection is off in CAF by default: a silent peer would hang the job forever.
    cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{500}});
    cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds{5}});
  }
}

/// The spec of instance `i` of `n`; `wiring` holds its outgoing channels.
task_spec make_spec(const internal::node& n, uint32_t i, uint32_t inputs,
                    const channel_config& channels, internal::instance_wiring wiring,
                    caf::actor coordinator, caf::actor dead_letters, uint32_t dead_letter_input) {
  task_spec spec;
  spec.coordinator = std::move(coordinator);
  spec.dead_letters = std::move(dead_letters);
  spec.dead_letter_input = dead_letter_input;
  spec.name = n.name;
  spec.instance = i;
  spec.parallelism = n.parallelism;
  spec.inputs = inputs;
  spec.channels = channels;
  if (n.debloat_target.count() >= 0)
    spec.channels.debloat_target = n.debloat_target;
  spec.on_error = n.on_error;
  spec.metrics = std::make_shared<instance_metrics>(n.name, i);
  auto make = n.make;
  spec.make_logic = [make, i, wiring = std::move(wiring)](task& t) {
    // Operators read processing time through the task, which logs it for replays.
    auto w = wiring;
    if (w.processing_clock)
      w.processing_clock = [&t, clock = wiring.processing_clock] { return t.read_clock(clock); };
    return make(t, i, w);
  };
  return spec;
}

/// The request that spawns instance `i` of `n` on a worker.
internal::spawn_request make_request(const internal::node& n, uint32_t i, uint32_t inputs,
                                     const channel_config& channels,
                                     const internal::instance_wiring& wiring,
                                     caf::actor coordinator, caf::actor dead_letters,
                                     uint32_t dead_letter_input) {
  internal::spawn_request r;
  r.coordinator = std::move(coordinator);
  r.dead_letters = std::move(dead_letters);
  r.dead_letter_input = dead_letter_input;
  r.node = static_cast<uint32_t>(n.id);
  r.name = n.name;
  r.kind = n.kind;
  r.out_type = n.out_type.name();
  r.instance = i;
  r.parallelism = n.parallelism;
  r.inputs = inputs;
  r.timed = wiring.timed;
  r.on_error = static_cast<uint8_t>(n.on_error);
  r.batch_size = channels.batch_size;
  r.batch_bytes = channels.batch_bytes;
  r.linger_ns = channels.linger.count();
  r.debloat_ns =
      n.debloat_target.count() >= 0 ? n.debloat_target.count() : channels.debloat_target.count();
  r.idle_ns = channels.idle_timeout.count();
  r.credit = channels.initial_credit;
  r.key_groups = channels.key_groups;
  r.input_edges = wiring.input_edges;
  for (const auto& e : wiring.outputs) {
    internal::remote_edge re;
    re.kind = static_cast<uint8_t>(e.kind);
    re.consumer = static_cast<uint32_t>(e.consumer);
    re.edge = static_cast<uint32_t>(e.edge);
    re.port = e.port;
    for (const auto& t : e.targets) {
      re.dests.push_back(t.dest);
      re.inputs.push_back(t.input);
      re.urgent = re.urgent || t.urgent;
    }
    r.outputs.push_back(std::move(re));
  }
  return r;
}

/// Calls `f(spec_field, request_field)` for each field of checkpoints and recovery a task spec
/// and a spawn request share (the state to restore aside: a pointer in one, a value in the other).
template <class F>
void recovery_fields(task_spec& spec, internal::spawn_request& r, F f) {
  f(spec.snapshots, r.snapshots);
  f(spec.restore_id, r.restore_id);
  f(spec.restore_finished, r.restore_finished);
  f(spec.restore_watermark, r.restore_watermark);
  f(spec.epoch, r.epoch);
  f(spec.slot, r.slot);
  f(spec.dead_letters_epoch, r.dead_letters_epoch);
  f(spec.log_limit, r.log_limit);
  f(spec.record_determinants, r.record_determinants);
  f(spec.replay, r.replay);
  f(spec.aborted, r.aborted);
  f(spec.poison, r.poison);
  f(spec.crash_after_records, r.crash_after_records);
  f(spec.crash_at_checkpoint, r.crash_at_checkpoint);
  f(spec.crash_on_restore, r.crash_on_restore);
  f(spec.crash_at_end, r.crash_at_end);
  f(spec.throw_on_record, r.throw_on_record);
  f(spec.delay_seed, r.delay_seed);
}

/// Moves the checkpoint and recovery part of `spec` into `r`, to spawn it on a worker.
void copy_recovery(task_spec& spec, internal::spawn_request& r) {
  recovery_fields(spec, r, [](auto& from, auto& to) { to = std::move(from); });
  r.delay_max_ns = spec.delay_max.count();
  r.has_restore = spec.restore != nullptr;
  if (spec.restore)
    r.restore = std::move(*spec.restore);
}

/// On the worker: the checkpoint and recovery part of `r` into `spec`.
void apply_recovery(internal::spawn_request& r, task_spec& spec) {
  recovery_fields(spec, r, [](auto& to, auto& from) { to = std::move(from); });
  spec.delay_max = caf::timespan{r.delay_max_ns};
  spec.op_index = r.node;
  if (r.has_restore)
    spec.restore = std::make_shared<instance_state>(std::move(r.restore));
}

} // namespace

namespace {

/// One task of the generation that runs now.
struct task_slot {
  /// The operator (node id) and instance.
  uint32_t op = 0;
  uint32_t instance = 0;
  caf::actor actor;
  /// Reported done (finished cleanly).
  bool done = false;
  /// Its down message arrived.
  bool down = false;
  /// With `done`: the last checkpoint it took a snapshot for.
  checkpoint_id last_checkpoint = 0;
  /// Its incarnation (one more per single-task recovery).
  uint32_t epoch = 0;
  /// The input of the dead-letter task its dead-letter channel feeds.
  uint32_t dl_input = 0;
  /// Its determinants since the last completed checkpoint (single-task recovery).
  std::deque<determinant> dets;
  /// Next sequence number of its dead-letter channel, when the coordinator receives it.
  uint64_t dl_seq = 0;
  /// When it was last replaced alone: the last completed checkpoint then (-1: never). Until a
  /// newer one completes, what it sent since that checkpoint may be cut into other batches than
  /// its receivers' determinants name.
  checkpoint_id replaced_at = -1;
};

/// A checkpoint the coordinator started and that has not completed yet.
struct pending_checkpoint {
  checkpoint_id id = 0;
  std::chrono::steady_clock::time_point started;
  /// Slots whose snapshot is stored, with its size.
  std::map<size_t, uint64_t> acked;
  /// A savepoint (kept by pruning), and whether the job stops there.
  bool savepoint = false;
  bool stop = false;
  /// Who waits for the savepoint.
  std::vector<std::promise<caf::expected<savepoint_info>>> waiting;
};

/// The parallelism operator `op_index` had at checkpoint `chk` (0: not in it).
uint32_t parallelism_in(const checkpoint::loaded_checkpoint& chk, uint32_t op_index) {
  for (const auto& t : chk.m.tasks)
    if (t.op_index == op_index)
      return t.parallelism;
  return 0;
}

/// The lowest watermark the instances of operator `op_index` had at checkpoint `chk`.
timestamp watermark_in(const checkpoint::loaded_checkpoint& chk, uint32_t op_index) {
  auto wm = max_time;
  bool any = false;
  for (auto i = chk.states.lower_bound({op_index, 0});
       i != chk.states.end() && i->first.first == op_index; ++i) {
    wm = std::min(wm, task::watermark_of(i->second.runtime));
    any = true;
  }
  return any ? wm : min_time;
}

/// The snapshot writer of one generation: writes each task's state to the checkpoint
/// directory off the tasks' threads, and tells the coordinator.
caf::behavior snapshot_writer(caf::event_based_actor* self,
                              std::shared_ptr<checkpoint::storage> storage, caf::actor coordinator,
                              uint64_t generation, std::shared_ptr<internal::graph> g,
                              uint32_t key_groups) {
  return {
      [=](snapshot_atom, checkpoint_id id, uint32_t op, uint32_t instance, instance_state& st) {
        checkpoint::snapshot_meta meta;
        meta.checkpoint = id;
        meta.op_index = op;
        const auto& n = g->nodes[op];
        meta.op = n.name;
        meta.instance = instance;
        meta.parallelism = n.parallelism;
        auto keyed = std::any_of(n.inputs.begin(), n.inputs.end(),
                                 [](auto& e) { return e.kind == partitioning::hash; });
        if (keyed) {
          auto range = state::key_group_range::of(instance, n.parallelism, key_groups);
          meta.kg_first = range.first;
          meta.kg_end = range.end;
          meta.key_groups = key_groups;
        }
        auto written = storage->write_snapshot(meta, st);
        if (written)
          self->send(coordinator, ack_atom::value, generation, id, op, instance, *written,
                     std::string{});
        else
          self->send(coordinator, ack_atom::value, generation, id, op, instance, uint64_t{0},
                     describe(written.error()));
      },
  };
}

/// Whether job `g` can start from checkpoint `chk` (folder `path`): the same operators in the
/// same order, sources with the parallelism they had there. Otherwise a sentence on what differs.
caf::error check_start_from(const internal::graph& g, const checkpoint::loaded_checkpoint& chk,
                            const std::string& path) {
  auto refuse = [&](const std::string& why) {
    return make_error(errc::invalid_topology,
                      "job_config.checkpoints.start_from: " + path + ' ' + why);
  };
  // One entry per operator, in the order operators were added.
  std::map<uint32_t, const checkpoint::task_entry*> ops;
  for (const auto& t : chk.m.tasks)
    ops.emplace(t.op_index, &t);
  for (const auto& [op, entry] : ops) {
    const auto& t = *entry;
    if (t.op_index >= g.nodes.size() || g.nodes[t.op_index].name != t.op)
      return refuse("holds operator '" + t.op + "' at position " + std::to_string(t.op_index) +
                    ", where this job has " +
                    (t.op_index < g.nodes.size() ? "'" + g.nodes[t.op_index].name + "'"
                                                 : std::string{"no operator"}) +
                    ": a job starts from a savepoint of the same operators, named the same and "
                    "added in the same order (only their parallelism may change)");
    const auto& n = g.nodes[t.op_index];
    if (n.kind == "source" && t.parallelism != n.parallelism)
      return refuse("has " + std::to_string(t.parallelism) + " instance(s) of source '" + n.name +
                    "', this job " + std::to_string(n.parallelism) +
                    ": a source's position belongs to its instance, so give the source the "
                    "parallelism it had");
  }
  for (const auto& n : g.nodes)
    if (ops.count(static_cast<uint32_t>(n.id)) == 0)
      return refuse("has no state of operator '" + n.name +
                    "': start from a savepoint of this job, with the same operators");
  return caf::none;
}

/// The wait before restart number `n` (1-based) of a window: doubling from `base` up to `max`,
/// with +-20 % jitter.
caf::timespan backoff_for(size_t n, const checkpoint_config& cfg, std::mt19937_64& rng) {
  auto wait = static_cast<double>(cfg.backoff.count());
  for (size_t i = 1; i < n && wait < static_cast<double>(cfg.max_backoff.count()); ++i)
    wait *= 2;
  wait = std::min(wait, static_cast<double>(cfg.max_backoff.count()));
  std::uniform_real_distribution<double> jitter{0.8, 1.2};
  return caf::timespan{static_cast<int64_t>(wait * jitter(rng))};
}

} // namespace

caf::expected<job_report> job::run() {
  std::vector<size_t> order;
  if (auto err = prepare(order))
    return err;
  auto& nodes = g_->nodes;
  for (const auto& placed : cfg_.placement) {
    const auto& [op, node_name] = placed;
    if (cfg_.nodes.count(node_name) == 0)
      return make_error(errc::invalid_topology,
                        "operator '" + op + "' is placed on node '" + node_name +
                            "', which is not declared: add it with job_config.with_node(\"" +
                            node_name + "\", host, port)");
    if (std::none_of(nodes.begin(), nodes.end(),
                     [&placed](auto& n) { return n.name == placed.first; }))
      return make_error(errc::invalid_topology, "job_config.place names operator '" + op +
                                                    "', which the job does not have");
  }
  const auto& chk_cfg = cfg_.checkpoints;
  const bool checkpointing = !chk_cfg.directory.empty();
  std::shared_ptr<checkpoint::storage> storage;
  checkpoint_id next_checkpoint = 1;
  if (!checkpointing && cfg_.faults.halt_after_checkpoint != 0)
    return make_error(errc::invalid_topology,
                      "the fault plan halts the job after a checkpoint (" + to_string(cfg_.faults) +
                          "), but the job takes no checkpoints: turn them on with "
                          "job_config.with_checkpoints(dir, interval), or drop that fault");
  if (!checkpointing && !cfg_.faults.snapshot_faults.empty())
    return make_error(errc::invalid_topology,
                      "the fault plan damages snapshot files (" + to_string(cfg_.faults) +
                          "), but the job takes no checkpoints: turn them on with "
                          "job_config.with_checkpoints(dir, interval), or drop those faults");
  if (checkpointing) {
    if (auto err = check_checkpointing())
      return err;
    auto opened = checkpoint::storage::open(chk_cfg.directory, chk_cfg.keep_last);
    if (!opened)
      return make_error(errc::invalid_topology,
                        "job_config.checkpoints.directory: " + describe(opened.error()));
    storage = std::make_shared<checkpoint::storage>(std::move(*opened));
    if (auto err = storage->remove_incomplete())
      return make_error(errc::invalid_topology,
                        "job_config.checkpoints.directory: " + describe(err));
    // A new run starts from its input's beginning; its checkpoint ids follow earlier runs'.
    auto earlier = storage->completed();
    if (!earlier.empty())
      next_checkpoint = earlier.back() + 1;
  }
  if (auto err = check_faults())
    return err;
  // A savepoint (or a checkpoint) to start from: what a recovery goes back to until this run
  // completes a checkpoint of its own.
  std::optional<checkpoint::loaded_checkpoint> base;
  if (!chk_cfg.start_from.empty()) {
    auto got = checkpoint::storage::load_path(chk_cfg.start_from);
    if (!got)
      return make_error(errc::invalid_topology,
                        "job_config.checkpoints.start_from: " + describe(got.error()));
    if (auto err = check_start_from(*g_, *got, chk_cfg.start_from))
      return err;
    base = std::move(*got);
    // Ids go on from it: a task restored from it ignores barriers up to its id.
    next_checkpoint = std::max(next_checkpoint, base->m.id + 1);
  }
  const checkpoint_id base_id = base ? base->m.id : 0;
  // Whether the parallelism of some operator differs from checkpoint `chk`'s.
  auto rescaled = [&](const checkpoint::loaded_checkpoint& chk) {
    return std::any_of(nodes.begin(), nodes.end(), [&](const internal::node& n) {
      return parallelism_in(chk, static_cast<uint32_t>(n.id)) != n.parallelism;
    });
  };

  caf::actor_system_config sys_cfg;
  configure(sys_cfg, cfg_, *g_, !cfg_.placement.empty());
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};

  // The workers this job uses.
  std::map<std::string, caf::actor> workers;
  for (const auto& [op, node_name] : cfg_.placement) {
    if (workers.count(node_name) != 0)
      continue;
    auto& [host, port] = cfg_.nodes[node_name];
    auto worker = sys.middleman().remote_actor(host, port);
    if (!worker)
      return make_error(errc::remote_failure, "cannot reach node '" + node_name + "' at " + host +
                                                  ':' + std::to_string(port) + " (" +
                                                  sys.render(worker.error()) +
                                                  "): start it there with job.serve(port) first");
    workers[node_name] = *worker;
    self->monitor(*worker);
  }
  auto shutdown_workers = [&] {
    for (auto& [name, w] : workers)
      self->send(w, internal::shutdown_atom::value);
  };

  // Inputs of every consumer instance: each edge contributes one channel (forward) or one per
  // upstream instance, in the order of the edges.
  std::vector<std::vector<uint32_t>> edge_base(nodes.size());
  std::vector<uint32_t> input_count(nodes.size(), 0);
  // The incoming edge of every input channel (two-input operators tell their sides apart by it).
  std::vector<std::vector<uint32_t>> input_edges(nodes.size());
  for (auto& n : nodes) {
    uint32_t base = 0;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      auto& e = n.inputs[k];
      edge_base[n.id].push_back(base);
      auto channels = e.kind == partitioning::forward ? 1 : nodes[e.from].parallelism;
      base += channels;
      input_edges[n.id].insert(input_edges[n.id].end(), channels, static_cast<uint32_t>(k));
    }
    input_count[n.id] = base;
  }

  // The dead-letter pipeline: the dead-letter source and everything downstream of it.
  std::set<std::string> dl_ops;
  if (dead_letter_node_) {
    std::vector<size_t> todo{*dead_letter_node_};
    while (!todo.empty()) {
      auto id = todo.back();
      todo.pop_back();
      if (dl_ops.insert(nodes[id].name).second)
        for (auto c : nodes[id].consumers)
          todo.push_back(c);
    }
  }

  // The dead-letter task has one input per instance outside the dead-letter pipeline: each
  // task's dead-letter channel.
  size_t main_total = 0;
  for (auto& n : nodes)
    if (dl_ops.count(n.name) == 0)
      main_total += n.parallelism;
  if (dead_letter_node_)
    input_count[*dead_letter_node_] = static_cast<uint32_t>(main_total);

  // Spawn sinks first, so every task knows its downstream actors when it is created; and the
  // dead-letter pipeline before everything else, so every task knows where dead letters go.
  // (The dead-letter pipeline's own dead letters go to the coordinator.)
  auto coordinator = caf::actor_cast<caf::actor>(self);
  std::vector<size_t> spawn_order;
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (dl_ops.count(nodes[*it].name) != 0)
      spawn_order.push_back(*it);
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (dl_ops.count(nodes[*it].name) == 0)
      spawn_order.push_back(*it);

  job_report report;
  std::vector<std::shared_ptr<sink_committer>> committers;
  for (auto& n : nodes)
    if (n.committer)
      committers.push_back(n.committer);
  // A sink object used by an earlier run in this process may still hold what that run's tasks
  // pre-committed after its last checkpoint (a failed run's tasks stop asynchronously): it is
  // not this run's output.
  for (auto& c : committers)
    c->abort_after(base_id);
  // A run started from a checkpoint finishes what the job that took it left uncommitted (its
  // process may have died before the commit): each committer files again what is not visible.
  for (auto& n : nodes) {
    if (!base || !n.committer)
      continue;
    // Checkpoints of an earlier eddy kept a sink's uncommitted records in its instances'
    // states, which this one does not read: refused rather than losing them.
    auto op = static_cast<uint32_t>(n.id);
    for (auto it = base->states.lower_bound({op, 0});
         it != base->states.end() && it->first.first == op; ++it)
      if (!it->second.operator_state.empty())
        return make_error(errc::invalid_topology,
                          "job_config.checkpoints.start_from: " + chk_cfg.start_from +
                              " keeps what sink '" + n.name +
                              "' had not committed in the format of an earlier eddy, which "
                              "this one cannot take over: finish that job with the eddy that "
                              "wrote the checkpoint, or start without it");
    if (auto st = base->sink_states.find(op); st != base->sink_states.end())
      if (auto err = n.committer->restore(base_id, st->second))
        return make_error(errc::job_failed, "sink '" + n.name + "' cannot take over what " +
                                                chk_cfg.start_from +
                                                " left uncommitted: " + describe(err));
  }
  // Commits run on a thread of their own, in checkpoint order; an abort waits for them.
  internal::commit_worker commits{committers};
  auto abort_after = [&](checkpoint_id from) {
    commits.drain();
    for (auto& c : committers)
      c->abort_after(from);
  };
  // Dead letters are exactly-once too: those a task sent before a checkpoint's barrier belong to
  // that checkpoint, and the report keeps them once it completed.
  std::map<size_t, std::vector<dead_letter>> dl_open; // by slot
  std::map<size_t, checkpoint_id> dl_barrier;         // the last barrier of each channel
  std::map<size_t, bool> dl_ended;                    // the channels that ended
  std::map<checkpoint_id, std::vector<dead_letter>> dl_staged;
  std::map<checkpoint_id, std::vector<dead_letter>> dl_committed;
  // -- one generation of tasks: the first, and one more per recovery --------------------------
  uint64_t generation = 0;
  std::vector<task_slot> slots;
  std::map<caf::actor_addr, size_t> slot_of;
  std::vector<std::vector<caf::actor>> actors(nodes.size());
  // Failures per instance and record a user function threw on, and the records that became
  // poison for each instance (checkpoint_config::poison_after).
  std::map<std::pair<uint32_t, uint32_t>, std::map<std::string, uint32_t>> failures_on;
  std::map<std::pair<uint32_t, uint32_t>, std::vector<std::string>> poison;
  // How many times each crash of the fault plan fired.
  std::vector<uint32_t> crash_fired(cfg_.faults.crashes.size(), 0);
  caf::error failure;
  caf::actor writer_of_generation;
  const bool single_task = checkpointing && chk_cfg.recovery == recovery_mode::single_task;
  // The incarnation of instance `i` of operator `op` running now.
  auto epoch_of = [&](size_t op, uint32_t i) -> uint32_t {
    for (const auto& s : slots)
      if (s.op == op && s.instance == i)
        return s.epoch;
    return 0;
  };
  // The outgoing edges of instance `i` of `n`, to the tasks running now.
  auto outputs_of = [&](const internal::node& n, uint32_t i) {
    std::vector<internal::out_edge> outs;
    for (auto c : n.consumers) {
      auto& consumer = nodes[c];
      for (size_t k = 0; k < consumer.inputs.size(); ++k) {
        auto& e = consumer.inputs[k];
        if (e.from != n.id)
          continue;
        internal::out_edge out;
        out.consumer = c;
        out.edge = k;
        out.kind = e.kind;
        out.key_hash = e.key_hash;
        out.port = e.port;
        auto base = edge_base[c][k];
        if (e.kind == partitioning::forward)
          out.targets.push_back({actors[c][i], base, epoch_of(c, i), e.urgent});
        else
          for (uint32_t d = 0; d < actors[c].size(); ++d)
            out.targets.push_back({actors[c][d], base + i, epoch_of(c, d), e.urgent});
        outs.push_back(std::move(out));
      }
    }
    return outs;
  };
  // The spec of instance `i` of `n`, wired to the tasks running now, restored from `chk`.
  auto instance_spec = [&](const internal::node& n, uint32_t i, uint32_t dl_input,
                           const checkpoint::loaded_checkpoint* chk) {
    bool to_coordinator = !dead_letter_node_ || dl_ops.count(n.name) != 0;
    auto dead_letters = to_coordinator ? coordinator : actors[*dead_letter_node_].front();
    internal::instance_wiring wiring;
    wiring.timed = n.timed;
    wiring.state_backend = n.state_backend.value_or(cfg_.state_backend);
    wiring.processing_clock = processing_clock();
    wiring.input_edges = input_edges[n.id];
    wiring.first_side_edges = n.first_side_edges;
    wiring.outputs = outputs_of(n, i);
    auto spec = make_spec(n, i, input_count[n.id], cfg_.channels, std::move(wiring), coordinator,
                          dead_letters, dl_input);
    spec.op_index = static_cast<uint32_t>(n.id);
    spec.dead_letters_epoch = to_coordinator ? 0 : epoch_of(*dead_letter_node_, 0);
    spec.snapshots = writer_of_generation;
    if (single_task) {
      spec.log_limit = chk_cfg.in_flight_log_bytes;
      spec.record_determinants = true;
    }
    if (chk) {
      spec.restore_id = chk->m.id;
      spec.restore_finished = checkpoint::finished(*chk, spec.op_index, i);
      spec.restore = std::make_shared<instance_state>(
          checkpoint::assemble(*chk, spec.op_index, i, n.parallelism, cfg_.channels.key_groups));
      if (rescaled(*chk)) {
        // Sequence numbers of channels of another shape mean nothing here: every channel starts
        // afresh (every task starts from this checkpoint), event time where the operator was.
        spec.restore->runtime.clear();
        spec.restore_watermark = watermark_in(*chk, spec.op_index);
        // Replicated state (broadcast state, a model served) is the same on every instance: a
        // new one takes instance 0's copy.
        auto old = parallelism_in(*chk, spec.op_index);
        auto first = chk->states.find({spec.op_index, 0});
        if (n.replicated_state && i >= old && first != chk->states.end())
          spec.restore->operator_state = first->second.operator_state;
      }
    }
    if (auto p = poison.find({spec.op_index, i}); p != poison.end())
      spec.poison = p->second;
    for (const auto& d : cfg_.faults.delays)
      if (d.op == "all" || d.op == n.name) {
        spec.delay_max = d.max;
        spec.delay_seed = cfg_.faults.seed * 7919 + n.id * 131 + i;
      }
    // A replacement, or a task that starts from a savepoint: it restores.
    bool restoring = chk != nullptr || generation > 1 || epoch_of(n.id, i) > 0;
    for (size_t f = 0; f < cfg_.faults.crashes.size(); ++f) {
      const auto& crash = cfg_.faults.crashes[f];
      if (crash_fired[f] >= crash.times || crash.op != n.name || crash.instance != i)
        continue;
      switch (crash.when) {
      case fault_plan::crash::after:
        spec.crash_after_records = crash.after_records;
        break;
      case fault_plan::crash::at_checkpoint:
        spec.crash_at_checkpoint = crash.checkpoint;
        break;
      case fault_plan::crash::on_restore:
        spec.crash_on_restore = restoring;
        break;
      case fault_plan::crash::at_end:
        spec.crash_at_end = true;
        break;
      }
    }
    for (const auto& t : cfg_.faults.throws)
      if (t.op == n.name && t.instance == i)
        spec.throw_on_record = t.record;
    return spec;
  };
  // Spawns every task, restored from `chk` when given.
  auto spawn_generation = [&](const checkpoint::loaded_checkpoint* chk) {
    ++generation;
    slots.clear();
    slot_of.clear();
    for (auto& instances : actors)
      instances.clear();
    caf::actor writer;
    if (checkpointing)
      writer = sys.spawn<caf::detached>(snapshot_writer, storage, coordinator, generation, g_,
                                        cfg_.channels.key_groups);
    std::vector<std::shared_ptr<instance_metrics>> all_metrics;
    uint32_t next_dl_input = 0;
    writer_of_generation = writer;
    for (auto it = spawn_order.begin(); it != spawn_order.end() && !failure; ++it) {
      auto& n = nodes[*it];
      auto placed = cfg_.placement.find(n.name);
      bool to_coordinator = !dead_letter_node_ || dl_ops.count(n.name) != 0;
      // A node that is gone (its worker process died): its operators run here from now on.
      if (placed != cfg_.placement.end() && workers.count(placed->second) == 0)
        placed = cfg_.placement.end();
      for (uint32_t i = 0; i < n.parallelism && !failure; ++i) {
        auto dl_input = to_coordinator ? 0 : next_dl_input++;
        task_slot slot;
        slot.op = static_cast<uint32_t>(n.id);
        slot.instance = i;
        slot.dl_input = dl_input;
        auto spec = instance_spec(n, i, dl_input, chk);
        spec.slot = static_cast<uint32_t>(slots.size());
        if (placed == cfg_.placement.end()) {
          all_metrics.push_back(spec.metrics);
          slot.actor = sys.spawn<task>(std::move(spec));
        } else {
          auto dead_letters = to_coordinator ? coordinator : actors[*dead_letter_node_].front();
          internal::instance_wiring wiring;
          wiring.timed = n.timed;
          wiring.input_edges = input_edges[n.id];
          wiring.first_side_edges = n.first_side_edges;
          wiring.outputs = outputs_of(n, i);
          auto request = make_request(n, i, input_count[n.id], cfg_.channels, wiring, coordinator,
                                      dead_letters, dl_input);
          copy_recovery(spec, request);
          self->request(workers[placed->second], std::chrono::seconds{30},
                        internal::spawn_atom::value, std::move(request))
              .receive([&](caf::actor& a) { slot.actor = std::move(a); },
                       [&](caf::error& err) {
                         failure = make_error(errc::remote_failure,
                                              "node '" + placed->second + "' could not start '" +
                                                  n.name + "': " + describe(err));
                       });
          if (failure)
            break;
        }
        actors[n.id].push_back(slot.actor);
        if (chk)
          dl_barrier[slots.size()] = chk->m.id;
        slot_of[slot.actor.address()] = slots.size();
        slots.push_back(std::move(slot));
      }
    }
    {
      std::lock_guard<std::mutex> guard{live_mtx_};
      live_ = all_metrics;
    }
    if (failure)
      return;
    for (auto& s : slots)
      self->monitor(s.actor);
    for (auto it = order.rbegin(); it != order.rend(); ++it)
      for (auto& a : actors[*it])
        self->send(a, start_atom::value);
  };

  // -- the coordinator ----------------------------------------------------------------------
  auto keep = [&](std::vector<dead_letter>& xs) {
    for (auto& x : xs) {
      if (report.dead_letters.size() < cfg_.kept_dead_letters)
        report.dead_letters.push_back(std::move(x));
      else
        ++report.dead_letters_not_kept;
    }
    xs.clear();
  };
  // Checkpoints.
  std::vector<checkpoint_id> completed; // this run's, ascending
  // What a recovery goes back to: the last completed checkpoint, else the savepoint the run
  // started from (0: the start of the input).
  auto recovery_point = [&] { return completed.empty() ? base_id : completed.back(); };
  // Forgets a task's determinants up to and including its marker of checkpoint `id`; false
  // when the marker has not arrived (yet).
  auto drop_dets_through = [](task_slot& s, checkpoint_id id) {
    auto marker = std::find_if(s.dets.begin(), s.dets.end(), [id](const determinant& d) {
      return d.kind == determinant::checkpoint && d.value == id;
    });
    if (marker == s.dets.end())
      return false;
    s.dets.erase(s.dets.begin(), marker + 1);
    return true;
  };
  std::optional<pending_checkpoint> pending;
  // Savepoints asked for while another checkpoint was under way (or the job recovered).
  std::vector<savepoint_request> savepoints_waiting;
  // The savepoint the job stopped at (stop_with_savepoint), once it completed.
  checkpoint_id stopped_at = 0;
  auto abandon = [&](const std::string& why) {
    if (!pending)
      return;
    // Tasks aligning on it stop holding their inputs back (and sources stopped at it go on).
    for (auto& s : slots)
      if (!s.done && !s.down)
        self->send(s.actor, abort_atom::value, pending->id);
    ++report.checkpoints_abandoned;
    if (!why.empty())
      report.notes.push_back("checkpoint " + std::to_string(pending->id) + " abandoned: " + why);
    for (auto& w : pending->waiting)
      w.set_value(make_error(errc::job_failed,
                             "savepoint " + std::to_string(pending->id) + " was abandoned: " +
                                 (why.empty() ? std::string{"a task failed during it"} : why) +
                                 "; ask again"));
    pending.reset();
    if (!savepoints_waiting.empty())
      self->send(self, savepoint_atom::value);
  };
  // Recovery.
  enum class phase { running, stopping, waiting } ph = phase::running;
  std::string recovery_cause;
  // Further failures while the job was already going back (two at once): the same recovery.
  std::vector<std::string> also_failed;
  // Why the failed task was not recovered alone; the wait before the whole job restarts.
  std::string fallback_reason;
  caf::timespan restart_backoff{0};
  auto failure_at = std::chrono::steady_clock::now();
  std::deque<std::chrono::steady_clock::time_point> restarts;
  std::mt19937_64 rng{cfg_.faults.seed};
  size_t kills = 0;
  std::map<caf::actor_addr, std::string> killed;
  bool running = true;

  auto slot_name = [&](const task_slot& s) {
    return nodes[s.op].name + '#' + std::to_string(s.instance);
  };
  // An injected crash of `s` fired (the error's code says which kind): it is not armed again.
  auto count_crash = [&](const task_slot& s, const caf::error& reason) {
    auto when = static_cast<fault_plan::crash::when_t>(reason.code() - 1);
    for (size_t f = 0; f < cfg_.faults.crashes.size(); ++f) {
      const auto& c = cfg_.faults.crashes[f];
      if (c.op == nodes[s.op].name && c.instance == s.instance && c.when == when)
        ++crash_fired[f];
    }
  };
  // Fault injection: the next damage fault of the snapshot files hits the checkpoint the
  // recovery about to start goes back to.
  size_t next_damage = 0;
  auto damage_before_recovery = [&] {
    using sf = fault_plan::snapshot_fault;
    const auto& faults = cfg_.faults.snapshot_faults;
    while (next_damage < faults.size() && faults[next_damage].kind == sf::fail_write)
      ++next_damage;
    if (ph != phase::running || completed.empty() || next_damage == faults.size())
      return;
    bool cut = faults[next_damage++].kind == sf::truncate;
    auto id = completed.back();
    auto file = storage->damage_snapshot(id, rng(), cut);
    report.faults.push_back(file ? std::string{"injected fault: "} +
                                       (cut ? "truncated " : "corrupted ") + file->string() +
                                       " of checkpoint " + std::to_string(id)
                                 : "injected fault not applied: " + describe(file.error()));
  };
  auto is_source_slot = [&](const task_slot& s) {
    return nodes[s.op].is_source && (!dead_letter_node_ || s.op != *dead_letter_node_);
  };
  auto current = [&](const caf::actor_addr& a) -> task_slot* {
    auto it = slot_of.find(a);
    return it == slot_of.end() ? nullptr : &slots[it->second];
  };
  bool halted = false; // the fault plan's halt came
  auto try_complete = [&] {
    if (!pending)
      return;
    for (size_t k = 0; k < slots.size(); ++k) {
      const auto& s = slots[k];
      bool finished_before = s.done && s.last_checkpoint < pending->id;
      if (!finished_before && pending->acked.count(k) == 0)
        return;
      // The dead letters a task sent before its barrier belong to the checkpoint: it completes
      // once they are here. (Its dead-letter channel is under credit, so that barrier can come
      // after the acknowledgement, which travels through the snapshot writer.)
      bool to_coordinator = !dead_letter_node_ || dl_ops.count(nodes[s.op].name) != 0;
      if (to_coordinator && !finished_before && !dl_ended[k] && dl_barrier[k] < pending->id)
        return;
    }
    checkpoint::manifest m;
    m.id = pending->id;
    m.savepoint = pending->savepoint;
    m.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    uint64_t bytes = 0;
    for (size_t k = 0; k < slots.size(); ++k) {
      checkpoint::task_entry e;
      e.op_index = slots[k].op;
      e.op = nodes[slots[k].op].name;
      e.instance = slots[k].instance;
      e.parallelism = nodes[slots[k].op].parallelism;
      auto acked = pending->acked.find(k);
      e.finished = acked == pending->acked.end();
      e.bytes = e.finished ? 0 : acked->second;
      bytes += e.bytes;
      m.tasks.push_back(std::move(e));
    }
    // What the exactly-once sinks hold for it and have not committed, finished instances' output
    // included: a job started from this checkpoint in a new process commits it.
    for (const auto& n : nodes) {
      if (!n.committer)
        continue;
      auto kept = n.committer->checkpoint_state(pending->id);
      if (kept.empty())
        continue;
      auto written =
          storage->write_sink_state(pending->id, static_cast<uint32_t>(n.id), n.name, kept);
      if (!written) {
        abandon(describe(written.error()));
        return;
      }
      bytes += *written;
      m.sinks.push_back({static_cast<uint32_t>(n.id), n.name, *written});
    }
    if (auto err = storage->complete(m)) {
      abandon(describe(err));
      return;
    }
    auto id = pending->id;
    report.checkpoints.push_back({id, std::chrono::steady_clock::now() - pending->started, bytes});
    completed.push_back(id);
    if (pending->savepoint) {
      savepoint_info info{id, storage->path_of(id).string()};
      report.savepoints.push_back(info);
      for (auto& w : pending->waiting)
        w.set_value(info);
      if (pending->stop) {
        stopped_at = id; // the job ends here (after the loop)
        running = false;
      }
    }
    pending.reset();
    if (cfg_.faults.halt_after_checkpoint != 0 && !halted &&
        id >= cfg_.faults.halt_after_checkpoint) {
      halted = true;
      // A process dying here: nobody commits the checkpoint or hears that it completed.
      failure = make_error(
          errc::job_failed,
          "injected fault: the job halted right after checkpoint " + std::to_string(id) +
              " completed, before its output was committed (as when its "
              "process dies there); a job started from " +
              storage->path_of(id).string() + " (job_config::from_savepoint) carries on");
      running = false;
      return;
    }
    if (!savepoints_waiting.empty() && stopped_at == 0)
      self->send(self, savepoint_atom::value);
    // In-flight logs and determinants before it are no longer needed.
    for (auto& s : slots) {
      if (!s.done && !s.down)
        self->send(s.actor, complete_atom::value, id);
      if (!drop_dets_through(s, id) && s.done)
        s.dets.clear();
    }
    commits.commit(id); // what fails stays pending for the next commit
    auto end = dl_staged.upper_bound(id);
    for (auto it = dl_staged.begin(); it != end; ++it)
      dl_committed[it->first] = std::move(it->second);
    dl_staged.erase(dl_staged.begin(), end);
  };
  auto on_failure = [&](std::string cause) {
    if (ph != phase::running)
      return;
    if (!checkpointing) {
      failure = make_error(errc::job_failed, std::move(cause));
      running = false;
      return;
    }
    auto now = std::chrono::steady_clock::now();
    restarts.push_back(now);
    while (!restarts.empty() && now - restarts.front() > chk_cfg.restart_window)
      restarts.pop_front();
    if (restarts.size() > chk_cfg.max_restarts) {
      failure =
          make_error(errc::job_failed,
                     "the job failed " + std::to_string(restarts.size()) + " times within " +
                         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            chk_cfg.restart_window)
                                            .count()) +
                         " ms, more than checkpoints.max_restarts (" +
                         std::to_string(chk_cfg.max_restarts) + "); the last failure: " + cause +
                         ". Fix the cause, or raise max_restarts / shorten restart_window");
      running = false;
      return;
    }
    abandon({});
    ph = phase::stopping;
    recovery_cause = std::move(cause);
    failure_at = now;
    // Everything goes back to the last completed checkpoint: stop every task first.
    for (auto& s : slots)
      if (!s.down)
        self->send_exit(s.actor, caf::exit_reason::kill);
  };
  // Whether slot `u` sends to slot `k` (an edge, or the dead-letter channel).
  auto feeds = [&](size_t u, size_t k) {
    const auto& to = slots[k];
    const auto& from = slots[u];
    for (const auto& e : nodes[to.op].inputs)
      if (e.from == from.op && (e.kind != partitioning::forward || from.instance == to.instance))
        return true;
    return dead_letter_node_ && to.op == *dead_letter_node_ &&
           dl_ops.count(nodes[from.op].name) == 0;
  };
  // Replaces slot `k` alone (single-task recovery); false when that cannot be done, and the
  // whole job must go back instead.
  auto recover_alone = [&](size_t k, const std::string& cause) {
    auto& s = slots[k];
    fallback_reason.clear();
    if (!single_task || ph != phase::running || s.done)
      return false;
    // Why the whole job goes back instead: said in the recovery's record.
    auto decline = [&](std::string why) {
      fallback_reason = std::move(why);
      return false;
    };
    // Single-task recoveries count against the restart limit like whole-job ones (which
    // on_failure applies when this declines).
    auto now = std::chrono::steady_clock::now();
    while (!restarts.empty() && now - restarts.front() > chk_cfg.restart_window)
      restarts.pop_front();
    if (restarts.size() + 1 > chk_cfg.max_restarts)
      return decline("the restart limit is reached");
    // (A replacement that failed before a checkpoint completed is replaced again the same way:
    // the tasks feeding it still log what they sent since the checkpoint, and the coordinator
    // kept every determinant since, its predecessor's and its own.)
    auto from = recovery_point();
    std::vector<size_t> feeders;
    for (size_t u = 0; u < slots.size(); ++u) {
      if (u == k || !feeds(u, k))
        continue;
      if (slots[u].done && slots[u].last_checkpoint < from)
        continue; // it finished before the checkpoint: the snapshot has all it sent
      if (slots[u].done || slots[u].down)
        return decline(slot_name(slots[u]) + ", which feeds it, has " +
                       (slots[u].done ? "finished" : "failed too") + " since the checkpoint");
      if (slots[u].replaced_at == from)
        return decline(slot_name(slots[u]) + ", which feeds it, was replaced since the checkpoint");
      feeders.push_back(u);
    }
    // A task it feeds that was replaced since the checkpoint replays its predecessor's choices,
    // which name the batches this one's predecessor sent; a replacement cuts them otherwise.
    for (size_t d = 0; d < slots.size(); ++d)
      if (d != k && feeds(k, d) && !slots[d].done && slots[d].replaced_at == from)
        return decline(slot_name(slots[d]) +
                       ", which it feeds, was replaced since the checkpoint and replays what its "
                       "predecessor took");
    std::optional<checkpoint::loaded_checkpoint> chk;
    if (completed.empty()) {
      chk = base; // the savepoint the run started from, if any
    } else {
      auto got = storage->load(from);
      if (!got)
        return decline("its snapshot does not load: " + describe(got.error()));
      chk = std::move(*got);
    }
    abandon({});
    // What the failed instance pre-committed after the checkpoint goes (its replacement sends
    // it again) before the replacement can pre-commit anything.
    if (nodes[s.op].committer)
      nodes[s.op].committer->abort_instance_after(from, s.instance);
    auto detected = std::chrono::steady_clock::now();
    auto old = s.actor;
    slot_of.erase(old.address());
    self->send_exit(old, caf::exit_reason::kill); // in case it is still alive (it failed)
    ++s.epoch;
    auto spec = instance_spec(nodes[s.op], s.instance, s.dl_input, chk ? &*chk : nullptr);
    spec.slot = static_cast<uint32_t>(k);
    spec.epoch = s.epoch;
    // Its choices since the checkpoint it goes back to: what precedes that checkpoint's marker
    // goes (normally gone already, trimmed when the marker came).
    drop_dets_through(s, from);
    spec.replay.assign(s.dets.begin(), s.dets.end());
    spec.aborted = next_checkpoint - 1; // every checkpoint after `from` is abandoned
    auto metrics = spec.metrics;
    s.actor = sys.spawn<task>(std::move(spec));
    s.down = false;
    slot_of[s.actor.address()] = k;
    actors[s.op][s.instance] = s.actor;
    {
      std::lock_guard<std::mutex> guard{live_mtx_};
      for (auto& m : live_)
        if (m->op() == nodes[s.op].name && m->instance() == s.instance)
          m = metrics;
    }
    self->monitor(s.actor);
    bool rewired = true;
    for (auto u : feeders)
      self->request(slots[u].actor, std::chrono::seconds{10}, rewire_atom::value, old.address(),
                    s.actor, s.epoch, from)
          .receive([&](bool ok) { rewired = rewired && ok; },
                   [&](caf::error&) { rewired = false; });
    if (!rewired)
      return decline("a channel feeding it could not send again what it sent since the "
                     "checkpoint (its in-flight log outgrew checkpoints.in_flight_log_bytes)");
    restarts.push_back(now);
    s.replaced_at = from;
    self->send(s.actor, start_atom::value);
    report.recoveries.push_back(
        {cause, from, std::chrono::steady_clock::now() - detected, /*single_task=*/true, {}, {}});
    return true;
  };
  auto sources_running = [&] {
    return std::any_of(slots.begin(), slots.end(),
                       [&](auto& s) { return is_source_slot(s) && !s.done; });
  };
  // Starts checkpoint `next_checkpoint` at the sources (a savepoint, at which the job stops).
  auto begin_checkpoint = [&](bool savepoint, bool stop,
                              std::vector<std::promise<caf::expected<savepoint_info>>> waiting) {
    pending =
        pending_checkpoint{next_checkpoint++, std::chrono::steady_clock::now(), {}, savepoint, stop,
                           std::move(waiting)};
    for (const auto& f : cfg_.faults.snapshot_faults)
      if (f.kind == fault_plan::snapshot_fault::fail_write && f.checkpoint == pending->id) {
        storage->fail_next_writes(1);
        report.faults.push_back("injected fault: a snapshot write of checkpoint " +
                                std::to_string(pending->id) + " fails");
      }
    for (auto& s : slots)
      if (is_source_slot(s) && !s.done)
        self->send(s.actor, checkpoint_atom::value, pending->id, stop);
    try_complete();
  };
  auto maybe_restart = [&] {
    if (ph != phase::stopping ||
        std::any_of(slots.begin(), slots.end(), [](auto& s) { return !s.down; }))
      return;
    if (writer_of_generation)
      self->send_exit(writer_of_generation, caf::exit_reason::user_shutdown);
    auto from = recovery_point();
    abort_after(from);
    dl_open.clear();
    dl_barrier.clear();
    dl_ended.clear();
    dl_staged.clear();
    for (auto& s : slots)
      s.dets.clear();
    ph = phase::waiting;
    restart_backoff = backoff_for(restarts.size(), chk_cfg, rng);
    self->delayed_send(self, restart_backoff, restart_atom::value, generation);
  };
  auto restart = [&] {
    std::optional<checkpoint::loaded_checkpoint> chk;
    while (!completed.empty()) {
      auto got = storage->load(completed.back());
      if (got) {
        chk = std::move(*got);
        break;
      }
      auto damaged = completed.back();
      completed.pop_back();
      report.notes.push_back("checkpoint " + std::to_string(damaged) + " is damaged (" +
                             describe(got.error()) + "): recovering from " +
                             (!completed.empty() ? "checkpoint " + std::to_string(completed.back())
                              : base             ? "the savepoint the run started from"
                                                 : std::string{"the start of the input"}) +
                             " instead");
    }
    if (completed.empty())
      chk = base;
    auto from = recovery_point();
    // A node that was gone and is back takes its operators again.
    for (const auto& [op, node_name] : cfg_.placement) {
      if (workers.count(node_name) != 0)
        continue;
      auto& [host, port] = cfg_.nodes[node_name];
      if (auto w = sys.middleman().remote_actor(host, port)) {
        workers[node_name] = *w;
        self->monitor(*w);
        report.notes.push_back("node '" + node_name + "' is back: its operators run there again");
      }
    }
    // Going back past a completed checkpoint takes back what sinks committed after it.
    abort_after(from);
    dl_committed.erase(dl_committed.upper_bound(from), dl_committed.end());
    report.metrics.clear();
    spawn_generation(chk ? &*chk : nullptr);
    if (failure) {
      running = false;
      return;
    }
    report.recoveries.push_back({recovery_cause, from,
                                 std::chrono::steady_clock::now() - failure_at,
                                 /*single_task=*/false, std::exchange(fallback_reason, {}),
                                 restart_backoff, std::exchange(also_failed, {})});
    ph = phase::running;
    if (!savepoints_waiting.empty())
      self->send(self, savepoint_atom::value);
  };

  auto start = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> guard{live_mtx_};
    coordinator_ = coordinator;
  }
  for (const auto& d : cfg_.faults.delays)
    report.faults.push_back("injected fault: what " +
                            (d.op == "all" ? std::string{"every operator"} : "'" + d.op + "'") +
                            " sends is held back by up to " + to_duration_string(d.max) +
                            " at random");
  if (base)
    report.notes.push_back(std::string{"started from "} +
                           (base->m.savepoint ? "savepoint " : "checkpoint ") +
                           std::to_string(base_id) + " (" + chk_cfg.start_from + ")" +
                           (rescaled(*base) ? ", with another parallelism" : ""));
  spawn_generation(base ? &*base : nullptr);
  if (!failure) {
    if (checkpointing)
      self->delayed_send(self, chk_cfg.interval, trigger_atom::value);
    if (cfg_.faults.kill_every.count() > 0 && cfg_.faults.kill_count > 0)
      self->delayed_send(self, cfg_.faults.kill_every, fault_atom::value);
    for (size_t k = 0; k < cfg_.faults.kills.size(); ++k)
      self->delayed_send(self, cfg_.faults.kills[k].at, fault_atom::value, uint64_t{k});
  }
  running = !failure;
  self->receive_while(running)(
      [&](done_atom, metrics_snapshot& m, checkpoint_id last) {
        auto* s = current(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (!s || s->done)
          return;
        s->done = true;
        s->last_checkpoint = last;
        report.metrics.push_back(std::move(m));
        try_complete(); // may end the run (a halt, a savepoint to stop at)
        running = running && (ph != phase::running || std::any_of(slots.begin(), slots.end(),
                                                                  [](auto& x) { return !x.done; }));
      },
      // Dead letters of tasks with no dead-letter stream to feed, in batches under credit.
      [&](batch<dead_letter>& b) {
        auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto* s = current(sender);
        if (!s)
          return;
        // A replacement sends again what its predecessor sent since the checkpoint.
        auto n = b.items.size();
        if (b.seq + n <= s->dl_seq) {
          b.items.clear();
        } else if (b.seq < s->dl_seq) {
          b.items.erase(b.items.begin(),
                        b.items.begin() + static_cast<std::ptrdiff_t>(s->dl_seq - b.seq));
        }
        s->dl_seq = std::max(s->dl_seq, b.seq + n);
        if (checkpointing) {
          auto& open = dl_open[slot_of[sender]];
          open.insert(open.end(), std::make_move_iterator(b.items.begin()),
                      std::make_move_iterator(b.items.end()));
        } else {
          keep(b.items);
        }
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), credit{b.origin, 1});
      },
      [&](control& c) {
        // The barriers and end of a dead-letter channel: the dead letters before barrier n
        // belong to checkpoint n; those after a task's last barrier to the next checkpoint (the
        // first that counts the task as finished).
        auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
        if (!current(sender))
          return;
        auto k = slot_of[sender];
        checkpoint_id id = 0;
        if (c.kind == control_kind::barrier && c.value > dl_barrier[k]) {
          id = dl_barrier[k] = c.value;
        } else if (c.kind == control_kind::end_of_stream) {
          id = dl_barrier[k] + 1;
          dl_ended[k] = true;
        } else {
          return;
        }
        // Letters of a checkpoint that completed already are committed with it.
        auto& open = dl_open[k];
        auto& staged =
            !completed.empty() && id <= completed.back() ? dl_committed[id] : dl_staged[id];
        staged.insert(staged.end(), std::make_move_iterator(open.begin()),
                      std::make_move_iterator(open.end()));
        open.clear();
        try_complete(); // a checkpoint may have waited for this barrier
      },
      [&](failed_atom, std::string& reason, std::string& record) {
        auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto* s = current(sender);
        if (!s)
          return;
        // A record a user function keeps throwing on becomes poison for that instance.
        if (checkpointing && !record.empty() && chk_cfg.poison_after > 0 &&
            ++failures_on[{s->op, s->instance}][record] == chk_cfg.poison_after) {
          poison[{s->op, s->instance}].push_back(record);
          report.notes.push_back("record " + record + " failed " + slot_name(*s) + " " +
                                 std::to_string(chk_cfg.poison_after) +
                                 " times: it is a poison record, which the next attempt sends "
                                 "to the dead-letter output");
        }
        if (ph != phase::running) {
          also_failed.push_back(std::move(reason)); // the job is going back already
          return;
        }
        damage_before_recovery();
        if (!recover_alone(slot_of[sender], reason))
          on_failure(std::move(reason));
      },
      [&](det_atom, uint32_t k, uint32_t epoch, std::vector<determinant>& ds) {
        if (k >= slots.size() || slots[k].epoch != epoch)
          return;
        slots[k].dets.insert(slots[k].dets.end(), ds.begin(), ds.end());
        // A task's snapshot can reach the coordinator (through the writer) before the marker of
        // that checkpoint among its determinants: what precedes a completed one goes now.
        if (!completed.empty())
          drop_dets_through(slots[k], completed.back());
      },
      [&](caf::down_msg& x) {
        for (auto w = workers.begin(); w != workers.end(); ++w)
          if (w->second.address() == x.source) {
            // Its tasks' own down messages start the recovery; the next generation runs what
            // was placed there in this process, or there again once the node is back.
            report.notes.push_back("node '" + w->first + "' is gone (" + describe(x.reason) +
                                   "): its operators run in this process until it is back");
            workers.erase(w);
            return;
          }
        auto* s = current(x.source);
        if (!s)
          return;
        s->down = true;
        // A task reports done before it quits, so one that is gone without reporting failed
        // (or its process or connection did).
        if (!s->done && ph == phase::running) {
          std::string why = x.reason ? describe(x.reason) : std::string{"no reason"};
          if (x.reason.category() == fault_category) {
            report.faults.push_back(why);
            count_crash(*s, x.reason);
          } else if (auto k = killed.find(x.source); k != killed.end()) {
            report.faults.push_back(k->second);
            why = "killed by the fault plan";
          }
          auto cause = checkpointing
                           ? "operator " + slot_name(*s) + " stopped unexpectedly (" + why + ")"
                           : "an operator instance stopped unexpectedly (" + why +
                                 "): if it ran on a worker, check that process";
          damage_before_recovery();
          if (!recover_alone(slot_of[x.source], cause))
            on_failure(cause);
        } else if (!s->done &&
                   (x.reason.category() == fault_category || killed.count(x.source) != 0)) {
          // An injected fault while the job was already going back (two at once): the same
          // recovery covers it.
          auto k = killed.find(x.source);
          auto what = k != killed.end() ? k->second : describe(x.reason);
          report.faults.push_back(what);
          if (k == killed.end())
            count_crash(*s, x.reason);
          also_failed.push_back("operator " + slot_name(*s) + " stopped (" + what + ")");
        }
        maybe_restart();
      },
      [&](ack_atom, uint64_t gen, checkpoint_id id, uint32_t op, uint32_t instance, uint64_t bytes,
          std::string& error) {
        if (gen != generation || !pending || pending->id != id || ph != phase::running)
          return;
        if (!error.empty()) {
          abandon(error);
          return;
        }
        for (size_t k = 0; k < slots.size(); ++k)
          if (slots[k].op == op && slots[k].instance == instance)
            pending->acked[k] = bytes;
        try_complete();
      },
      [&](trigger_atom) {
        self->delayed_send(self, chk_cfg.interval, trigger_atom::value);
        if (ph != phase::running)
          return;
        if (pending && std::chrono::steady_clock::now() - pending->started >= chk_cfg.timeout)
          abandon("not complete within checkpoints.timeout");
        if (!pending && sources_running())
          begin_checkpoint(false, false, {}); // one at a time; none once every source ended
      },
      [&](savepoint_atom) {
        {
          std::lock_guard<std::mutex> guard{live_mtx_};
          for (auto& r : savepoint_requests_)
            savepoints_waiting.push_back(std::move(r));
          savepoint_requests_.clear();
        }
        if (savepoints_waiting.empty() || pending || ph != phase::running || stopped_at != 0)
          return; // after the checkpoint under way, or the recovery
        if (!sources_running()) {
          for (auto& w : savepoints_waiting)
            w.done.set_value(make_error(errc::job_failed,
                                        "no savepoint: every source has ended and the job is "
                                        "finishing (its end is its last checkpoint)"));
          savepoints_waiting.clear();
          return;
        }
        // Every request waiting is served by this one savepoint.
        bool stop = std::any_of(savepoints_waiting.begin(), savepoints_waiting.end(),
                                [](const savepoint_request& r) { return r.stop; });
        std::vector<std::promise<caf::expected<savepoint_info>>> waiting;
        for (auto& w : savepoints_waiting)
          waiting.push_back(std::move(w.done));
        savepoints_waiting.clear();
        begin_checkpoint(true, stop, std::move(waiting));
      },
      [&](fault_atom) {
        if (ph == phase::running) {
          std::vector<size_t> alive;
          for (size_t k = 0; k < slots.size(); ++k)
            if (!slots[k].done && !slots[k].down &&
                (cfg_.faults.kill_among.empty() ||
                 nodes[slots[k].op].name == cfg_.faults.kill_among))
              alive.push_back(k);
          auto at = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start);
          for (size_t n = 0; n < cfg_.faults.kill_together && !alive.empty(); ++n) {
            auto pick = std::uniform_int_distribution<size_t>{0, alive.size() - 1}(rng);
            auto& s = slots[alive[pick]];
            alive.erase(alive.begin() + static_cast<std::ptrdiff_t>(pick));
            // Reported when its down message shows the kill hit a running task.
            killed[s.actor.address()] = "injected fault: killed " + slot_name(s) + " at " +
                                        std::to_string(at.count()) + " ms";
            self->send_exit(s.actor, caf::exit_reason::kill);
          }
          ++kills;
        }
        if (kills < cfg_.faults.kill_count)
          self->delayed_send(self, cfg_.faults.kill_every, fault_atom::value);
      },
      [&](fault_atom, uint64_t k) {
        // A kill of a named task: now, or as soon as the job runs again if it is recovering.
        const auto& kill = cfg_.faults.kills[k];
        auto it = std::find_if(slots.begin(), slots.end(), [&](const task_slot& s) {
          return nodes[s.op].name == kill.op && s.instance == kill.instance;
        });
        if (it == slots.end() || it->done) {
          report.notes.push_back(
              "the fault plan's kill of " + kill.op + "#" + std::to_string(kill.instance) + " at " +
              to_duration_string(kill.at) + " was not injected: that instance had finished");
          return;
        }
        if (ph != phase::running || it->down) {
          self->delayed_send(self, std::chrono::milliseconds{1}, fault_atom::value, k);
          return;
        }
        auto at = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        killed[it->actor.address()] = "injected fault: killed " + slot_name(*it) + " at " +
                                      std::to_string(at.count()) + " ms (the plan said " +
                                      to_duration_string(kill.at) + ")";
        self->send_exit(it->actor, caf::exit_reason::kill);
      },
      [&](fault_atom, std::string& what) {
        // A task's user function was made to throw (fault_plan::throws).
        report.faults.push_back(std::move(what));
      },
      [&](restart_atom, uint64_t gen) {
        if (gen == generation && ph == phase::waiting)
          restart();
      });
  report.elapsed = std::chrono::steady_clock::now() - start;
  // Savepoints asked for that will not be taken now.
  auto unserved = [](std::promise<caf::expected<savepoint_info>>& p) {
    p.set_value(make_error(errc::job_failed, "the job ended before the savepoint was taken"));
  };
  if (pending)
    for (auto& w : pending->waiting)
      unserved(w);
  for (auto& w : savepoints_waiting)
    unserved(w.done);
  {
    std::lock_guard<std::mutex> guard{live_mtx_};
    coordinator_ = nullptr;
    for (auto& r : savepoint_requests_)
      unserved(r.done);
    savepoint_requests_.clear();
    if (stopped_at != 0) {
      // Tasks stopped, not finished: their counters now.
      report.metrics.clear();
      for (const auto& m : live_)
        report.metrics.push_back(m->snapshot());
    }
  }
  if (writer_of_generation)
    self->send_exit(writer_of_generation, caf::exit_reason::user_shutdown);
  if (failure || stopped_at != 0)
    for (auto& s : slots)
      self->send_exit(s.actor, caf::exit_reason::user_shutdown);
  shutdown_workers();
  if (failure) {
    abort_after(recovery_point());
    return failure;
  }
  if (stopped_at != 0) {
    // Stopped at a savepoint: what the sinks got after it is not the job's output (a job
    // started from the savepoint produces it).
    report.stopped = true;
    abort_after(stopped_at);
    dl_staged.erase(dl_staged.upper_bound(stopped_at), dl_staged.end());
    dl_open.clear();
  }
  // The end of the run is its last checkpoint: everything pre-committed becomes visible.
  commits.drain();
  caf::error uncommitted;
  for (auto& c : committers)
    if (auto err = c->commit(final_checkpoint); err && !uncommitted)
      uncommitted = std::move(err);
  if (uncommitted)
    return make_error(errc::job_failed, "the job ended, but its output was not all committed: " +
                                            describe(uncommitted));
  for (auto& [id, xs] : dl_committed)
    keep(xs);
  for (auto& [id, xs] : dl_staged)
    keep(xs);
  for (auto& [sender, xs] : dl_open)
    keep(xs);
  // Metrics in topological order, then by instance.
  std::map<std::string, size_t> rank;
  for (size_t k = 0; k < order.size(); ++k)
    rank[nodes[order[k]].name] = k;
  std::sort(report.metrics.begin(), report.metrics.end(), [&](const auto& x, const auto& y) {
    return std::make_pair(rank[x.op], x.instance) < std::make_pair(rank[y.op], y.instance);
  });
  return report;
}

std::future<caf::expected<savepoint_info>> job::savepoint() {
  return request_savepoint(false);
}

std::future<caf::expected<savepoint_info>> job::stop_with_savepoint() {
  return request_savepoint(true);
}

std::future<caf::expected<savepoint_info>> job::request_savepoint(bool stop) {
  savepoint_request r;
  r.stop = stop;
  auto result = r.done.get_future();
  std::lock_guard<std::mutex> guard{live_mtx_};
  if (cfg_.checkpoints.directory.empty())
    r.done.set_value(make_error(errc::invalid_topology,
                                "a savepoint needs a checkpoint directory: configure the job "
                                "with job_config.with_checkpoints(dir, interval)"));
  else if (!coordinator_)
    r.done.set_value(make_error(errc::job_failed,
                                "the job is not running: ask for a savepoint while run() runs"));
  else {
    savepoint_requests_.push_back(std::move(r));
    caf::anon_send(coordinator_, savepoint_atom::value);
  }
  return result;
}

caf::error job::check_checkpointing() const {
  const auto& c = cfg_.checkpoints;
  auto invalid = [](std::string what) { return make_error(errc::invalid_topology, what); };
  if (c.interval.count() <= 0)
    return invalid("job_config.checkpoints.interval must be positive (e.g. 1 s)");
  if (c.keep_last == 0)
    return invalid("job_config.checkpoints.keep_last is 0: keep at least the last checkpoint");
  if (c.timeout.count() <= 0 || c.restart_window.count() <= 0)
    return invalid("job_config.checkpoints.timeout and restart_window must be positive");
  for (const auto& n : g_->nodes)
    if (n.is_source && (!dead_letter_node_ || n.id != *dead_letter_node_) && !n.replayable)
      return invalid("source '" + n.name +
                     "' cannot go back to a checkpoint's position (it has no position() and "
                     "seek()): with checkpoints every source must be replayable, or a recovery "
                     "would lose or repeat its records");
  return caf::none;
}

caf::error job::check_faults() const {
  // An operator instance the plan names: it must exist.
  auto find_task = [&](const std::string& op, uint32_t instance,
                       const char* what) -> caf::expected<const internal::node*> {
    auto it =
        std::find_if(g_->nodes.begin(), g_->nodes.end(), [&](auto& n) { return n.name == op; });
    if (it == g_->nodes.end())
      return make_error(errc::invalid_topology,
                        "fault plan: there is no operator named '" + op + "' to " + what);
    if (instance >= it->parallelism)
      return make_error(errc::invalid_topology, "fault plan: operator '" + op + "' has " +
                                                    std::to_string(it->parallelism) +
                                                    " instance(s), there is no #" +
                                                    std::to_string(instance) + " to " + what);
    return &*it;
  };
  for (const auto& k : cfg_.faults.kills)
    if (auto found = find_task(k.op, k.instance, "kill"); !found)
      return found.error();
  if (!cfg_.faults.kill_among.empty())
    if (auto found = find_task(cfg_.faults.kill_among, 0, "kill at random"); !found)
      return found.error();
  for (const auto& t : cfg_.faults.throws) {
    auto found = find_task(t.op, t.instance, "make throw");
    if (!found)
      return found.error();
    if ((*found)->is_source)
      return make_error(errc::invalid_topology,
                        "fault plan: '" + t.op +
                            "' is a source: a throw fault makes a user function throw on a "
                            "record the operator takes, and a source takes none (crash it "
                            "instead, crash:" +
                            t.op + "#" + std::to_string(t.instance) + "@after=<records>)");
  }
  for (const auto& d : cfg_.faults.delays)
    if (d.op != "all" &&
        std::none_of(g_->nodes.begin(), g_->nodes.end(), [&](auto& n) { return n.name == d.op; }))
      return make_error(errc::invalid_topology,
                        "fault plan: there is no operator named '" + d.op +
                            "' to delay (write delay:all@max=<duration> for every operator)");
  for (const auto& crash : cfg_.faults.crashes) {
    if (auto found = find_task(crash.op, crash.instance, "crash"); !found)
      return found.error();
    if (crash.when == fault_plan::crash::after && crash.after_records == 0)
      return make_error(errc::invalid_topology,
                        "fault plan: a crash of '" + crash.op +
                            "' needs after_records of at least 1 (it fires once that many "
                            "records came in)");
    if ((crash.when == fault_plan::crash::at_checkpoint ||
         crash.when == fault_plan::crash::on_restore) &&
        cfg_.checkpoints.directory.empty())
      return make_error(
          errc::invalid_topology,
          "fault plan: the crash of '" + crash.op + "' at a " +
              (crash.when == fault_plan::crash::on_restore ? "restore" : "checkpoint") +
              " needs checkpoints: turn them on with "
              "job_config.with_checkpoints(dir, interval), or drop it");
  }
  return caf::none;
}

caf::error job::serve(uint16_t port, std::function<void(uint16_t)> ready,
                      const std::string& bind_address) {
  std::vector<size_t> order;
  if (auto err = prepare(order, false))
    return err;
  caf::actor_system_config sys_cfg;
  configure(sys_cfg, cfg_, *g_, true);
  caf::actor_system sys{sys_cfg};
  auto g = g_;
  auto state_backend = cfg_.state_backend;
  auto clock = processing_clock();
  // g is passed as a spawn argument rather than captured: CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without arguments (UBSan reports it).
  struct spawner_state {
    caf::actor coordinator;
    std::vector<caf::actor> tasks;
  };
  auto spawner = sys.spawn(
      [state_backend, clock](caf::event_based_actor* self,
                             std::shared_ptr<internal::graph> g) -> caf::behavior {
        auto state = std::make_shared<spawner_state>();
        // A coordinator that dies or is cut off takes the worker's part of the job with it.
        self->set_down_handler([self, state](caf::down_msg& x) {
          if (x.source != state->coordinator)
            return;
          for (auto& t : state->tasks)
            self->send_exit(t, caf::exit_reason::user_shutdown);
          self->quit();
        });
        return {
            [self, g, state, state_backend,
             clock](internal::spawn_atom, internal::spawn_request& r) -> caf::result<caf::actor> {
              if (r.node >= g->nodes.size() || g->nodes[r.node].name != r.name ||
                  g->nodes[r.node].kind != r.kind || g->nodes[r.node].out_type.name() != r.out_type)
                return make_error(errc::remote_failure,
                                  "this worker's job has no operator '" + r.name + "' (" + r.kind +
                                      ") at position " + std::to_string(r.node) +
                                      ": both processes must build the same job");
              const auto& n = g->nodes[r.node];
              if (n.check)
                if (auto err = n.check())
                  return err;
              // The first requester is the job's coordinator: when it goes, so does the job.
              if (!state->coordinator && r.coordinator) {
                state->coordinator = r.coordinator;
                self->monitor(r.coordinator);
              }
              internal::instance_wiring wiring;
              wiring.timed = r.timed;
              wiring.state_backend = n.state_backend.value_or(state_backend);
              wiring.processing_clock = clock;
              wiring.input_edges = r.input_edges;
              wiring.first_side_edges = n.first_side_edges;
              for (auto& re : r.outputs) {
                internal::out_edge e;
                e.consumer = re.consumer;
                e.edge = re.edge;
                e.kind = static_cast<partitioning>(re.kind);
                e.port = re.port;
                if (re.consumer < g->nodes.size() && re.edge < g->nodes[re.consumer].inputs.size())
                  e.key_hash = g->nodes[re.consumer].inputs[re.edge].key_hash;
                for (size_t k = 0; k < re.dests.size() && k < re.inputs.size(); ++k)
                  e.targets.push_back({re.dests[k], re.inputs[k], 0, re.urgent});
                wiring.outputs.push_back(std::move(e));
              }
              channel_config channels;
              channels.batch_size = r.batch_size;
              channels.batch_bytes = r.batch_bytes;
              channels.linger = caf::timespan{r.linger_ns};
              channels.debloat_target = caf::timespan{r.debloat_ns};
              channels.idle_timeout = caf::timespan{r.idle_ns};
              channels.initial_credit = r.credit;
              channels.key_groups = r.key_groups;
              auto copy = n;
              copy.parallelism = r.parallelism;
              copy.on_error = static_cast<error_policy>(r.on_error);
              auto spec = make_spec(copy, r.instance, r.inputs, channels, wiring, r.coordinator,
                                    r.dead_letters, r.dead_letter_input);
              apply_recovery(r, spec);
              auto t = self->spawn<task>(std::move(spec));
              state->tasks.push_back(t);
              return t;
            },
            [self](internal::shutdown_atom) { self->quit(); },
        };
      },
      g);
  auto bound =
      sys.middleman().publish(spawner, port, bind_address.empty() ? nullptr : bind_address.c_str());
  if (!bound) {
    caf::anon_send_exit(spawner, caf::exit_reason::user_shutdown);
    return make_error(errc::remote_failure, "cannot listen on port " + std::to_string(port) + ": " +
                                                sys.render(bound.error()));
  }
  if (ready)
    ready(*bound);
  caf::scoped_actor self{sys};
  self->wait_for(spawner);
  return caf::none;
}

std::vector<metrics_snapshot> job::metrics() const {
  std::lock_guard<std::mutex> guard{live_mtx_};
  std::vector<metrics_snapshot> result;
  for (const auto& m : live_)
    result.push_back(m->snapshot());
  return result;
}

} // namespace eddy
