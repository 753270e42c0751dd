// The actor that runs one operator instance.
//
// A task owns an operator's per-instance `logic` and everything the runtime does around it:
// credits back to its upstream channels, deferring input while its output has no credit,
// watermarks (the minimum over its inputs), end of stream, linger flushes, dead letters and
// metrics. Operators only say what to do with a batch (see operators/).
//
//   class twice final : public eddy::logic {
//   public:
//     explicit twice(eddy::task& t) : out_(&t, &t.metrics(), false, t.instance()) {}
//     caf::message_handler handlers(eddy::task& t) override {
//       return t.data_handler<int>([this](eddy::batch<int>& b) {
//         for (auto& x : b.items) x *= 2;
//         out_.emit_batch(std::move(b));
//       });
//     }
//     eddy::output_base* output() override { return &out_; }
//   private:
//     eddy::output<int> out_;
//   };
#pragma once

#include <eddy/actors/atoms.hpp>
#include <eddy/actors/batch_sizer.hpp>
#include <eddy/actors/channel_config.hpp>
#include <eddy/actors/error.hpp>
#include <eddy/actors/messages.hpp>
#include <eddy/actors/metrics.hpp>
#include <eddy/actors/output.hpp>
#include <eddy/actors/snapshot.hpp>

#include <caf/deep_to_string.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message_handler.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace eddy {

class task;

/// What an operator does when its user function throws.
enum class error_policy : uint8_t {
  /// The record goes to the dead-letter output with the exception's message; the job goes on.
  dead_letter,
  /// The job fails with the exception's message.
  fail,
};

/// What a source's `produce` call reports.
struct produce_result {
  enum status_t : uint8_t { more, wait, done };
  /// Whether the source has more now, has more later, or is exhausted.
  status_t status = more;
  /// With `wait`: when to call again.
  caf::timespan wait_for{0};
};

/// The per-instance behaviour of an operator, created inside its task.
class logic {
public:
  virtual ~logic() = default;
  /// Handlers for this instance's data messages (`batch<In>` per input type).
  virtual caf::message_handler handlers(task& t) = 0;
  /// This instance's output, or nullptr for a sink.
  virtual output_base* output() = 0;
  /// The watermark advanced to `wm` (windows fire here).
  virtual void on_watermark(task&, timestamp) {}
  /// Every input has ended: emit final results.
  virtual void on_end(task&) {}
  /// True for sources, which are driven by `produce` instead of input batches.
  [[nodiscard]] virtual bool is_source() const noexcept { return false; }
  /// Sources: emit up to about one batch of records.
  virtual produce_result produce(task&) { return {produce_result::done, {}}; }
  /// Checkpoint `id`: the barrier reached this instance on every input (sources: the
  /// coordinator asked). Write everything the instance needs to continue from here into `out`
  /// (keyed state per key group, a source's position); the output emitted so far belongs to the
  /// checkpoint, what follows does not. Runs on the task's thread between batches, so it must be
  /// a quick copy: the runtime writes the files elsewhere. Default: no state.
  virtual void snapshot(task&, checkpoint_id /*id*/, instance_state& /*out*/) {}
  /// Recovery: called once, before any message, with the state this instance takes over from
  /// the last completed checkpoint (its key groups, possibly gathered from several old instances
  /// after a change of parallelism, and the operator state of the same instance index).
  /// Throwing fails the restore with the exception's message. Default: nothing to restore.
  virtual void restore(task&, checkpoint_id /*id*/, instance_state&& /*in*/) {}
  /// Checkpoint `id` completed (every task's snapshot is durable): what preceded its barrier is
  /// the job's for good. Default: nothing.
  virtual void on_checkpoint_complete(task&, checkpoint_id /*id*/) {}
};

/// Everything a task needs to know about the instance it runs.
struct task_spec {
  /// Operator name, for metrics, dead letters and errors.
  std::string name;
  /// This instance's index.
  uint32_t instance = 0;
  /// Instances of the operator.
  uint32_t parallelism = 1;
  /// Input channels (sum of upstream instances over all incoming edges).
  uint32_t inputs = 0;
  /// Batching and credit settings.
  channel_config channels;
  /// What a throwing user function does.
  error_policy on_error = error_policy::dead_letter;
  /// Counters, shared with the job so they are readable while it runs.
  std::shared_ptr<instance_metrics> metrics;
  /// Creates the instance's logic, given its task.
  std::function<std::unique_ptr<logic>(task&)> make_logic;
  /// The job coordinator: receives done and failed.
  caf::actor coordinator;
  /// Where dead letters go, in batches under credit like any edge: the job's dead-letter task,
  /// or the coordinator (which keeps them in the report).
  caf::actor dead_letters;
  /// The input of `dead_letters` this instance's dead-letter channel feeds.
  uint32_t dead_letter_input = 0;
  /// The incarnation of `dead_letters` (see `channel_target::epoch`).
  uint32_t dead_letters_epoch = 0;
  /// Index of the operator in the job: names the operator in snapshot files.
  uint32_t op_index = 0;
  /// Where this instance sends its state at each checkpoint (the job's snapshot writer), or
  /// nullptr when the job takes no checkpoints (barriers then only pass through).
  caf::actor snapshots;
  /// Recovery: the state this instance starts from, restored before its first message.
  std::shared_ptr<instance_state> restore;
  /// Recovery: the checkpoint `restore` comes from.
  checkpoint_id restore_id = 0;
  /// Recovery: the instance had finished before that checkpoint: it ends its outputs at once
  /// and runs no user code.
  bool restore_finished = false;
  /// Fault injection: stop as if the process died (no clean end, no report) once this many
  /// records came in (sources: went out). 0: never.
  uint64_t crash_after_records = 0;
  /// Fault injection: stop so right after taking the snapshot of this checkpoint (or of the
  /// first later one it takes), before passing its barrier on. 0: never.
  checkpoint_id crash_at_checkpoint = 0;
  /// Fault injection: stop so while starting from the restored state.
  bool crash_on_restore = false;
  /// Fault injection: stop so once every input ended, before the final results.
  bool crash_at_end = false;
  /// Fault injection: the user function throws on this record (from 1, counted over every
  /// input from the job's start, so the same record in every incarnation). 0: never.
  uint64_t throw_on_record = 0;
  /// Fault injection: hold back what every output channel sends by up to this long (random,
  /// from `delay_seed`), each channel in order. 0: no delay.
  caf::timespan delay_max{0};
  uint64_t delay_seed = 0;
  /// This instance's incarnation: 0, one more each time it is replaced alone.
  uint32_t epoch = 0;
  /// The coordinator's number for this instance (on its determinants).
  uint32_t slot = 0;
  /// Single-task recovery: keep what each output channel sent since the last completed
  /// checkpoint, up to this many bytes per channel; 0: no in-flight log.
  size_t log_limit = 0;
  /// Single-task recovery: send this instance's determinants to the coordinator.
  bool record_determinants = false;
  /// Single-task recovery: the predecessor's determinants since `restore_id`, to replay.
  std::vector<determinant> replay;
  /// Checkpoints up to this one were abandoned (or are, as this instance starts): their
  /// barriers are ignored.
  checkpoint_id aborted = 0;
  /// Recovery from a checkpoint of another parallelism (whose runtime state does not fit): the
  /// watermark every input starts at, the lowest the operator's instances had then, so records
  /// that were late before stay late. Default: none.
  timestamp restore_watermark = min_time;
  /// Poison records (as `render` shows them) that made this instance fail as often as the job
  /// allows (`checkpoint_config::poison_after`): a user function throwing on one of them sends it
  /// to the dead-letter output instead of failing, whatever the error policy.
  std::vector<std::string> poison;
};

/// Error codes of faults the runtime injects (category `fault_category`).
enum class fault_errc : uint8_t {
  /// A task stopped because a fault plan said so, after a number of records.
  injected_crash = 1,
  /// ... right after taking its snapshot of a checkpoint.
  crash_at_checkpoint,
  /// ... while restoring its state.
  crash_on_restore,
  /// ... once its input ended.
  crash_at_end,
};

/// The category atom of injected faults.
inline constexpr caf::atom_value fault_category = caf::atom("eddy_flt");

/// The channel id of a task's dead-letter channel, in its credit messages.
inline constexpr uint32_t dead_letter_origin = 0xFFFFFFFF;

/// The actor that runs one operator instance.
class task : public caf::event_based_actor {
public:
  // -- constructors ---------------------------------------------------------------------------

  task(caf::actor_config& cfg, task_spec spec);

  ~task() override;

  // -- properties -----------------------------------------------------------------------------

  [[nodiscard]] const std::string& op_name() const noexcept { return spec_.name; }
  [[nodiscard]] uint32_t instance() const noexcept { return spec_.instance; }
  [[nodiscard]] uint32_t parallelism() const noexcept { return spec_.parallelism; }
  [[nodiscard]] instance_metrics& metrics() noexcept { return *spec_.metrics; }
  [[nodiscard]] const channel_config& channels() const noexcept { return spec_.channels; }
  /// The current watermark: the minimum over all inputs.
  [[nodiscard]] timestamp watermark() const noexcept { return watermark_; }
  /// True once the task failed (its error policy said so, or its wiring was wrong).
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  /// "name#instance", the origin written into dead letters.
  [[nodiscard]] std::string origin() const;

  // -- called by logic ------------------------------------------------------------------------

  /// Wraps `on_batch` into a handler for `batch<In>` that defers input while the output is
  /// blocked, returns credit upstream and keeps the metrics.
  template <class In, class F>
  caf::message_handler data_handler(F on_batch) {
    return caf::message_handler{[this, on_batch](batch<In>& b) mutable {
      if (!admit(b.input, b.origin, b.epoch))
        return;
      if (!fresh_records(b.input, b.seq, b.items, b.times)) {
        after_batch(b.input, false); // seen before (a replay): only the credit goes back
        return;
      }
      auto n = b.items.size();
      before_batch(b.input, n);
      if (failed_)
        return; // crashed (fault injection) before taking the batch
      if (throw_index_ < n) {
        // Fault injection: the user function throws on this record.
        auto k = static_cast<std::ptrdiff_t>(std::exchange(throw_index_, no_throw));
        auto text = caf::deep_to_string(b.items[static_cast<size_t>(k)]);
        b.items.erase(b.items.begin() + k);
        if (!b.times.empty())
          b.times.erase(b.times.begin() + k);
        injected_throw(std::move(text));
        if (failed_)
          return;
      }
      on_batch(b);
      after_batch(b.input, b.urgent);
    }};
  }

  /// Sends a record to the dead-letter output, with `origin` (file:line) or this task's name.
  void dead_letter(std::string reason, std::string record, std::string origin = {});

  /// A user function threw on `record`: dead letter or fail the job, per the error policy.
  void user_error(const std::string& what, std::string record);

  /// Sources: the event time advanced so that no earlier record follows.
  void advance_watermark(timestamp wm);

  /// Sources: declares this instance idle (nothing to emit for a while), so it stops holding
  /// back the watermark downstream; its next record makes it active again.
  void mark_idle();

  /// Fails the job with `reason`; the task stops.
  void fail(std::string reason);

  /// Processing time through `clock`, logged as a determinant (or replayed) when the job
  /// recovers tasks alone: operators read processing time through this.
  int64_t read_clock(const std::function<int64_t()>& clock);

  /// Stops at once as if the process died: no end of stream, no report (fault injection).
  void crash(std::string reason, fault_errc code = fault_errc::injected_crash);

  /// The highest checkpoint this instance took a snapshot for (0: none yet, or the checkpoint it
  /// was restored from).
  [[nodiscard]] checkpoint_id last_checkpoint() const noexcept { return last_barrier_; }

  /// The watermark recorded in a snapshot's runtime state (`instance_state::runtime`), or
  /// `min_time` when there is none or it does not decode.
  [[nodiscard]] static timestamp watermark_of(const std::string& runtime) noexcept;

  /// The logic emitted outside an input batch (a processing-time timer fired): what it emitted
  /// ships after the linger time, as after a batch, even while no input arrives.
  void emitted_outside_batch();

  // -- overrides ------------------------------------------------------------------------------

  caf::behavior make_behavior() override;

  /// Drops the logic, user functions and actor handles, so no reference cycle between
  /// connected tasks outlives the job.
  void on_exit() override;

private:
  struct input_state {
    caf::strong_actor_ptr upstream;
    uint32_t origin = 0;
    timestamp watermark = min_time;
    bool ended = false;
    /// The sender declared itself idle and has sent nothing since.
    bool idle = false;
    /// The checkpoint barrier last received on this input: while the task aligns on it, what
    /// follows on this input waits in `held_`.
    checkpoint_id barrier = 0;
    /// The sequence number of the next record expected (earlier ones are duplicates).
    uint64_t next_seq = 0;
    /// The sender's incarnation.
    uint32_t epoch = 0;
  };

  /// A message put aside (deferred, held or parked), with its sender.
  struct pending_message {
    caf::strong_actor_ptr sender;
    caf::message content;
  };

  /// Drops the records of `items` (and `times`) that input `input` has seen already; false when
  /// none is left. A gap (records missing) fails the task.
  template <class T>
  bool fresh_records(uint32_t input, uint64_t seq, std::vector<T>& items,
                     std::vector<timestamp>& times) {
    auto& in = inputs_[input];
    auto n = items.size();
    if (seq > in.next_seq) {
      fail("task " + origin() + " missed records " + std::to_string(in.next_seq) + " to " +
           std::to_string(seq - 1) + " on input " + std::to_string(input) + " (incarnation " +
           std::to_string(spec_.epoch) + ", " + std::to_string(replay_.size()) +
           " choices left to replay, " + std::to_string(deferred_.size()) + " deferred, " +
           std::to_string(held_.size()) + " held): the recovery protocol lost data");
      return false;
    }
    if (seq + n <= in.next_seq) {
      metrics().add(metrics().duplicates_dropped, n);
      return false;
    }
    if (seq < in.next_seq) {
      auto skip = static_cast<std::ptrdiff_t>(in.next_seq - seq);
      items.erase(items.begin(), items.begin() + skip);
      if (!times.empty())
        times.erase(times.begin(), times.begin() + skip);
      metrics().add(metrics().duplicates_dropped, static_cast<uint64_t>(skip));
    }
    in.next_seq = seq + n;
    return true;
  }

  bool admit(uint32_t input, uint32_t origin, uint32_t epoch);
  /// The message being handled, moved out with its sender (to defer, hold or park it).
  pending_message take_current();
  /// The sender of the message being handled (also while replaying deferred ones).
  caf::strong_actor_ptr current_origin();
  /// Records determinant `d` (sent at the end of the message being handled).
  void record(determinant::kind_t kind, int64_t value);
  /// Sends the determinants recorded while handling a message to the coordinator.
  void flush_determinants();
  /// While replaying determinants: takes the next steps that are due (timer wake-ups, parked
  /// messages whose turn it is); ends the replay when none is left.
  void advance_replay();
  /// Runs the logic's processing-time wake-up.
  void run_timer();
  /// Puts the first parked message of `input` first in line (its turn came).
  void promote(size_t input);
  /// Ends a replay: parked messages go back in line, a wake-up that came runs.
  void finish_replay();
  /// The runtime's part of a snapshot, and its restore.
  std::string runtime_state() const;
  void restore_runtime(const std::string& bytes);
  void before_batch(uint32_t input, size_t n);
  void after_batch(uint32_t input, bool urgent);
  void on_control(control& c);
  void on_credit(const credit& c);
  void after_output_change();
  /// The body of after_output_change: blocked accounting, deferred messages, quitting.
  void update_output();
  void replay_deferred();
  void run_source();
  void schedule_produce();
  void arm_linger();
  void recompute_watermark();
  void finish();
  void try_quit();
  void update_peak_queued();
  /// True while the output or the dead-letter channel holds batches it cannot send.
  [[nodiscard]] bool blocked() const noexcept;
  /// True when the output or the dead-letter channel holds records not yet in a batch.
  [[nodiscard]] bool has_partial() const noexcept;
  /// Ships partial buffers (output and dead letters).
  void flush_all();
  /// Sources: declares idleness after `idle_timeout` without a record.
  void check_source_idle();
  /// Checkpoint barrier `id` arrived on input `input`: align, then snapshot and forward it.
  void on_barrier(uint32_t input, checkpoint_id id);
  /// Snapshots when barrier `aligning_` arrived on every open input.
  void check_alignment();
  /// Takes the snapshot of checkpoint `id` and sends the barrier downstream.
  void take_checkpoint(checkpoint_id id);
  /// Messages held during an alignment go back in front of the deferred ones, in order.
  void release_held();
  /// Recovery of an instance that had finished: ends its outputs without running user code.
  void end_restored_finished();
  /// Fault injection: crashes once `crash_after_records` is reached.
  void check_crash(uint64_t records);
  /// Fault injection: the user function threw on `record` (its text), as `throw_on_record` says.
  void injected_throw(std::string record);

  /// What this task runs.
  task_spec spec_;
  /// The operator's per-instance logic.
  std::unique_ptr<logic> logic_;
  /// The output of `logic_`, or nullptr for sinks.
  output_base* output_ = nullptr;
  /// Data and control handlers together, used to replay deferred messages.
  caf::message_handler handlers_;
  /// State per input channel.
  std::vector<input_state> inputs_;
  /// Messages received while the output was blocked, in arrival order.
  std::deque<pending_message> deferred_;
  /// True while replaying `deferred_` (admit then never defers).
  bool replaying_ = false;
  /// The deferred message being replayed.
  pending_message* replayed_ = nullptr;
  /// The logic's own handlers (its processing-time wake-up among them).
  caf::message_handler logic_handlers_;
  /// Determinants recorded while handling the current message.
  std::vector<determinant> dets_;
  /// Determinants left to replay (a replacement restored from a checkpoint).
  std::deque<determinant> replay_;
  /// While replaying: messages of inputs whose turn has not come, per input.
  std::vector<std::deque<pending_message>> parked_;
  /// A wake-up arrived while replaying: run one once the replay is over.
  bool wake_after_replay_ = false;
  /// A parked message whose turn came waits first in line in `deferred_`.
  bool promoted_ = false;
  /// Messages in `parked_`.
  size_t parked_count_ = 0;
  /// The highest checkpoint the coordinator abandoned.
  checkpoint_id aborted_ = 0;
  /// Sources: the savepoint this instance stopped at (the job stops there), 0 when producing.
  checkpoint_id stopped_at_ = 0;
  /// The job coordinator, set by the start message.
  caf::actor coordinator_;
  /// Where dead letters go, set by the start message.
  caf::actor dead_letters_;
  /// Current watermark.
  timestamp watermark_ = min_time;
  /// When the output became blocked, if it is.
  std::optional<std::chrono::steady_clock::time_point> blocked_since_;
  /// A linger flush is scheduled.
  bool linger_armed_ = false;
  /// A produce message is scheduled.
  bool produce_scheduled_ = false;
  /// Started by the coordinator.
  bool started_ = false;
  /// All inputs ended (or the source is exhausted): draining the output before quitting.
  bool finishing_ = false;
  /// Reported done to the coordinator.
  bool done_ = false;
  /// Why the logic could not be created, if it could not.
  std::string init_error_;
  /// The record a user function threw on when the task failed (under error_policy::fail).
  std::string failing_record_;
  /// The highest checkpoint snapshotted and forwarded (or restored from).
  checkpoint_id last_barrier_ = 0;
  /// The checkpoint barrier being aligned on, 0 when none.
  checkpoint_id aligning_ = 0;
  /// Messages that arrived on inputs already past the barrier being aligned on, in order.
  std::deque<pending_message> held_;
  /// Failed: ignore everything.
  bool failed_ = false;
  /// Construction (and restore) is over: processing-time reads are choices from now on.
  bool live_ = false;
  /// Counters of the dead-letter channel (its batches are not the operator's output).
  instance_metrics dl_metrics_{"dead-letters", 0};
  /// Batches dead letters under credit to `dead_letters_`.
  std::unique_ptr<out_channel<eddy::dead_letter>> dl_channel_;
  /// This task announced downstream that it is idle (a source, or every input idle).
  bool idle_ = false;
  /// Buffer debloating: this task's consumption rate, turned into the batch limit its credits
  /// carry; and the records of the batch being consumed.
  batch_sizer sizer_;
  size_t batch_records_ = 0;
  /// Fault injection: where in the batch being taken the user function throws (see
  /// task_spec::throw_on_record), `no_throw` when it does not.
  static constexpr size_t no_throw = static_cast<size_t>(-1);
  size_t throw_index_ = no_throw;
  /// Sources: records emitted when last checked, and when that number last changed.
  uint64_t last_emitted_ = 0;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
};

} // namespace eddy
