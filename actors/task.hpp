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
#include <eddy/actors/channel_config.hpp>
#include <eddy/actors/messages.hpp>
#include <eddy/actors/metrics.hpp>
#include <eddy/actors/output.hpp>

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
};

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
      if (!admit(b.input, b.origin))
        return;
      auto n = b.items.size();
      before_batch(b.input, n);
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
  };

  bool admit(uint32_t input, uint32_t origin);
  void before_batch(uint32_t input, size_t n);
  void after_batch(uint32_t input, bool urgent);
  void on_control(control& c);
  void on_credit(const credit& c);
  void after_output_change();
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
  std::deque<caf::message> deferred_;
  /// True while replaying `deferred_` (admit then never defers).
  bool replaying_ = false;
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
  /// The highest checkpoint barrier forwarded.
  int64_t last_barrier_ = -1;
  /// Failed: ignore everything.
  bool failed_ = false;
  /// Counters of the dead-letter channel (its batches are not the operator's output).
  instance_metrics dl_metrics_{"dead-letters", 0};
  /// Batches dead letters under credit to `dead_letters_`.
  std::unique_ptr<out_channel<eddy::dead_letter>> dl_channel_;
  /// This task announced downstream that it is idle (a source, or every input idle).
  bool idle_ = false;
  /// Sources: records emitted when last checked, and when that number last changed.
  uint64_t last_emitted_ = 0;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
};

} // namespace eddy
