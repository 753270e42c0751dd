// Operators restored mid-stream, through their snapshot() / restore() hooks: each stateful
// operator of a job crashes once it has taken part of its input, the job recovers from the last
// completed checkpoint, and the output is exactly that of a run without failures (nothing lost,
// nothing repeated). checkpoint_test.cpp tests the runtime around the hooks.
#include "temp_dir.hpp"
#include "window_fixtures.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/operators/pattern_operator.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/csv_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

struct rev {
  int32_t key = 0;
  int64_t time = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rev& x) {
  return f(x.key, x.time, x.value);
}

/// Record i: one of 13 keys, event time i (in order), a value in [0, 100).
rev make_rev(uint64_t i) {
  auto h = mix64(i + 11);
  return rev{static_cast<int32_t>(h % 13), static_cast<int64_t>(i), int64_t((h >> 20) % 100)};
}

/// Record i of a second stream, for the joins.
rev make_other(uint64_t i) {
  auto h = mix64(i + 1'000'003);
  return rev{static_cast<int32_t>(h % 13), static_cast<int64_t>(i), int64_t((h >> 24) % 100)};
}

/// A paced, timed generator of `n` records (about n / 20,000 s), with parallelism 1 so that
/// every key's records arrive in one order in every run.
auto paced(uint64_t n, rev (*make)(uint64_t) = make_rev) {
  return generator<rev>(n, make)
      .with_event_time([](const rev& r) { return r.time; })
      .at_rate(20'000);
}

/// A run without faults.
job_config plain(uint32_t batch = 32) {
  return job_config{}.with_threads(2).with_batch_size(batch);
}

/// A run with checkpoints every 15 ms in which instance `instance` of operator `op` crashes
/// after `after` records; on RocksDB when `rocksdb`.
job_config crashing(const std::string& name, const std::string& op, uint32_t instance,
                    uint64_t after, bool rocksdb = false) {
  fault_plan faults;
  faults.crashes.push_back({op, instance, after});
  auto cfg = plain().with_checkpoints(test::temp_dir(name), 15ms).with_faults(faults);
  if (rocksdb)
    cfg.with_state_backend(state::backend_config{}.with_rocksdb(test::temp_dir(name + "_db")));
  return cfg;
}

/// Checks that `report` shows the injected fault and its one recovery: the failed task alone,
/// from a checkpoint (not from the start).
void check_recovered(const job_report& report) {
  std::string causes;
  for (const auto& r : report.recoveries)
    causes += r.cause + "; ";
  INFO("recoveries: " << causes);
  REQUIRE(report.faults.size() == 1);
  REQUIRE(report.recoveries.size() == 1);
  CHECK(report.recoveries[0].single_task);
  CHECK(report.recoveries[0].from_checkpoint > 0);
}

template <class T>
std::vector<T> sorted(std::vector<T> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

/// Runs `j`, which writes into `out`; the report goes to `report` when given. Returns `out`
/// sorted.
template <class T>
std::vector<T> run_sorted(job& j, std::vector<T>& out, job_report* report) {
  auto r = j.run();
  REQUIRE(r);
  if (report)
    *report = *r;
  return sorted(out);
}

// -- keyed process ------------------------------------------------------------------------------

using total_row = std::tuple<int32_t, int64_t, int64_t, int64_t, bool>; // key, time, sum, n, timer

/// A running sum per key (value state), emitted with every record; and per record an event-time
/// timer 20 ms later that emits the sum of the values buffered for that time (map state).
struct sums_and_timers {
  using ctx_t = keyed_context<int32_t, total_row>;
  state::value_state<std::pair<int64_t, int64_t>> running;
  state::map_state<int64_t, int64_t> due;
  void open(ctx_t& ctx) {
    running = *ctx.state().declare_value<std::pair<int64_t, int64_t>>("running");
    due = *ctx.state().declare_map<int64_t, int64_t>("due");
  }
  void operator()(const rev& r, ctx_t& ctx) {
    auto s = running.value_or({0, 0});
    s.first += r.value;
    ++s.second;
    running.update(s);
    ctx.emit(total_row{r.key, r.time, s.first, s.second, false});
    auto at = r.time + 20;
    due.put(at, (due.get(at) ? *due.get(at) : 0) + r.value);
    ctx.register_event_time_timer(at);
  }
  void on_timer(timestamp t, ctx_t& ctx) {
    ctx.emit(total_row{ctx.key(), t, *due.get(t), 0, true});
    due.remove(t);
  }
};

std::vector<total_row> run_keyed_process(job_config cfg, job_report* report = nullptr) {
  job j{cfg};
  std::vector<total_row> out;
  j.source(paced(6'000))
      .name("events")
      .key_by([](const rev& r) { return r.key; })
      .process<total_row>(sums_and_timers{})
      .name("sums")
      .parallelism(2)
      .sink(collect(out))
      .name("collect");
  return run_sorted(j, out, report);
}

// -- windows ------------------------------------------------------------------------------------

using window_row = std::tuple<int32_t, int64_t, int64_t, int64_t, int64_t>; // key, start, end, ...

struct sum_values {
  using accumulator = std::pair<int64_t, int64_t>;
  using result = std::pair<int64_t, int64_t>;
  accumulator create_accumulator() const { return {0, 0}; }
  void add(const rev& r, accumulator& acc) const {
    acc.first += r.value;
    ++acc.second;
  }
  void merge(accumulator& into, const accumulator& from) const {
    into.first += from.first;
    into.second += from.second;
  }
  result get_result(const accumulator& acc) const { return acc; }
};

/// Records in bursts: 300 records one ms apart, then a gap of 40 ms (sessions of gap 10 close).
rev make_burst(uint64_t i) {
  auto r = make_rev(i);
  r.time = static_cast<int64_t>(i + i / 300 * 40);
  return r;
}

/// Record i out of order by up to 7 ms (reversed in blocks of 8).
rev make_shuffled(uint64_t i) {
  auto j = i / 8 * 8 + (7 - i % 8);
  return make_rev(j);
}

template <class Window>
std::vector<window_row> run_windows(job_config cfg, rev (*make)(uint64_t), timestamp lag,
                                    Window window, job_report* report = nullptr) {
  job j{cfg};
  std::vector<window_result<int32_t, std::pair<int64_t, int64_t>>> out;
  auto keyed = j.source(generator<rev>(6'000, make)
                            .with_event_time([](const rev& r) { return r.time; }, lag)
                            .at_rate(20'000))
                   .name("events")
                   .key_by([](const rev& r) { return r.key; });
  window(keyed).name("windows").parallelism(2).sink(collect(out)).name("collect");
  auto r = j.run();
  REQUIRE(r);
  if (report)
    *report = *r;
  std::vector<window_row> rows;
  for (const auto& w : out)
    rows.emplace_back(w.key, w.start, w.end, w.value.first, w.value.second);
  return sorted(rows);
}

// -- joins and broadcast ------------------------------------------------------------------------

using pair_row = std::tuple<int32_t, int64_t, int64_t, int64_t, int64_t>; // key, ta, tb, va, vb

pair_row pair_of(const rev& a, const rev& b) {
  return pair_row{a.key, a.time, b.time, a.value, b.value};
}

std::vector<pair_row> run_interval_join(job_config cfg, job_report* report = nullptr) {
  job j{cfg};
  std::vector<pair_row> out;
  auto key = [](const rev& r) { return r.key; };
  j.source(paced(5'000))
      .name("left")
      .key_by(key)
      .interval_join(j.source(paced(5'000, make_other)).name("right").key_by(key))
      .between(-15, 10)
      .process<pair_row>(pair_of)
      .name("join")
      .parallelism(2)
      .sink(collect(out))
      .name("collect");
  return run_sorted(j, out, report);
}

std::vector<pair_row> run_window_join(job_config cfg, job_report* report = nullptr) {
  job j{cfg};
  std::vector<pair_row> out;
  j.source(paced(5'000))
      .name("left")
      .join(j.source(paced(5'000, make_other)).name("right"))
      .where([](const rev& r) { return r.key; })
      .equal_to([](const rev& r) { return r.key; })
      .window(sliding(40ms, 20ms))
      .apply<pair_row>(pair_of)
      .name("join")
      .parallelism(2)
      .sink(collect(out))
      .name("collect");
  return run_sorted(j, out, report);
}

struct threshold {
  int32_t id = 0;
  int64_t limit = 0;
  int64_t time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, threshold& x) {
  return f(x.id, x.limit, x.time);
}

using verdict_row = std::tuple<int32_t, int64_t, int64_t, int64_t>; // key, time, value, limit

/// Compares each record, once the watermark has passed it (so every threshold before it has
/// arrived), with the broadcast threshold of its key's group. The thresholds all come at the
/// start: after a recovery they are only in the restored broadcast state.
struct check_limits {
  using kctx = keyed_broadcast_context<int32_t, verdict_row, int32_t, int64_t>;
  state::map_state<int64_t, rev> pending;
  void open(kctx& ctx) { pending = *ctx.state().declare_map<int64_t, rev>("pending"); }
  void process_element(const rev& r, kctx& ctx) {
    pending.put(r.time, r);
    ctx.register_event_time_timer(r.time);
  }
  void process_broadcast(const threshold& t, broadcast_context<int32_t, int64_t, verdict_row>& c) {
    c.state().put(t.id, t.limit);
  }
  void on_timer(timestamp t, kctx& ctx) {
    const auto& r = *pending.get(t);
    const auto* limit = ctx.broadcast_state().get(r.key % 4);
    ctx.emit(verdict_row{r.key, r.time, r.value, limit != nullptr ? *limit : -1});
    pending.remove(t);
  }
};

std::vector<verdict_row> run_broadcast(job_config cfg, job_report* report = nullptr) {
  job j{cfg};
  std::vector<verdict_row> out;
  std::vector<threshold> limits;
  for (int32_t i = 0; i < 20; ++i)
    limits.push_back(threshold{i % 4, 10 + 7 * i, i});
  auto rules = j.source(from_container(limits, [](const threshold& t) { return t.time; }))
                   .name("limits")
                   .broadcast_state<int32_t, int64_t>("limits");
  j.source(generator<rev>(6'000,
                          [](uint64_t i) {
                            auto r = make_rev(i);
                            r.time += 100; // after every threshold
                            return r;
                          })
               .with_event_time([](const rev& r) { return r.time; })
               .at_rate(20'000))
      .name("events")
      .key_by([](const rev& r) { return r.key; })
      .connect(rules)
      .process<verdict_row>(check_limits{})
      .name("check")
      .parallelism(2)
      .sink(collect(out))
      .name("collect");
  return run_sorted(j, out, report);
}

// -- pattern ------------------------------------------------------------------------------------

using match_row = std::tuple<int32_t, int64_t, int64_t, bool>; // key, first time, last time, done

std::vector<match_row> run_pattern(job_config cfg, job_report* report = nullptr) {
  auto p = pattern<rev>::begin("low", [](const rev& r) {
             return r.value < 20;
           }).followed_by("high", [](const rev& r) {
               return r.value > 85;
             }).within(30ms);
  job j{cfg};
  std::vector<match_row> out;
  j.source(paced(6'000))
      .name("events")
      .key_by([](const rev& r) { return r.key; })
      .pattern(p)
      .select<match_row>(
          [](const match<rev>& m, timestamp) {
            return match_row{m.first("low")->key, m.first("low")->time, -1, false};
          },
          [](const match<rev>& m) {
            return match_row{m.first("low")->key, m.first("low")->time, m.first("high")->time,
                             true};
          })
      .name("pattern")
      .parallelism(2)
      .sink(collect(out))
      .name("collect");
  return run_sorted(j, out, report);
}

} // namespace

SCENARIO("a keyed process function restored mid-stream continues its state and timers exactly") {
  auto expected = run_keyed_process(plain());
  REQUIRE(expected.size() > 6'000);
  for (bool rocksdb : {false, true}) {
    INFO((rocksdb ? "RocksDB" : "memory") << " backend");
    job_report report;
    auto got =
        run_keyed_process(crashing("eddy_recovery_keyed", "sums", 1, 1'500, rocksdb), &report);
    check_recovered(report);
    CHECK(got == expected);
  }
}

SCENARIO("session windows restored mid-stream give the results of a run without failures") {
  auto sessions = [](auto& keyed) { return keyed.window(session(10ms)).aggregate(sum_values{}); };
  auto expected = run_windows(plain(), make_burst, 0, sessions);
  REQUIRE(expected.size() > 13 * 10);
  for (bool rocksdb : {false, true}) {
    INFO((rocksdb ? "RocksDB" : "memory") << " backend");
    job_report report;
    auto got = run_windows(crashing("eddy_recovery_sessions", "windows", 0, 1'700, rocksdb),
                           make_burst, 0, sessions, &report);
    check_recovered(report);
    CHECK(test::differences(got, expected) == "");
  }
}

SCENARIO("sliding windows with allowed lateness restored mid-stream rebuild their fire index") {
  // Allowed lateness makes keys due also when their oldest slice can go, not only at window
  // ends. Records are out of order by up to 7 ms, within the watermark's lag: none is late, so
  // the result does not depend on where batches (and watermarks) fall.
  auto sliding_sums = [](auto& keyed) {
    return keyed.window(sliding(50ms, 10ms)).allowed_lateness(5ms).aggregate(sum_values{});
  };
  auto expected = run_windows(plain(), make_shuffled, 8, sliding_sums);
  REQUIRE(expected.size() > 13 * 500);
  job_report report;
  auto got = run_windows(crashing("eddy_recovery_sliding", "windows", 1, 1'800), make_shuffled, 8,
                         sliding_sums, &report);
  check_recovered(report);
  INFO("back to checkpoint " << report.recoveries[0].from_checkpoint << " after "
                             << report.faults[0]);
  CHECK(test::differences(got, expected) == "");
}

SCENARIO("an interval join restored mid-stream gives every pair once") {
  auto expected = run_interval_join(plain());
  REQUIRE(expected.size() > 1'000);
  job_report report;
  auto got = run_interval_join(crashing("eddy_recovery_ijoin", "join", 0, 2'000), &report);
  check_recovered(report);
  CHECK(got == expected);
}

SCENARIO("a window join restored mid-stream gives every pair once") {
  auto expected = run_window_join(plain());
  REQUIRE(expected.size() > 1'000);
  job_report report;
  auto got = run_window_join(crashing("eddy_recovery_wjoin", "join", 1, 2'000, true), &report);
  check_recovered(report);
  CHECK(got == expected);
}

SCENARIO("a broadcast process function restored mid-stream keeps its broadcast state") {
  auto expected = run_broadcast(plain());
  REQUIRE(expected.size() == 6'000);
  job_report report;
  auto got = run_broadcast(crashing("eddy_recovery_broadcast", "check", 1, 1'500), &report);
  check_recovered(report);
  CHECK(got == expected);
}

SCENARIO("a pattern restored mid-stream finds the matches and timeouts of a run without failures") {
  auto expected = run_pattern(plain());
  REQUIRE(expected.size() > 100);
  for (bool rocksdb : {false, true}) {
    INFO((rocksdb ? "RocksDB" : "memory") << " backend");
    job_report report;
    auto got =
        run_pattern(crashing("eddy_recovery_pattern", "pattern", 0, 1'500, rocksdb), &report);
    check_recovered(report);
    CHECK(got == expected);
  }
}

namespace {

struct csv_row {
  int64_t id = 0;
  std::string name;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, csv_row& x) {
  return f(x.id, x.name, x.value);
}

} // namespace

SCENARIO("a CSV source restored mid-file reads on: every record and dead letter once, with its "
         "line number") {
  // 20,000 lines; every 97th is broken. A map that takes a little time per record keeps the file
  // open long enough for checkpoints to complete before the crash.
  auto path = (std::filesystem::temp_directory_path() / "eddy_recovery.csv").string();
  {
    std::ofstream f{path};
    f << "id,name,value\n";
    for (int i = 0; i < 20'000; ++i)
      if (i % 97 == 5)
        f << "broken line " << i << "\n";
      else
        f << i << ",n" << i << "," << i * 3 << "\n";
  }
  auto run = [&](job_config cfg) {
    job j{cfg};
    std::vector<int64_t> out;
    j.source(csv_source<csv_row>(path))
        .name("reader")
        .map([](const csv_row& r) {
          if (r.id % 100 == 0)
            std::this_thread::sleep_for(1ms);
          return r.id + r.value;
        })
        .name("slow")
        .sink(collect(out))
        .name("collect");
    auto r = j.run();
    REQUIRE(r);
    std::vector<std::string> letters;
    for (const auto& d : r->dead_letters)
      letters.push_back(d.origin + " " + d.record);
    return std::make_tuple(sorted(out), sorted(letters), *r);
  };
  auto [expected, expected_letters, plain_report] = run(plain(64));
  REQUIRE(expected.size() == 20'000 - 207);
  REQUIRE(expected_letters.size() == 207);
  CHECK(std::find(expected_letters.begin(), expected_letters.end(), path + ":7 broken line 5") !=
        expected_letters.end());
  // The source itself crashes: its replacement seeks to the position of the checkpoint.
  auto [got, letters, report] = run(crashing("eddy_recovery_csv", "reader", 0, 12'000));
  check_recovered(report);
  CHECK(got == expected);
  CHECK(letters == expected_letters);
}

SCENARIO("a task recovered alone whose dead-letter channel lagged behind its checkpoint loses no "
         "dead letter") {
  // Every second record makes the map throw (a dead letter). With one credit per channel, the
  // dead-letter channel often holds its barrier back while the checkpoint's acknowledgement,
  // which travels through the snapshot writer, is already at the coordinator. A checkpoint must
  // then wait for that barrier: completed without it, the crash after it lost the dead letters
  // still queued in the failed task, which its replacement (restored past them) never sends.
  constexpr uint64_t n = 30'000;
  auto run = [&](job_config cfg) {
    job j{cfg.with_credit(1)};
    std::vector<uint64_t> out;
    j.source(generator<uint64_t>(n,
                                 [](uint64_t i) {
                                   if (i % 500 == 499)
                                     std::this_thread::sleep_for(1ms);
                                   return i;
                                 }))
        .name("numbers")
        .map([](const uint64_t& i) {
          if (i % 2 == 1)
            throw std::runtime_error("odd");
          return i;
        })
        .name("evens")
        .sink(collect(out))
        .name("collect");
    auto r = j.run();
    REQUIRE(r);
    std::vector<std::string> letters;
    for (const auto& d : r->dead_letters)
      letters.push_back(d.record);
    return std::make_tuple(sorted(out), sorted(letters), *r);
  };
  auto [expected, expected_letters, plain_report] = run(plain(64));
  REQUIRE(expected.size() == n / 2);
  REQUIRE(expected_letters.size() == n / 2);
  auto [got, letters, report] = run(crashing("eddy_recovery_dead_letters", "evens", 0, 20'000));
  check_recovered(report);
  CHECK(got == expected);
  CHECK(letters.size() == expected_letters.size());
  CHECK(letters == expected_letters);
}
