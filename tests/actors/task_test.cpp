// Watermarks and end of stream as a task handles them.
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <thread>

using namespace eddy;

namespace {

struct observation {
  int64_t time = 0;
  int64_t watermark = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, observation& x) {
  return f(x.time, x.watermark);
}

} // namespace

SCENARIO("an operator with several inputs forwards the minimum watermark") {
  // Two in-order sources, one fast and one paced: with the minimum no record is ever behind the
  // watermark; with any other choice the paced source's records would arrive late.
  job j{job_config{}.with_threads(2).with_batch_size(50)};
  auto fast = j.source(generator<int64_t>(5'000, [](uint64_t i) {
                         return int64_t(i);
                       }).with_event_time([](const int64_t& x) { return x; }));
  auto slow = j.source(generator<int64_t>(5'000, [](uint64_t i) {
                         return int64_t(i);
                       }).with_event_time([](const int64_t& x) {
                           return x;
                         }).at_rate(100'000));
  std::vector<observation> seen;
  std::vector<int64_t> final_watermark;
  fast.union_with(slow)
      .process<observation>(
          [](const int64_t& x, collector<observation>& out) {
            out.emit({x, out.watermark()});
          },
          [](collector<observation>& out) {
            out.emit({-1, out.watermark()});
          })
      .sink(collect(seen));
  REQUIRE(j.run());
  REQUIRE(seen.size() == 10'001);
  size_t late = 0;
  int64_t max_wm = min_time;
  for (const auto& o : seen) {
    if (o.time < 0) {
      // The end function runs before event time closes, at the last watermark of both inputs:
      // the largest time (4,999) minus one.
      CHECK(o.watermark == 4'998);
      continue;
    }
    if (o.time <= o.watermark)
      ++late;
    max_wm = std::max(max_wm, o.watermark);
  }
  CHECK(late == 0);
  CHECK(max_wm > 0); // watermarks did flow during the run
}

SCENARIO("a job finishes once every source is exhausted, with a report") {
  job j{job_config{}.with_threads(2)};
  std::vector<int> a, b;
  j.source(from_container(std::vector<int>{})).sink(collect(a));
  j.source(from_container(std::vector<int>{1, 2, 3})).sink(collect(b));
  auto report = j.run();
  REQUIRE(report);
  CHECK(a.empty());
  CHECK(b.size() == 3);
  CHECK(report->metrics.size() == 4);
}

namespace {

/// What the two sources of the idleness tests share.
struct idle_flags {
  /// The stalled source has declared itself idle (or has been found idle).
  std::atomic<bool> stalled_idle{false};
  /// The sink has seen a watermark beyond the stalled source's own.
  std::atomic<bool> watermark_moved{false};
  /// Records the sink has received from the active source.
  std::atomic<int64_t> seen{0};
};

/// Emits ten timed records (times 0-9) and its watermark, optionally marks itself idle, then
/// emits nothing until the active source is done.
struct stalling_source {
  using value_type = int64_t;
  std::shared_ptr<idle_flags> flags;
  bool mark_idle = false;
  int64_t active_records = 0;
  bool started = false;
  bool timed() const { return true; }
  produce_result produce(source_context<int64_t>& ctx) {
    if (!started) {
      started = true;
      for (int64_t i = 0; i < 10; ++i)
        ctx.emit(-1 - i, i); // negative values tell the stalled source's records apart
      ctx.watermark(9);
      if (mark_idle) {
        ctx.mark_idle();
        flags->stalled_idle = true;
      }
      return {produce_result::wait, std::chrono::milliseconds{1}};
    }
    if (flags->seen.load() < active_records)
      return {produce_result::wait, std::chrono::milliseconds{1}};
    return {produce_result::done, {}};
  }
};

/// Emits records with times 1000, 1001, ... one at a time, each only after the sink saw the one
/// before (so it keeps running while the other source stalls), until `n` or until the sink saw the
/// watermark move past the stalled source's.
struct lockstep_source {
  using value_type = int64_t;
  std::shared_ptr<idle_flags> flags;
  int64_t n = 0;
  bool wait_for_idle = false;
  int64_t next = 0;
  bool timed() const { return true; }
  produce_result produce(source_context<int64_t>& ctx) {
    if (wait_for_idle && !flags->stalled_idle)
      return {produce_result::wait, std::chrono::milliseconds{1}};
    if (next == n || (flags->watermark_moved && next > 0 && flags->seen == next)) {
      flags->seen = n; // lets the stalled source end
      return {produce_result::done, {}};
    }
    if (flags->seen < next)
      return {produce_result::wait, std::chrono::microseconds{50}};
    ctx.emit(next, 1000 + next);
    ctx.watermark(1000 + next);
    ++next;
    return {produce_result::wait, std::chrono::microseconds{50}};
  }
};

/// Runs the stalled and the lock-step source into one operator; returns the largest watermark
/// that operator saw while processing the active source's records.
int64_t run_idleness_job(job_config cfg, bool mark_idle, bool wait_for_idle, int64_t n) {
  auto flags = std::make_shared<idle_flags>();
  job j{cfg};
  auto stalled = j.source(stalling_source{flags, mark_idle, n});
  auto active = j.source(lockstep_source{flags, n, wait_for_idle});
  auto max_wm = std::make_shared<std::atomic<int64_t>>(min_time);
  stalled.union_with(active)
      .process<observation>([](const int64_t& x, collector<observation>& out) {
        out.emit({x, out.watermark()});
      })
      .sink([flags, max_wm](const observation& o) {
        if (o.time < 0)
          return;
        if (o.watermark > *max_wm)
          *max_wm = o.watermark;
        if (o.watermark > 9)
          flags->watermark_moved = true;
        ++flags->seen;
      });
  REQUIRE(j.run());
  return *max_wm;
}

} // namespace

SCENARIO("a source that declares itself idle stops holding the watermark back") {
  auto cfg = job_config{}.with_threads(2).with_batch_size(20);
  GIVEN("the stalled source never says it is idle") {
    // Every one of the active source's records arrives while the stalled one holds event time.
    CHECK(run_idleness_job(cfg, false, false, 300) <= 9);
  }
  GIVEN("the stalled source marks itself idle before the other one starts") {
    // The idle mark is in the operator's mailbox before the active source's first record.
    CHECK(run_idleness_job(cfg, true, true, 300) >= 1000);
  }
}

SCENARIO("a source that emits nothing for the idle timeout is declared idle in band") {
  // The active source runs in lock step with the sink until the watermark moves: it would run
  // to its end (a million records) if the stalled source were never found idle.
  auto cfg = job_config{}.with_threads(2).with_batch_size(20).with_idle_timeout(
      std::chrono::milliseconds{5});
  CHECK(run_idleness_job(cfg, false, false, 1'000'000) > 9);
}

SCENARIO("a backpressured source is never taken for idle") {
  // A fast source behind a slow sink waits for credit much longer than the idle timeout, but it
  // never runs out of records: its consumer's watermark must never move past what it emitted.
  job j{job_config{}.with_threads(2).with_batch_size(10).with_credit(1).with_idle_timeout(
      std::chrono::milliseconds{1})};
  auto paced = j.source(generator<int64_t>(400, [](uint64_t i) {
                          return int64_t(i);
                        }).with_event_time([](const int64_t& x) { return x; }));
  auto fast = j.source(generator<int64_t>(400, [](uint64_t i) {
                         return int64_t(i);
                       }).with_event_time([](const int64_t& x) { return x; }));
  std::vector<observation> seen;
  auto slow_seen = std::make_shared<std::vector<observation>>();
  paced.union_with(fast)
      .process<observation>([](const int64_t& x, collector<observation>& out) {
        out.emit({x, out.watermark()});
      })
      .sink([slow_seen](const observation& o) {
        std::this_thread::sleep_for(std::chrono::microseconds{200}); // a slow sink
        slow_seen->push_back(o);
      });
  REQUIRE(j.run());
  REQUIRE(slow_seen->size() == 800);
  size_t late = 0;
  for (const auto& o : *slow_seen)
    late += o.time <= o.watermark;
  CHECK(late == 0);
}
