// co-process: one function over two streams (Flink's CoProcessFunction), what `connect` leads to
// (see connected_stream.hpp). Keyed, both inputs share the keyed state and timers of a key:
//
//   struct balance {                                     // deposits and withdrawals, per account
//     eddy::state::value_state<int64_t> total;
//     void open(eddy::keyed_context<uint64_t, int64_t>& ctx) {
//       total = *ctx.state().declare_value<int64_t>("total");
//     }
//     void process1(const deposit& d, eddy::keyed_context<uint64_t, int64_t>& ctx) {
//       total.update(total.value_or(0) + d.amount);
//       ctx.emit(*total.value());
//     }
//     void process2(const withdrawal& w, eddy::keyed_context<uint64_t, int64_t>& ctx) {
//       total.update(total.value_or(0) - w.amount);
//       ctx.emit(*total.value());
//     }
//   };
//   deposits.key_by([](const deposit& d) { return d.account; })
//       .connect(withdrawals.key_by([](const withdrawal& w) { return w.account; }))
//       .process<int64_t>(balance{});
//
// `open(ctx)` and `on_timer(t, ctx)` are optional, as for keyed_process.hpp. Unkeyed,
// `a.connect(b).process<Out>(f)` calls `f.process1(const A&, collector<Out>&)` and
// `f.process2(const B&, collector<Out>&)`. Records of the two inputs are not ordered relative to
// each other (each input keeps its own order per channel); the watermark is the minimum over both.
#pragma once

#include <eddy/operators/collector.hpp>
#include <eddy/operators/internal/keyed_core.hpp>
#include <eddy/operators/internal/two_input.hpp>
#include <eddy/operators/keyed_context.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace eddy::internal {

/// Per-instance logic of an unkeyed co-process function.
template <class A, class B, class Out, class F>
class co_process_logic final : public two_input_logic<A, B, Out> {
public:
  co_process_logic(task& t, const instance_wiring& w, F f)
      : two_input_logic<A, B, Out>(t, w)
      , f_(std::move(f))
      , collector_(&this->out_) {}

private:
  void on_batch1(task& t, batch<A>& in) override {
    run(t, in, [this](const A& x) { f_.process1(x, collector_); });
  }

  void on_batch2(task& t, batch<B>& in) override {
    run(t, in, [this](const B& x) { f_.process2(x, collector_); });
  }

  template <class T, class Call>
  void run(task& t, batch<T>& in, Call call) {
    auto wm = t.watermark();
    bool timed = !in.times.empty();
    guarded_loop(t, in.items.size(), in.items, [&](size_t i) {
      collector_.set(timed ? in.times[i] : min_time, wm);
      call(std::as_const(in.items[i]));
    });
  }

  /// The user's function, one copy per instance.
  F f_;
  /// What it emits into.
  collector<Out> collector_;
};

/// Per-instance logic of a keyed two-input operator: `f.process1(const A&, ctx)` and
/// `f.process2(const B&, ctx)` with the shared keyed state and timers of the record's key. The
/// joins are this logic with a function of their own.
/// True when the function `F` has late-data side outputs of its two inputs (the joins):
/// `late_left_type`, `late_right_type` and `attach_late(output<A>*, output<B>*)`.
template <class F, class = void>
struct has_late_sides : std::false_type {};
template <class F>
struct has_late_sides<F, std::void_t<typename F::late_left_type, typename F::late_right_type>>
    : std::true_type {};

template <class A, class B, class K, class KeyA, class KeyB, class Out, class F>
class keyed_co_process_logic final : public two_input_logic<A, B, Out>,
                                     private keyed_core<K, Out, F> {
public:
  using core = keyed_core<K, Out, F>;

  /// `late_ports`: the ports of the function's late-data side outputs of the first and second
  /// input (when the node declared them), or 0.
  keyed_co_process_logic(task& t, const instance_wiring& w, KeyA key_a, KeyB key_b, F f,
                         std::pair<uint32_t, uint32_t> late_ports = {0, 0})
      : two_input_logic<A, B, Out>(t, w)
      , core(t, w, &this->out_, std::move(f))
      , key_a_(std::move(key_a))
      , key_b_(std::move(key_b)) {
    if constexpr (has_late_sides<F>::value) {
      if (late_ports.first != 0)
        late_a_ = this->template make_side_output<A>(t, w, late_ports.first);
      if (late_ports.second != 0)
        late_b_ = this->template make_side_output<B>(t, w, late_ports.second);
      this->f_.attach_late(late_a_.get(), late_b_.get());
    }
    core::open();
  }

  caf::message_handler handlers(task& t) override {
    return two_input_logic<A, B, Out>::handlers(t).or_else(core::timer_handlers(t));
  }

  void on_watermark(task& t, timestamp wm) override { core::fire_event_timers(t, wm); }

  /// Checkpoints: the keyed state and timers. The joins built on this logic keep nothing else
  /// that matters (the window join's cache of registered timers starts empty, which is correct).
  void snapshot(task&, checkpoint_id, instance_state& out) override {
    core::snapshot_keyed_state(out);
  }

  void restore(task& t, checkpoint_id, instance_state&& in) override {
    core::restore_keyed_state(t, in);
  }

private:
  void on_batch1(task& t, batch<A>& in) override {
    core::keyed_batch(t, in, key_a_, [this](const A& x) { this->f_.process1(x, this->ctx_); });
  }

  void on_batch2(task& t, batch<B>& in) override {
    core::keyed_batch(t, in, key_b_, [this](const B& x) { this->f_.process2(x, this->ctx_); });
  }

  /// The key functions of the two inputs.
  KeyA key_a_;
  KeyB key_b_;
  /// The late-data side outputs of the two inputs, or null.
  std::unique_ptr<output<A>> late_a_;
  std::unique_ptr<output<B>> late_b_;
};

} // namespace eddy::internal
