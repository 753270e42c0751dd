// Keyed process functions: state per key in the job's state backend, event-time timers (order,
// deletion, firing at the end of the input) and processing-time timers on an injected clock.
#include "temp_dir.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <random>

using namespace eddy;

namespace {

struct event {
  int32_t key = 0;
  int64_t time = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(x.key, x.time, x.value);
}

struct total {
  int32_t key = 0;
  int64_t sum = 0;
  int64_t count = 0;
  bool from_timer = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, total& x) {
  return f(x.key, x.sum, x.count, x.from_timer);
}

event make_event(uint64_t i) {
  auto h = mix64(i + 7);
  return event{static_cast<int32_t>(h % 53), static_cast<int64_t>(i), int64_t((h >> 20) % 100)};
}

/// Running sum and count per key in keyed state; at the end of the input (the final watermark)
/// a timer emits each key's totals once.
struct running_totals {
  state::value_state<total> totals;
  void open(keyed_context<int32_t, total>& ctx) {
    totals = *ctx.state().declare_value<total>("totals");
  }
  void operator()(const event& e, keyed_context<int32_t, total>& ctx) {
    auto t = totals.value_or(total{e.key, 0, 0, false});
    t.sum += e.value;
    ++t.count;
    totals.update(t);
    ctx.emit(t);
    ctx.register_event_time_timer(max_time - 1); // one per key, however often registered
  }
  void on_timer(timestamp, keyed_context<int32_t, total>& ctx) {
    auto t = *totals.value();
    t.from_timer = true;
    ctx.emit(t);
  }
};

} // namespace

SCENARIO("keyed state gives the sequential totals whatever the parallelism, on both backends") {
  constexpr uint64_t n = 20'000;
  std::map<int32_t, std::pair<int64_t, int64_t>> reference;
  for (uint64_t i = 0; i < n; ++i) {
    auto e = make_event(i);
    reference[e.key].first += e.value;
    ++reference[e.key].second;
  }
  std::mt19937 rng{7};
  for (int round = 0; round < 6; ++round) {
    auto pick = [&](uint32_t lo, uint32_t hi) {
      return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
    };
    bool rocksdb = round % 2 == 1;
    auto cfg = job_config{}.with_threads(2).with_batch_size(pick(1, 500)).with_credit(pick(1, 4));
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(test::temp_dir("eddy_keyed")));
    uint32_t sources = pick(1, 3);
    uint32_t keyed = pick(1, 5);
    INFO("round " << round << (rocksdb ? " (RocksDB)" : " (memory)") << ": sources " << sources
                  << ", keyed " << keyed);
    job j{cfg};
    std::vector<total> out;
    j.source(generator<event>(n, make_event).with_event_time([](const event& e) { return e.time; }))
        .parallelism(sources)
        .key_by([](const event& e) { return e.key; })
        .process<total>(running_totals{})
        .parallelism(keyed)
        .sink(collect(out));
    REQUIRE(j.run());
    std::map<int32_t, total> last, final_totals;
    std::map<int32_t, int> timer_firings;
    for (const auto& t : out) {
      if (t.from_timer) {
        final_totals[t.key] = t;
        ++timer_firings[t.key];
        continue;
      }
      // Per key the running count rises one by one: no record seen twice or missed.
      CHECK(t.count == last[t.key].count + 1);
      last[t.key] = t;
    }
    REQUIRE(final_totals.size() == reference.size());
    for (auto& [key, ref] : reference) {
      CHECK(final_totals[key].sum == ref.first);
      CHECK(final_totals[key].count == ref.second);
      CHECK(timer_firings[key] == 1); // registered per record, fired once
    }
  }
}

namespace {

struct fired {
  int32_t key = 0;
  int64_t timer = 0;
  int64_t watermark = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fired& x) {
  return f(x.key, x.timer, x.watermark);
}

/// Registers timers at time + 10 and time + 20 per record; a record with value 1 deletes the
/// + 20 one of its own time.
struct timer_trace {
  void operator()(const event& e, keyed_context<int32_t, fired>& ctx) {
    ctx.register_event_time_timer(e.time + 10);
    ctx.register_event_time_timer(e.time + 20);
    if (e.value == 1)
      ctx.delete_event_time_timer(e.time + 20);
  }
  void on_timer(timestamp t, keyed_context<int32_t, fired>& ctx) {
    ctx.emit(fired{ctx.key(), t, ctx.watermark()});
  }
};

} // namespace

SCENARIO("event-time timers fire once, in order, when the watermark passes them") {
  std::vector<event> xs;
  for (int64_t t = 0; t < 100; ++t)
    xs.push_back(event{static_cast<int32_t>(t % 3), t, t % 7 == 0 ? 1 : 0});
  job j{job_config{}.with_threads(2).with_batch_size(5)};
  std::vector<fired> out;
  j.source(from_container(xs, [](const event& e) { return e.time; }))
      .key_by([](const event& e) { return e.key; })
      .process<fired>(timer_trace{})
      .sink(collect(out));
  REQUIRE(j.run());
  std::map<int32_t, std::vector<int64_t>> per_key;
  for (const auto& f : out) {
    per_key[f.key].push_back(f.timer);
    // A timer fires once the watermark has reached it, never before.
    CHECK(f.watermark >= f.timer);
  }
  for (int32_t k = 0; k < 3; ++k) {
    std::vector<int64_t> expected;
    for (int64_t t = k; t < 100; t += 3) {
      expected.push_back(t + 10);
      if (t % 7 != 0)
        expected.push_back(t + 20);
    }
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    // The + 20 timer deleted by a record also removes the same time registered as + 10 by
    // another: it is one timer per (key, time).
    std::vector<int64_t> deleted;
    for (int64_t t = k; t < 100; t += 3)
      if (t % 7 == 0)
        deleted.push_back(t + 20);
    INFO("key " << k);
    auto& got = per_key[k];
    CHECK(std::is_sorted(got.begin(), got.end()));
    CHECK(std::adjacent_find(got.begin(), got.end()) == got.end()); // once each
    // Every timer that was not deleted after its last registration fired (also the ones past
    // the last record's time, at the end of the input).
    CHECK(got.back() >= 100);
    for (auto t : got)
      CHECK(std::binary_search(expected.begin(), expected.end(), t));
  }
}

SCENARIO("processing-time timers follow the job's processing clock") {
  // A manual clock: the source advances it by 10 ms per record. Each record registers a
  // processing-time timer 25 ms later; a timer fires before the first record that arrives once
  // the clock has passed it.
  auto now = std::make_shared<std::atomic<int64_t>>(1'000);
  struct stepping {
    std::shared_ptr<std::atomic<int64_t>> now;
    event operator()(uint64_t i) const {
      *now += 10;
      return event{1, int64_t(i), *now};
    }
  };
  struct proc_trace {
    void operator()(const event& e, keyed_context<int32_t, fired>& ctx) {
      ctx.register_processing_time_timer(e.value + 25);
      ctx.emit(fired{-1, e.value, ctx.processing_time()});
    }
    void on_timer(timestamp t, keyed_context<int32_t, fired>& ctx) {
      ctx.emit(fired{ctx.key(), t, ctx.processing_time()});
    }
  };
  // Batches of one record, and the source waits for each to be processed before the next
  // (credit 1, batch 1), so the clock moves between batches.
  job j{job_config{}.with_threads(2).with_batch_size(1).with_credit(1).with_processing_clock(
      [now] { return now->load(); })};
  std::vector<fired> out;
  j.source(generator<event>(20, stepping{now}))
      .key_by([](const event& e) { return e.key; })
      .process<fired>(proc_trace{})
      .sink(collect(out));
  REQUIRE(j.run());
  size_t timers = 0;
  for (const auto& f : out) {
    if (f.key == -1)
      continue;
    ++timers;
    CHECK(f.watermark >= f.timer); // fired only once the clock had reached it
  }
  CHECK(timers >= 15); // the last few may still be pending when the input ends
  CHECK(timers <= 20);
}

SCENARIO("keyed state with a time-to-live expires on the job's processing clock") {
  // The clock moves 10 ms per record (the source may run up to two records ahead of the keyed
  // operator); a key's count lives 45 ms after its last update. Key 1
  // appears at records 0, 1, 2 (counts 1, 2, 3), then again at record 9: by then its count has
  // expired and starts over.
  auto now = std::make_shared<std::atomic<int64_t>>(0);
  struct ticking {
    std::shared_ptr<std::atomic<int64_t>> now;
    event operator()(uint64_t i) const {
      *now += 10;
      return event{i < 3 || i == 9 ? 1 : 2, int64_t(i), 0};
    }
  };
  struct counting {
    state::value_state<int64_t> count;
    void open(keyed_context<int32_t, total>& ctx) {
      count = *ctx.state().declare_value<int64_t>("count", state::state_ttl::after_ms(45));
    }
    void operator()(const event& e, keyed_context<int32_t, total>& ctx) {
      auto n = count.value_or(0) + 1;
      count.update(n);
      ctx.emit(total{e.key, e.time, n, false});
    }
  };
  job j{job_config{}.with_threads(2).with_batch_size(1).with_credit(1).with_processing_clock(
      [now] { return now->load(); })};
  std::vector<total> out;
  j.source(generator<event>(10, ticking{now}))
      .key_by([](const event& e) { return e.key; })
      .process<total>(counting{})
      .sink(collect(out));
  REQUIRE(j.run());
  std::map<int64_t, int64_t> count_at; // record index (sum field) -> count
  for (const auto& t : out)
    if (t.key == 1)
      count_at[t.sum] = t.count;
  CHECK(count_at[0] == 1);
  CHECK(count_at[1] == 2);
  CHECK(count_at[2] == 3);
  CHECK(count_at[9] == 1); // expired and started over
}
