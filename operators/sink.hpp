// What a sink is: any object called with each record that reaches it.
//
//   struct printer { void operator()(const bid& b) { std::cout << b.price << '\n'; } };
//   bids.sink(printer{}).name("print");
//
// Optional members: `void open(uint32_t instance, uint32_t parallelism)`, `void finish()`
// (called once when the input ends), `caf::error check() const` (run before the job starts).
// Each instance calls its own copy of the object. A sink that throws sends the record to the
// dead-letter output (or fails the job with `error_policy::fail`).
#pragma once

#include <eddy/operators/source.hpp>

namespace eddy::internal {

/// Per-instance logic of a sink.
template <class In, class S>
class sink_logic final : public logic {
public:
  sink_logic(task& t, S s)
      : sink_(std::move(s)) {
    if constexpr (has_open<S>::value)
      sink_.open(t.instance(), t.parallelism());
  }

  caf::message_handler handlers(task& t) override {
    return t.data_handler<In>([this, &t](batch<In>& b) {
      guarded_loop(t, b.items.size(), b.items, [&](size_t i) { sink_(std::as_const(b.items[i])); });
    });
  }

  output_base* output() override { return nullptr; }

  void on_end(task& t) override {
    if constexpr (has_finish<S>::value) {
      try {
        sink_.finish();
      } catch (const std::exception& e) {
        t.fail("sink " + t.origin() + " failed to finish: " + e.what());
      } catch (...) {
        t.fail("sink " + t.origin() + " failed to finish: unknown exception");
      }
    }
  }

private:
  /// The user's sink object, one copy per instance.
  S sink_;
};

} // namespace eddy::internal
