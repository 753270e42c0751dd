// The pattern operator: finds a pattern (pattern.hpp) in each key's events, in event-time order,
// and emits what `select` makes of each match. What `keyed_stream::pattern(p)` returns.
//
//   using namespace std::chrono_literals;
//   auto p = eddy::pattern<txn>::begin("small", [](const txn& t) { return t.amount < 1.0; })
//                .followed_by("large", [](const txn& t) { return t.amount > 500.0; })
//                .within(1min);
//   auto alerts = txns.key_by([](const txn& t) { return t.card; })
//                     .pattern(p)
//                     .max_partial_matches(1'000)       // per key; default 10,000
//                     .select<alert>(
//                         [](const eddy::match<txn>& partial, eddy::timestamp deadline) {
//                           return alert{partial.first("small")->card, /*timed_out=*/true};
//                         },
//                         [](const eddy::match<txn>& m) {
//                           return alert{m.first("small")->card, /*timed_out=*/false};
//                         });
//
// Each key's records wait in keyed state until the watermark passes them (an event-time timer
// per record time, as Flink CEP), then advance the key's partial matches in event-time order:
// the result does not depend on arrival order within the source's out-of-orderness, nor on
// parallelism, as long as a key's records have distinct times: records with equal times are
// taken in arrival order, which is not fixed when several upstream instances send them. The buffer
// and the partial matches are keyed state in the job's backend (memory or RocksDB), so checkpoints
// snapshot them per key group; a key whose buffer and partial matches are empty has no state left.
// When no stage is strict (next, consecutive), no condition iterative and no stage but the last
// can be left without an event (optional, a loop with a range), a record that satisfies no
// condition cannot change any partial match, and is not buffered at all.
//
// A match is emitted at the time of its last event; a timed-out partial match (its `within`
// bound passed) goes to the timeout function, whose result is emitted at the deadline (first
// event + within). It goes to a side output when `select` is given an `output_tag`
// (`select<alert>(timeouts, on_timeout, on_match)`, then `alerts.side_output(timeouts)`), else
// it shares the main stream (the timeout function then returns `Out` too). At the end of the
// input every partial match with a bound times out; the others are
// dropped. Records at or behind the watermark are late: counted (`late_records`) and sent to
// a side output given `.side_output_late_data(tag)`, else, by
// default, dead letters. A throwing condition sends its event, a throwing select or timeout
// function its match, to the dead letters (or fails the job, per `on_error`); the job goes on.
#pragma once

#include <eddy/operators/internal/keyed_store.hpp>
#include <eddy/operators/internal/nfa.hpp>
#include <eddy/operators/keyed_process.hpp>
#include <eddy/operators/pattern.hpp>
#include <eddy/operators/stream.hpp>
#include <eddy/operators/window.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

/// Settings of a pattern operator.
struct pattern_options {
  /// Partial matches kept per key; beyond it the most recently started are dropped, with a dead
  /// letter. Default: 10,000.
  size_t max_partial_matches = 10'000;
  /// Records at or behind the watermark. Default: dead letters (always counted).
  late_policy on_late = late_policy::dead_letter;
};

namespace internal {

/// No timeout function: timed-out partial matches are dropped.
struct no_timeout {};

/// The keyed process function that runs a pattern (one copy per instance). Timeout results
/// (of type TimeoutOut) go to its side output when it has one, else to the main output.
template <class T, class K, class Out, class Select, class Timeout, class TimeoutOut = Out>
class pattern_function {
public:
  using context = keyed_context<K, Out>;
  using side_output_type = TimeoutOut;
  using buffered = std::pair<timestamp, T>;

  pattern_function(std::shared_ptr<const pattern<T>> p, Select select, Timeout timeout,
                   pattern_options opts)
      : pattern_(std::move(p))
      , select_(std::move(select))
      , timeout_(std::move(timeout))
      , opts_(opts) {}

  pattern_function(const pattern_function& other)
      : pattern_function(other.pattern_, other.select_, other.timeout_, other.opts_) {}

  /// Called by the runtime: the task for dead letters and metrics.
  void attach(task& t) { task_ = &t; }
  void attach(task& t, output<Out>*) { task_ = &t; }
  /// Called by the runtime when the timeouts have a side output.
  void attach_side(output<TimeoutOut>* side) { timeout_out_ = side; }

  /// Late records can go to a side output (pattern_stream::side_output_late_data).
  using late_output_type = T;
  void attach_late(output<T>* late) { late_out_ = late; }

  void open(context& ctx) {
    nfa_ = std::make_unique<nfa<T>>(*pattern_);
    buffer_ = declared(ctx.state().template declare_list<buffered>("pattern.buffer"));
    runs_ = declared(ctx.state().template declare_value<nfa_state<T>>("pattern.runs"));
  }

  /// A record: buffered until the watermark passes its time.
  void operator()(const T& x, context& ctx) {
    auto time = ctx.time();
    auto wm = ctx.watermark();
    if (wm != min_time && time <= wm) {
      late(x, time, wm);
      return;
    }
    if (nfa_->irrelevant(x))
      return; // satisfies no condition of a relaxed, non-iterative pattern: changes nothing
    buffer_.add(buffered{time, x});
    ctx.register_event_time_timer(time);
  }

  /// The watermark passed `timer`: advance the key's partial matches by every buffered record
  /// up to the watermark, in event-time order, then time out what can no longer complete.
  void on_timer(timestamp timer, context& ctx) {
    auto wm = ctx.watermark();
    scratch_.clear();
    buffer_.get(scratch_);
    due_.clear();
    rest_.clear();
    for (auto& b : scratch_)
      (b.first <= wm ? due_ : rest_).push_back(std::move(b));
    if (!due_.empty()) {
      if (rest_.empty())
        buffer_.clear();
      else
        buffer_.update(rest_);
      std::stable_sort(due_.begin(), due_.end(),
                       [](const buffered& a, const buffered& b) { return a.first < b.first; });
    }
    const auto* stored = runs_.value();
    if (due_.empty() && stored == nullptr)
      return; // a timer of records or partial matches already dealt with
    runs_state_ = stored != nullptr ? *stored : nfa_state<T>{};
    callbacks cb{this, &ctx, nullptr};
    for (const auto& [time, x] : due_) {
      cb.current = &x;
      nfa_->advance(runs_state_, x, time, opts_.max_partial_matches, cb);
      if (task_ != nullptr && task_->failed())
        return;
    }
    nfa_->expire(runs_state_, wm, cb);
    if (wm == max_time)
      runs_state_.runs.clear(); // the end of the input: nothing can complete any more
    if (runs_state_.runs.empty()) {
      runs_.clear();
    } else {
      for (const auto& r : runs_state_.runs)
        if (auto d = nfa_->deadline(r); d != max_time && d > wm)
          ctx.register_event_time_timer(d);
      runs_.update(std::move(runs_state_));
    }
    // The timers of the records just processed have nothing left to do.
    for (size_t i = 0; i < due_.size(); ++i)
      if (due_[i].first != timer && (i == 0 || due_[i].first != due_[i - 1].first))
        ctx.delete_event_time_timer(due_[i].first);
  }

private:
  /// What the NFA reports back.
  struct callbacks {
    pattern_function* self;
    context* ctx;
    /// The record being processed.
    const T* current;

    void matched(const nfa_run<T>& r) {
      auto m = self->nfa_->view(r);
      try {
        ctx->emit(self->select_(std::as_const(m)), m.end_time());
      } catch (const std::exception& e) {
        self->user_error(std::string{"pattern select function threw: "} + e.what(), r);
      } catch (...) {
        self->user_error("pattern select function threw", r);
      }
    }

    void timed_out(const nfa_run<T>& r) {
      if constexpr (!std::is_same_v<Timeout, no_timeout>) {
        auto m = self->nfa_->view(r);
        auto deadline = self->nfa_->deadline(r) + 1;
        try {
          self->emit_timeout(*ctx, self->timeout_(std::as_const(m), deadline), deadline);
        } catch (const std::exception& e) {
          self->user_error(std::string{"pattern timeout function threw: "} + e.what(), r);
        } catch (...) {
          self->user_error("pattern timeout function threw", r);
        }
      } else {
        (void)r;
      }
    }

    void condition_failed(const std::string& what) {
      if (self->task_ != nullptr)
        self->task_->user_error(what, render(*current));
    }

    void overflow(size_t dropped) {
      if (self->task_ == nullptr)
        return;
      self->task_->dead_letter(
          "pattern: key " + render(ctx->key()) + " had more than " +
              std::to_string(self->opts_.max_partial_matches) + " partial matches; the " +
              std::to_string(dropped) +
              " most recently started were dropped: raise max_partial_matches, or bound the "
              "pattern (within, next, fewer loops)",
          render(*current));
    }
  };

  /// Where timeout results leave the operator, at `time`: the side output of the timeout tag,
  /// or (select without a tag) the main output.
  void emit_timeout(context& ctx, TimeoutOut x, timestamp time) {
    if (timeout_out_ != nullptr)
      timeout_out_->emit(std::move(x), time);
    else if constexpr (std::is_same_v<TimeoutOut, Out>)
      ctx.emit(std::move(x), time);
  }

  void user_error(const std::string& what, const nfa_run<T>& r) {
    if (task_ == nullptr)
      return;
    std::vector<T> records;
    for (const auto& e : r.events)
      records.push_back(e.record);
    task_->user_error(what, render(records));
  }

  void late(const T& x, timestamp time, timestamp wm) {
    if (task_ == nullptr)
      return;
    task_->metrics().add(task_->metrics().late_records, 1);
    if (late_out_ != nullptr)
      late_out_->emit(x, time);
    else if (opts_.on_late == late_policy::dead_letter)
      task_->dead_letter("late: event time " + std::to_string(time) +
                             " is at or behind the watermark " + std::to_string(wm) +
                             ", which the pattern has already processed; allow more "
                             "out-of-orderness in the source",
                         render(x));
  }

  // -- description ----------------------------------------------------------------------------

  /// The pattern, shared by the instances.
  std::shared_ptr<const pattern<T>> pattern_;
  /// The user's select and timeout functions.
  Select select_;
  Timeout timeout_;
  /// Settings.
  pattern_options opts_;

  // -- per instance ---------------------------------------------------------------------------

  /// The compiled pattern (with its scratch buffers).
  std::unique_ptr<nfa<T>> nfa_;
  /// The task, for dead letters and metrics (null in unit tests that drive the function).
  task* task_ = nullptr;
  /// The side output of timeout results, or null (they go to the main output).
  output<TimeoutOut>* timeout_out_ = nullptr;
  /// The side output of late records, or null.
  output<T>* late_out_ = nullptr;
  /// Per key: records waiting for the watermark, with their times.
  state::list_state<buffered> buffer_;
  /// Per key: the partial matches.
  state::value_state<nfa_state<T>> runs_;
  /// Scratch (reused): the buffer read, what is due and what waits, the partial matches.
  std::vector<buffered> scratch_;
  std::vector<buffered> due_;
  std::vector<buffered> rest_;
  nfa_state<T> runs_state_;
};

} // namespace internal

/// A keyed stream with a pattern to find: finish it with `select`.
template <class T, class KeyF>
class pattern_stream {
public:
  using key_type = std::decay_t<std::invoke_result_t<const KeyF&, const T&>>;

  pattern_stream(stream<T> input, KeyF key, const pattern<T>& p)
      : input_(std::move(input))
      , key_(std::move(key))
      , pattern_(std::make_shared<const pattern<T>>(p)) {
    for (auto& m : p.mistakes())
      input_.graph()->mistakes.push_back(m);
  }

  /// Partial matches kept per key (see pattern_options). Default: 10,000.
  pattern_stream& max_partial_matches(size_t n) {
    opts_.max_partial_matches = n;
    if (n == 0)
      input_.graph()->mistakes.push_back(
          "pattern: max_partial_matches(0) would drop every partial match; allow at least 1");
    return *this;
  }

  /// What happens to late records: dead letters or only counted. Default: dead letters.
  /// late_policy::side_output needs a tag: side_output_late_data.
  pattern_stream& on_late(late_policy p) {
    opts_.on_late = p;
    return *this;
  }

  /// Late records (at or behind the watermark) go to side output `tag`, taken from the
  /// selected stream with `.side_output(tag)` (Flink CEP's sideOutputLateData).
  pattern_stream& side_output_late_data(const output_tag<T>& tag) {
    late_tag_ = tag.name();
    opts_.on_late = late_policy::side_output;
    return *this;
  }

  /// One `f(const match<T>&) -> Out` per match; timed-out partial matches are dropped.
  template <class Out, class Select>
  stream<Out> select(Select f) const {
    return select<Out>(internal::no_timeout{}, std::move(f));
  }

  /// Also one `on_timeout(const match<T>& partial, timestamp deadline) -> TO` per timed-out
  /// partial match, sent to the side output `tag`: `result.side_output(tag)` (side_output.hpp).
  template <class Out, class TO, class Timeout, class Select>
  stream<Out> select(const output_tag<TO>& tag, Timeout on_timeout, Select f) const {
    static_assert(std::is_invocable_r_v<Out, const Select&, const match<T>&>,
                  "select: the function must take const eddy::match<T>& and return Out");
    static_assert(std::is_invocable_r_v<TO, const Timeout&, const match<T>&, timestamp>,
                  "select: the timeout function must take (const eddy::match<T>&, "
                  "eddy::timestamp deadline) and return the tag's type");
    using function_t = internal::pattern_function<T, key_type, Out, Select, Timeout, TO>;
    return make<Out, TO>(function_t{pattern_, std::move(f), std::move(on_timeout), opts_},
                         tag.name());
  }

  /// Also one `on_timeout(const match<T>& partial, timestamp deadline) -> Out` per timed-out
  /// partial match, in the same stream as the matches.
  template <class Out, class Timeout, class Select>
  stream<Out> select(Timeout on_timeout, Select f) const {
    static_assert(std::is_invocable_r_v<Out, const Select&, const match<T>&>,
                  "select: the function must take const eddy::match<T>& and return Out");
    if constexpr (!std::is_same_v<Timeout, internal::no_timeout>)
      static_assert(std::is_invocable_r_v<Out, const Timeout&, const match<T>&, timestamp>,
                    "select: the timeout function must take (const eddy::match<T>&, "
                    "eddy::timestamp deadline) and return Out (or give select an output_tag to "
                    "send timeouts to a side output)");
    using function_t = internal::pattern_function<T, key_type, Out, Select, Timeout>;
    return make<Out, Out>(function_t{pattern_, std::move(f), std::move(on_timeout), opts_}, {});
  }

private:
  /// The operator running `fn`, whose timeouts go to the side output named `timeout_tag` (of
  /// type TO; empty: none) and late records to the late-data side output (if any).
  template <class Out, class TO, class Function>
  stream<Out> make(Function fn, const std::string& timeout_tag) const {
    auto& g = *input_.graph();
    if (opts_.on_late == late_policy::side_output && late_tag_.empty())
      g.mistakes.push_back("pattern: on_late(late_policy::side_output) needs a tag: call "
                           "side_output_late_data(eddy::output_tag<T>{\"late\"}) instead");
    uint32_t side_port = timeout_tag.empty() ? 0 : 1;
    uint32_t late_port = late_tag_.empty() ? 0 : side_port + 1;
    auto s = input_.template then<Out>("pattern", [key = key_, fn, side_port, late_port](
                                                      task& t, const internal::instance_wiring& w) {
      return std::make_unique<internal::keyed_process_logic<T, key_type, KeyF, Out, Function>>(
          t, w, key, fn, side_port, late_port);
    });
    auto id = g.nodes.size() - 1;
    g.nodes[id].needs_event_time = true;
    if (!timeout_tag.empty())
      internal::declare_side_output<TO>(g, id, timeout_tag);
    if (!late_tag_.empty())
      internal::declare_side_output<T>(g, id, late_tag_);
    return s;
  }

  /// The keyed input.
  stream<T> input_;
  /// The key function.
  KeyF key_;
  /// The pattern.
  std::shared_ptr<const pattern<T>> pattern_;
  /// Settings.
  pattern_options opts_;
  /// The late-data side output's tag name, or empty.
  std::string late_tag_;
};

} // namespace eddy
