// What a sink is: any object called with each record that reaches it.
//
//   struct printer { void operator()(const bid& b) { std::cout << b.price << '\n'; } };
//   bids.sink(printer{}).name("print");
//
// Optional members: `void open(uint32_t instance, uint32_t parallelism)`, `void finish()`
// (called once when the input ends), `caf::error check() const` (run before the job starts).
// Each instance calls its own copy of the object. A sink that throws sends the record to the
// dead-letter output (or fails the job with `error_policy::fail`).
//
// Exactly-once sinks (two-phase commit, as Flink's TwoPhaseCommitSinkFunction) also have
// `void pre_commit(eddy::checkpoint_id id)`, called at each checkpoint barrier and, after
// `finish()` at the end of the input, with the id that follows the instance's last checkpoint
// (the first checkpoint that counts it as finished): what the instance wrote since the last
// pre-commit becomes durable but stays invisible. And
// `std::shared_ptr<eddy::sink_committer> committer() const`, the object the instances share
// and the job's coordinator calls to commit (make visible) once a checkpoint completed, or to
// abort what a failed attempt pre-committed (see actors/snapshot.hpp). `collect` is one. A
// committer that can finish in a new process what a dead one left uncommitted keeps state in
// each completed checkpoint (`sink_committer::checkpoint_state`, the Kafka sink's does).
#pragma once

#include <eddy/operators/source.hpp>

namespace eddy::internal {

template <class S, class = void>
struct has_pre_commit : std::false_type {};
template <class S>
struct has_pre_commit<S, std::void_t<decltype(std::declval<S&>().pre_commit(checkpoint_id{}))>>
    : std::true_type {};

template <class S, class = void>
struct has_committer : std::false_type {};
template <class S>
struct has_committer<S, std::void_t<decltype(std::declval<const S&>().committer())>>
    : std::true_type {};

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
    try {
      if constexpr (has_finish<S>::value)
        sink_.finish();
      // What follows the instance's last checkpoint belongs to the next one: every checkpoint
      // from there on counts this instance as finished, with all of its output.
      if constexpr (has_pre_commit<S>::value)
        sink_.pre_commit(t.last_checkpoint() + 1);
    } catch (const std::exception& e) {
      t.fail("sink " + t.origin() + " failed to finish: " + e.what());
    } catch (...) {
      t.fail("sink " + t.origin() + " failed to finish: unknown exception");
    }
  }

  void snapshot(task&, checkpoint_id id, instance_state&) override {
    // A throwing pre-commit fails the task (and so the checkpoint), as the runtime reports.
    if constexpr (has_pre_commit<S>::value)
      sink_.pre_commit(id);
    else
      (void)id;
  }

private:
  /// The user's sink object, one copy per instance.
  S sink_;
};

} // namespace eddy::internal
