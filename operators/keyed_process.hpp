// keyed process: a user function per record of a keyed stream, with keyed state in the job's
// state backend and timers per key (see keyed_context.hpp for what the function sees).
//
//   struct count_logins {
//     eddy::state::value_state<int64_t> n;
//     void open(eddy::keyed_context<std::string, int64_t>& ctx) {
//       n = *ctx.state().declare_value<int64_t>("n");
//     }
//     void operator()(const login& l, eddy::keyed_context<std::string, int64_t>& ctx) {
//       n.update((n.value() ? *n.value() : 0) + 1);
//       ctx.emit(*n.value());
//     }
//   };
//   logins.key_by([](const login& l) { return l.user; }).process<int64_t>(count_logins{});
//
// State declared with a TTL (`declare_value<V>(name, state::state_ttl::after_ms(60'000))`)
// expires on processing time (the job's processing clock, read once per batch), as in Flink.
//
// Optional members of the function object: `open(ctx)` (once per instance, to declare state),
// `on_timer(timestamp, ctx)` (a timer of the current key fired). An instance owns the key groups
// `key_group_range::of(instance, parallelism, key_groups)` and only their state: its state store
// and timers are what checkpoints snapshot per key group.
#pragma once

#include <eddy/operators/internal/keyed_core.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/keyed_context.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace eddy::internal {

/// True when the function `F` emits to a side output: `using side_output_type = S;` and
/// `void attach_side(output<S>*)` (the pattern operator's timeouts).
template <class F, class = void>
struct has_side_output : std::false_type {};
template <class F>
struct has_side_output<F, std::void_t<typename F::side_output_type>> : std::true_type {};

/// True when the function `F` sends late records to a side output: `using late_output_type =
/// In;` and `void attach_late(output<In>*)` (the pattern operator's late data).
template <class F, class = void>
struct has_late_output : std::false_type {};
template <class F>
struct has_late_output<F, std::void_t<typename F::late_output_type>> : std::true_type {};

/// Per-instance logic of a keyed process function.
template <class In, class K, class KeyF, class Out, class F>
class keyed_process_logic final : public one_input_logic<In, Out>, private keyed_core<K, Out, F> {
public:
  using core = keyed_core<K, Out, F>;

  /// `side_port`: the port of the function's side output (when the node declared one), or 0;
  /// `late_port`: the port of its late-data side output, or 0. Ports are made in order.
  keyed_process_logic(task& t, const instance_wiring& w, KeyF key, F f, uint32_t side_port = 0,
                      uint32_t late_port = 0)
      : one_input_logic<In, Out>(t, w)
      , core(t, w, &this->out_, std::move(f))
      , key_(std::move(key)) {
    if constexpr (has_side_output<F>::value) {
      if (side_port != 0) {
        auto side = this->template make_side_output<typename F::side_output_type>(t, w, side_port);
        this->f_.attach_side(side.get());
        side_ = std::move(side);
      }
    }
    if constexpr (has_late_output<F>::value) {
      if (late_port != 0) {
        auto late = this->template make_side_output<typename F::late_output_type>(t, w, late_port);
        this->f_.attach_late(late.get());
        late_ = std::move(late);
      }
    }
    core::open();
  }

  caf::message_handler handlers(task& t) override {
    return one_input_logic<In, Out>::handlers(t).or_else(core::timer_handlers(t));
  }

  void on_watermark(task& t, timestamp wm) override { core::fire_event_timers(t, wm); }

  void snapshot(task&, checkpoint_id, instance_state& out) override {
    core::snapshot_keyed_state(out);
  }

  void restore(task& t, checkpoint_id, instance_state&& in) override {
    core::restore_keyed_state(t, in);
  }

private:
  void on_batch(task& t, batch<In>& in) override {
    core::keyed_batch(t, in, key_, [this](const In& x) { this->f_(x, this->ctx_); });
  }

  /// The user's key function.
  KeyF key_;
  /// The function's side output, if it has one.
  std::unique_ptr<output_base> side_;
  /// The late-data side output, or null.
  std::unique_ptr<output_base> late_;
};

} // namespace eddy::internal
