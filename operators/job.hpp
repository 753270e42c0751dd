// A job: a topology of sources, operators and sinks, built fluently and run on CAF actors.
//
//   eddy::job job{eddy::job_config{}.with_threads(2)};
//   std::vector<int> seen;
//   job.source(eddy::from_container(std::vector<int>{1, 2, 3}))
//      .map([](const int& x) { return x * 10; })
//      .sink(eddy::collect(seen));
//   auto report = job.run();              // blocks until every source is exhausted
//   if (!report) std::cerr << eddy::describe(report.error());
//
// With checkpoints on, a running job takes a savepoint on request, and a job starts from one,
// also with another parallelism:
//
//   auto sp = job.stop_with_savepoint().get();    // from another thread; run() then returns
//   eddy::job next{eddy::job_config{}.with_parallelism(4).from_savepoint(sp->path)};
//
// Every operator instance is an actor; records travel in batches with credit-based flow
// control. `run()` first checks the topology (an operator nobody consumes, parallelism 0, a
// missing input file, ...) and reports mistakes as an error whose sentence says how to fix them.
#pragma once

#include <eddy/actors/channel_config.hpp>
#include <eddy/actors/messages.hpp>
#include <eddy/actors/metrics.hpp>
#include <eddy/operators/errc.hpp>
#include <eddy/operators/fault_plan.hpp>
#include <eddy/operators/job_report.hpp>
#include <eddy/operators/source.hpp>
#include <eddy/operators/stream.hpp>
#include <eddy/state/backend_config.hpp>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace eddy {

/// How a job recovers from a failed task.
enum class recovery_mode : uint8_t {
  /// Only the failed task restarts, from its snapshot in the last completed checkpoint: its
  /// upstream tasks send again what they sent since (their in-flight logs), it replays its
  /// predecessor's choices (input order, processing time), and its downstream tasks drop what
  /// they have seen. Everything else keeps running. Falls back to `whole_job` when it cannot
  /// (a log outgrew its limit, a task that fed it has finished, two tasks failed together).
  single_task,
  /// Every task restarts from the last completed checkpoint, sources rewound (Flink's way).
  whole_job,
};

/// Checkpoints and recovery: where snapshots go, how often, and how failures are handled.
struct checkpoint_config {
  /// The folder snapshot files go to (one `chk-<id>` folder per checkpoint). Empty: no
  /// checkpoints, and a failed operator fails the job. Default: empty.
  std::string directory;
  /// Time from the start of one checkpoint to the start of the next. Default: 1 s.
  caf::timespan interval = std::chrono::seconds{1};
  /// Completed checkpoints kept on disk (older ones are removed). Default: 3.
  size_t keep_last = 3;
  /// A checkpoint not complete this long after it started is abandoned (the next one starts at
  /// its time). Default: 60 s.
  caf::timespan timeout = std::chrono::seconds{60};
  /// Recoveries allowed within `restart_window`; one more fails the job with an error naming the
  /// operator, the cause and the count. Default: 10.
  uint32_t max_restarts = 10;
  /// The window of `max_restarts`. Default: 60 s.
  caf::timespan restart_window = std::chrono::seconds{60};
  /// Wait before the first restart in a window, doubled for each further one up to
  /// `max_backoff`, with +-20 % jitter from `fault_plan::seed`. Default: 1 ms.
  caf::timespan backoff = std::chrono::milliseconds{1};
  /// The longest wait before a restart. Default: 1 s.
  caf::timespan max_backoff = std::chrono::seconds{1};
  /// A record a user function throws on (under `error_policy::fail`) that has failed the same
  /// operator instance this many times is a poison record: its next replacement sends it to the
  /// dead-letter output with the exception's message and goes on, so every other record is still
  /// processed exactly once. 0: never (the restart limit ends the job instead). Default: 3.
  uint32_t poison_after = 3;
  /// How a failed task is recovered. Default: single_task (which falls back to whole_job when it
  /// cannot; `job_report::recoveries` says which each recovery was).
  recovery_mode recovery = recovery_mode::single_task;
  /// With single_task: bytes of records each channel keeps since the last completed checkpoint
  /// to send again to a replaced receiver; a channel past it makes that receiver's recovery a
  /// whole-job one until the next checkpoint. Default: 64 MiB.
  size_t in_flight_log_bytes = 64u << 20;
  /// A savepoint or checkpoint folder (`<dir>/chk-<id>`, as `job_report::savepoints` gives it)
  /// to start from instead of the input's beginning: sources continue from their positions,
  /// keyed state is redistributed by key group when an operator's parallelism changed. The job
  /// must have the same operators (names, in the same order); sources keep their parallelism.
  /// Works with or without `directory`. Default: empty (start afresh).
  std::string start_from;
};

/// How a job runs.
struct job_config {
  /// Instances of every operator that does not set its own. Default: 1.
  uint32_t parallelism = 1;
  /// Scheduler threads; 0 means one per core (at least 2). Default: 0.
  size_t threads = 0;
  /// Batching and credits of every channel.
  channel_config channels;
  /// Where keyed operators (keyed process, windows) keep their state. Default: in memory.
  state::backend_config state_backend;
  /// The processing-time clock in ms that keyed operators read and their processing-time timers
  /// follow; tests inject a manual clock. Default: the system clock (ms since the epoch).
  std::function<int64_t()> processing_clock;
  /// Dead letters kept in the job report when no dead-letter stream is consumed; the rest are
  /// counted in `job_report::dead_letters_not_kept`. Default: 100,000.
  size_t kept_dead_letters = 100'000;

  /// Remote nodes by name: where a worker started with `job::serve` listens. Default: none.
  std::map<std::string, std::pair<std::string, uint16_t>> nodes;
  /// Operator name -> node name; operators not listed run in this process. Default: none.
  std::map<std::string, std::string> placement;
  /// Checkpoints and recovery. Default: none.
  checkpoint_config checkpoints;
  /// Faults to inject. Default: none.
  fault_plan faults;

  /// Takes a checkpoint every `interval` into `directory`, and recovers failed operators from
  /// the last completed one (see checkpoint_config).
  job_config& with_checkpoints(std::string directory,
                               caf::timespan interval = std::chrono::seconds{1}) {
    checkpoints.directory = std::move(directory);
    checkpoints.interval = interval;
    return *this;
  }
  /// Starts from savepoint (or checkpoint) folder `path` (see checkpoint_config::start_from).
  job_config& from_savepoint(std::string path) {
    checkpoints.start_from = std::move(path);
    return *this;
  }
  /// Injects the faults of `plan`.
  job_config& with_faults(fault_plan plan) {
    faults = std::move(plan);
    return *this;
  }

  /// Declares the remote node `name`, a worker listening on host:port.
  job_config& with_node(std::string name, std::string host, uint16_t port) {
    nodes[std::move(name)] = {std::move(host), port};
    return *this;
  }
  /// Runs every instance of operator `op` on node `node` (declared with `with_node`).
  job_config& place(std::string op, std::string node) {
    placement[std::move(op)] = std::move(node);
    return *this;
  }
  /// Keeps keyed state in `cfg`'s backend (e.g. `state::backend_config{}.with_rocksdb(dir)`).
  job_config& with_state_backend(state::backend_config cfg) {
    state_backend = std::move(cfg);
    return *this;
  }
  /// Reads processing time from `clock` (ms) instead of the system clock.
  job_config& with_processing_clock(std::function<int64_t()> clock) {
    processing_clock = std::move(clock);
    return *this;
  }
  job_config& with_parallelism(uint32_t n) {
    parallelism = n;
    return *this;
  }
  job_config& with_threads(size_t n) {
    threads = n;
    return *this;
  }
  job_config& with_batch_size(size_t n) {
    channels.batch_size = n;
    return *this;
  }
  job_config& with_linger(caf::timespan t) {
    channels.linger = t;
    return *this;
  }
  /// A source instance that has emitted nothing for `t` declares itself idle in band, so it
  /// stops holding back the watermark downstream (see channel_config::idle_timeout).
  job_config& with_idle_timeout(caf::timespan t) {
    channels.idle_timeout = t;
    return *this;
  }
  job_config& with_credit(uint32_t n) {
    channels.initial_credit = n;
    return *this;
  }
  /// Receivers size their senders' batches so what is in flight takes about `t` to consume
  /// (0: batches are always the configured size; see channel_config::debloat_target).
  job_config& with_debloat_target(caf::timespan t) {
    channels.debloat_target = t;
    return *this;
  }
};

/// A topology under construction, and its run.
class job {
public:
  // -- constructors ---------------------------------------------------------------------------

  explicit job(job_config cfg = {});

  job(const job&) = delete;
  job& operator=(const job&) = delete;

  // -- building -------------------------------------------------------------------------------

  /// Adds a source (see operators/source.hpp) and returns its stream.
  template <class Source>
  stream<typename Source::value_type> source(Source src) {
    using T = typename Source::value_type;
    static_assert(internal::is_record_v<T>,
                  "source: the record type needs an inspect overload, e.g. "
                  "template <class F> auto inspect(F& f, my_record& x) { return f(x.a, x.b); }");
    internal::node n;
    n.id = g_->nodes.size();
    n.kind = "source";
    n.name = "source-" + std::to_string(n.id);
    n.is_source = true;
    n.out_type = typeid(T);
    n.max_parallelism = internal::max_parallelism_of<Source>::value;
    if constexpr (internal::has_timed<Source>::value)
      n.timed = src.timed();
    if constexpr (internal::has_check<Source>::value)
      n.check = [src] { return src.check(); };
    n.replayable = internal::has_position<Source>::value;
    n.make = [src](task& t, uint32_t, const internal::instance_wiring& w) {
      return std::make_unique<internal::source_logic<T, Source>>(t, w, src);
    };
    n.register_types = internal::register_batch<T>;
    g_->nodes.push_back(std::move(n));
    return stream<T>{g_, {g_->nodes.size() - 1}};
  }

  /// The records every operator rejected (bad input, throwing user functions), as a stream
  /// to send to any sink. Without it they are kept in the job report.
  stream<dead_letter> dead_letters();

  // -- running --------------------------------------------------------------------------------

  /// Checks the topology without running it.
  [[nodiscard]] caf::error validate();

  /// Runs the job until every source is exhausted and every record has reached its sink.
  [[nodiscard]] caf::expected<job_report> run();

  /// Serves this job's operators to a coordinator in another process (which built the same
  /// job and placed some operators on this node): listens on `port` (0 picks a free one) at
  /// `bind_address` (empty: every interface; the connection is neither authenticated nor
  /// encrypted, so bind to a trusted network), calls `ready(port)` once listening, and returns
  /// when the coordinator's run is over or the coordinator is gone.
  [[nodiscard]] caf::error serve(uint16_t port, std::function<void(uint16_t)> ready = {},
                                 const std::string& bind_address = {});

  /// Takes a savepoint while `run` runs, from any thread (also from inside a user function; do
  /// not wait for the result there): a checkpoint into `checkpoints.directory` that pruning
  /// never removes, started at once (or when the checkpoint under way ends). The future holds
  /// its folder, or an error saying why there is none (the job takes no checkpoints, is not
  /// running, its sources have ended, a task failed during it).
  [[nodiscard]] std::future<caf::expected<savepoint_info>> savepoint();

  /// Like `savepoint`, and the job stops there (Flink's stop-with-savepoint): sources emit
  /// nothing after its barrier, and once it completed every task stops, without the end-of-input
  /// results (windows do not fire). `run` returns with `job_report::stopped` set, the sinks
  /// holding exactly what preceded the savepoint; a job started from it produces the rest. If
  /// the savepoint fails, the job goes on.
  [[nodiscard]] std::future<caf::expected<savepoint_info>> stop_with_savepoint();

  /// Metrics of every instance now (empty before `run` starts). Safe from any thread.
  [[nodiscard]] std::vector<metrics_snapshot> metrics() const;

  [[nodiscard]] const job_config& config() const noexcept { return cfg_; }

private:
  /// A savepoint asked for, until the coordinator takes it.
  struct savepoint_request {
    bool stop = false;
    std::promise<caf::expected<savepoint_info>> done;
  };

  /// Queues a savepoint request for the running coordinator.
  std::future<caf::expected<savepoint_info>> request_savepoint(bool stop);

  /// The processing clock keyed operators use.
  [[nodiscard]] std::function<int64_t()> processing_clock() const;

  /// Checks what checkpoints need: replayable sources, sensible settings.
  [[nodiscard]] caf::error check_checkpointing() const;

  /// Checks the fault plan against the topology.
  [[nodiscard]] caf::error check_faults() const;

  /// Checks the graph and puts it in topological order; `run_checks` also runs the sources'
  /// and sinks' own checks (files), for the operators that run in this process.
  caf::error prepare(std::vector<size_t>& order, bool run_checks = true);

  /// How the job runs.
  job_config cfg_;
  /// The topology.
  std::shared_ptr<internal::graph> g_;
  /// The dead-letter source, when requested.
  std::optional<size_t> dead_letter_node_;
  /// Guards `live_`, `coordinator_` and `savepoint_requests_`.
  mutable std::mutex live_mtx_;
  /// Counters of the running instances.
  std::vector<std::shared_ptr<instance_metrics>> live_;
  /// The coordinator while `run` runs.
  caf::actor coordinator_;
  /// Savepoints asked for and not yet taken up by the coordinator.
  std::deque<savepoint_request> savepoint_requests_;
};

} // namespace eddy
