// Interval joins and window joins: the pairs of a sequential nested loop on both state backends,
// whatever the parallelism, batching, credit and arrival order within the watermark bound; state
// that the cleanup timers free again; late records counted and dead-lettered; throwing functions
// dead-lettered per pair.
#include "temp_dir.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <tuple>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

struct ev {
  int32_t key = 0;
  int64_t time = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ev& x) {
  return f(x.key, x.time, x.value);
}

/// Record i of stream `seed`: `n` records over `keys` keys, `per_ms` records per millisecond of
/// event time, reversed within blocks of `block` (out of order within the watermark bound).
struct shuffled {
  uint64_t n = 1000;
  int32_t keys = 11;
  uint64_t block = 20;
  uint64_t seed = 1;
  uint64_t per_ms = 2; // records per millisecond
  [[nodiscard]] ev at(uint64_t i) const {
    auto start = i / block * block;
    auto end = std::min(start + block, n);
    auto j = start + (end - 1 - i);
    auto h = mix64(j * 131 + seed);
    return ev{static_cast<int32_t>(h % uint64_t(keys)), int64_t(j / per_ms),
              int64_t(j * 10 + seed)};
  }
  [[nodiscard]] std::vector<ev> all() const {
    std::vector<ev> xs;
    for (uint64_t i = 0; i < n; ++i)
      xs.push_back(at(i));
    return xs;
  }
  [[nodiscard]] generator<ev> source() const {
    auto self = *this;
    return generator<ev>(n, [self](uint64_t i) { return self.at(i); })
        .with_event_time([](const ev& e) { return e.time; }, int64_t(block / per_ms + 1));
  }
};

struct pair_row {
  int32_t key = 0;
  int64_t a = 0; // values
  int64_t b = 0;
  int64_t time = 0; // the result's event time
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pair_row& x) {
  return f(x.key, x.a, x.b, x.time);
}

using row = std::tuple<int32_t, int64_t, int64_t, int64_t>;

std::vector<row> rows(const std::vector<pair_row>& xs) {
  std::vector<row> out;
  for (const auto& x : xs)
    out.emplace_back(x.key, x.a, x.b, x.time);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<row> interval_reference(const std::vector<ev>& as, const std::vector<ev>& bs,
                                    int64_t lower, int64_t upper) {
  std::vector<row> out;
  for (const auto& a : as)
    for (const auto& b : bs)
      if (a.key == b.key && b.time >= a.time + lower && b.time <= a.time + upper)
        out.emplace_back(a.key, a.value, b.value, std::max(a.time, b.time));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<row> window_reference(const std::vector<ev>& as, const std::vector<ev>& bs,
                                  int64_t size, int64_t slide) {
  std::vector<row> out;
  auto floor_div = [](int64_t x, int64_t y) { return x >= 0 ? x / y : -((-x + y - 1) / y); };
  for (const auto& a : as)
    for (const auto& b : bs) {
      if (a.key != b.key)
        continue;
      // Windows [k * slide, k * slide + size) holding both times.
      auto hi = std::min(floor_div(a.time, slide), floor_div(b.time, slide));
      for (auto k = hi; k * slide + size > std::max(a.time, b.time); --k)
        out.emplace_back(a.key, a.value, b.value, k * slide + size - 1);
    }
  std::sort(out.begin(), out.end());
  return out;
}

/// Tracks, per instance, the most entries a join held and the last figure it reported.
struct state_watch {
  std::mutex mtx;
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> by_instance; // max, last
  join_state_observer observer() {
    return [this](uint32_t instance, uint64_t entries) {
      std::lock_guard<std::mutex> guard{mtx};
      auto& [max, last] = by_instance[instance];
      max = std::max(max, entries);
      last = entries;
    };
  }
};

struct emit_pair {
  void operator()(const ev& a, const ev& b, collector<pair_row>& out) const {
    out.emit(pair_row{a.key, a.value, b.value, out.time()});
  }
};

} // namespace

SCENARIO("an interval join gives the nested loop's pairs whatever the parallelism and order") {
  std::mt19937 rng{17};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  for (int round = 0; round < 6; ++round) {
    bool rocksdb = round % 3 == 2;
    shuffled left{pick(500, 2000), int32_t(pick(1, 20)), pick(1, 40), 1, pick(1, 3)};
    shuffled right{pick(500, 2000), left.keys, pick(1, 40), 2, pick(1, 3)};
    int64_t lower = -int64_t(pick(0, 10));
    int64_t upper = int64_t(pick(0, 10)) - 3;
    if (upper < lower)
      std::swap(lower, upper);
    auto cfg = job_config{}.with_threads(2).with_batch_size(pick(1, 300)).with_credit(pick(1, 4));
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(test::temp_dir("eddy_ijoin")));
    uint32_t p = pick(1, 4);
    INFO("round " << round << (rocksdb ? " (RocksDB)" : " (memory)") << ": keys " << left.keys
                  << ", between " << lower << " and " << upper << ", parallelism " << p);
    job j{cfg};
    std::vector<pair_row> out;
    state_watch watch;
    auto key = [](const ev& e) { return e.key; };
    auto join = j.source(left.source())
                    .parallelism(pick(1, 2))
                    .key_by(key)
                    .interval_join(j.source(right.source()).parallelism(pick(1, 2)).key_by(key))
                    .between(lower, upper);
    if (!rocksdb)
      join.observe_state(watch.observer());
    join.process<pair_row>(emit_pair{}).parallelism(p).sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    CHECK(report->late_record_count() == 0);
    CHECK(report->dead_letter_count() == 0);
    auto expected = interval_reference(left.all(), right.all(), lower, upper);
    CHECK(rows(out).size() == expected.size());
    CHECK(rows(out) == expected);
    if (!rocksdb) {
      // The cleanup timers free the buffers: none is left at the end.
      REQUIRE(!watch.by_instance.empty());
      for (const auto& [instance, figures] : watch.by_instance)
        CHECK(figures.second == 0);
    }
  }
}

SCENARIO("a window join gives the nested loop's pairs per window, on both backends") {
  std::mt19937 rng{23};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  for (int round = 0; round < 6; ++round) {
    bool rocksdb = round % 3 == 2;
    shuffled left{pick(500, 2000), int32_t(pick(1, 20)), pick(1, 40), 3, pick(1, 3)};
    shuffled right{pick(500, 2000), left.keys, pick(1, 40), 4, pick(1, 3)};
    int64_t size = int64_t(pick(1, 10)) * 10;
    int64_t slide = round % 2 == 0 ? size : int64_t(pick(1, 10)) * 5;
    if (slide > size)
      slide = size;
    auto cfg = job_config{}.with_threads(2).with_batch_size(pick(1, 300)).with_credit(pick(1, 4));
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(test::temp_dir("eddy_wjoin")));
    uint32_t p = pick(1, 4);
    INFO("round " << round << (rocksdb ? " (RocksDB)" : " (memory)") << ": keys " << left.keys
                  << ", size " << size << ", slide " << slide << ", parallelism " << p);
    job j{cfg};
    std::vector<pair_row> out;
    state_watch watch;
    auto joined = j.source(left.source())
                      .parallelism(pick(1, 2))
                      .join(j.source(right.source()).parallelism(pick(1, 2)))
                      .where([](const ev& e) { return e.key; })
                      .equal_to([](const ev& e) { return e.key; })
                      .window(window_spec{size, slide, 0, late_policy::dead_letter});
    if (!rocksdb)
      joined.observe_state(watch.observer());
    joined
        .apply<pair_row>([](const ev& a, const ev& b) {
          return pair_row{a.key, a.value, b.value, 0};
        })
        .parallelism(p)
        .map([](const pair_row& r) { return r; }) // results keep their event time: checked below
        .sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    CHECK(report->late_record_count() == 0);
    auto expected = window_reference(left.all(), right.all(), size, slide);
    // apply's function cannot see the window; compare without the time column, then check the
    // times with a collector-form run below.
    auto strip = [](std::vector<row> xs) {
      for (auto& x : xs)
        std::get<3>(x) = 0;
      std::sort(xs.begin(), xs.end());
      return xs;
    };
    CHECK(strip(rows(out)) == strip(expected));
    if (!rocksdb) {
      REQUIRE(!watch.by_instance.empty());
      for (const auto& [instance, figures] : watch.by_instance)
        CHECK(figures.second == 0);
    }
  }
}

SCENARIO("window join results carry the window's last millisecond as event time") {
  shuffled left{1500, 7, 30, 5, 2}, right{1200, 7, 30, 6, 2};
  for (bool rocksdb : {false, true}) {
    auto cfg = job_config{}.with_threads(2).with_batch_size(64);
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(test::temp_dir("eddy_wjoin_t")));
    INFO((rocksdb ? "RocksDB" : "memory"));
    job j{cfg};
    std::vector<pair_row> out;
    j.source(left.source())
        .join(j.source(right.source()))
        .where([](const ev& e) { return e.key; })
        .equal_to([](const ev& e) { return e.key; })
        .window(sliding(std::chrono::milliseconds{40}, std::chrono::milliseconds{15}))
        .apply<pair_row>(emit_pair{})
        .parallelism(3)
        .sink(collect(out));
    REQUIRE(j.run());
    CHECK(rows(out) == window_reference(left.all(), right.all(), 40, 15));
  }
}

SCENARIO("join buffers stay bounded while the watermark advances and empty out at the end") {
  // A self-join of 6,000 records over 6 s of event time and 3 keys (one source, so both inputs
  // advance together): without cleanup the buffers would hold one entry per (key, millisecond)
  // seen, about 6,000 a side.
  shuffled xs{6000, 3, 10, 9, 1};
  auto key = [](const ev& e) { return e.key; };
  {
    job j{job_config{}.with_threads(2).with_batch_size(20)};
    std::vector<pair_row> out;
    state_watch watch;
    auto s = j.source(xs.source()).parallelism(1);
    s.key_by(key)
        .interval_join(s.key_by(key))
        .between(-5, 5)
        .observe_state(watch.observer())
        .process<pair_row>(emit_pair{})
        .parallelism(2)
        .sink(collect(out));
    REQUIRE(j.run());
    CHECK(rows(out) == interval_reference(xs.all(), xs.all(), -5, 5));
    REQUIRE(watch.by_instance.size() == 2);
    for (const auto& [instance, figures] : watch.by_instance) {
      INFO("interval join instance " << instance);
      CHECK(figures.first > 0);
      CHECK(figures.first < 300); // about (batch + upper - lower + bound) ms of times a side
      CHECK(figures.second == 0);
    }
  }
  {
    job j{job_config{}.with_threads(2).with_batch_size(20)};
    std::vector<pair_row> out;
    state_watch watch;
    auto s = j.source(xs.source()).parallelism(1);
    s.join(s)
        .where(key)
        .equal_to(key)
        .window(sliding(50ms, 10ms))
        .observe_state(watch.observer())
        .apply<pair_row>(emit_pair{})
        .parallelism(2)
        .sink(collect(out));
    REQUIRE(j.run());
    CHECK(rows(out) == window_reference(xs.all(), xs.all(), 50, 10));
    REQUIRE(watch.by_instance.size() == 2);
    for (const auto& [instance, figures] : watch.by_instance) {
      INFO("window join instance " << instance);
      CHECK(figures.first > 0);
      CHECK(figures.first < 150); // (key, 10 ms slice) entries of about one window, both sides
      CHECK(figures.second == 0);
    }
  }
}

namespace {

/// Times 0..999 (key t % 5), then a record at time 5: far behind the watermark.
std::vector<ev> with_one_late() {
  std::vector<ev> xs;
  for (int64_t t = 0; t < 1000; ++t)
    xs.push_back(ev{int32_t(t % 5), t, t});
  xs.push_back(ev{0, 5, -1});
  return xs;
}

} // namespace

SCENARIO("records too late to join are counted and dead-lettered, never dropped silently") {
  // One source feeds both inputs, so the late record reaches the join after the watermarks of
  // both (messages of one sender stay in order): it is late on each input.
  auto key = [](const ev& e) { return e.key; };
  for (auto policy : {late_policy::dead_letter, late_policy::count}) {
    INFO((policy == late_policy::dead_letter ? "dead letters" : "count only"));
    {
      job j{job_config{}.with_threads(2).with_batch_size(10)};
      std::vector<pair_row> out;
      auto s = j.source(from_container(with_one_late(), [](const ev& e) {
                  return e.time;
                })).parallelism(1);
      s.key_by(key)
          .interval_join(s.key_by(key))
          .between(-1, 1)
          .on_late(policy)
          .process<pair_row>(emit_pair{})
          .sink(collect(out));
      auto report = j.run();
      REQUIRE(report);
      CHECK(report->late_record_count() == 2);
      CHECK(report->dead_letter_count() == (policy == late_policy::dead_letter ? 2u : 0u));
      if (policy == late_policy::dead_letter) {
        REQUIRE(report->dead_letters.size() == 2);
        CHECK_THAT(report->dead_letters[0].reason, Catch::Contains("late"));
        CHECK_THAT(report->dead_letters[0].record, Catch::Contains("-1"));
      }
      // Each on-time record meets the records of its key within 1 ms: only itself.
      CHECK(out.size() == 1000);
    }
    {
      job j{job_config{}.with_threads(2).with_batch_size(10)};
      std::vector<pair_row> out;
      auto s = j.source(from_container(with_one_late(), [](const ev& e) {
                  return e.time;
                })).parallelism(1);
      auto w = s.join(s).where(key).equal_to(key).window(tumbling(100ms));
      w.on_late(policy);
      w.apply<pair_row>(emit_pair{}).sink(collect(out));
      auto report = j.run();
      REQUIRE(report);
      CHECK(report->late_record_count() == 2);
      CHECK(report->dead_letter_count() == (policy == late_policy::dead_letter ? 2u : 0u));
      // 10 windows of 100 ms, 5 keys with 20 records each: 400 pairs per key and window.
      CHECK(out.size() == 10 * 5 * 400);
    }
  }
}

SCENARIO("a throwing join function dead-letters the pair and the join goes on") {
  shuffled left{800, 5, 10, 7, 1}, right{800, 5, 10, 8, 1};
  auto key = [](const ev& e) { return e.key; };
  auto picky = [](const ev& a, const ev& b) {
    if ((a.value + b.value) % 7 == 0)
      throw std::runtime_error("unlucky pair");
    return pair_row{a.key, a.value, b.value, 0};
  };
  auto count_unlucky = [](const std::vector<row>& xs) {
    return std::count_if(xs.begin(), xs.end(),
                         [](const row& r) { return (std::get<1>(r) + std::get<2>(r)) % 7 == 0; });
  };
  {
    job j{job_config{}.with_threads(2).with_batch_size(50)};
    std::vector<pair_row> out;
    j.source(left.source())
        .key_by(key)
        .interval_join(j.source(right.source()).key_by(key))
        .between(-2, 2)
        .process<pair_row>(picky)
        .parallelism(2)
        .sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    auto expected = interval_reference(left.all(), right.all(), -2, 2);
    auto unlucky = count_unlucky(expected);
    REQUIRE(unlucky > 0);
    CHECK(report->dead_letter_count() == uint64_t(unlucky));
    CHECK(out.size() == expected.size() - size_t(unlucky));
  }
  {
    job j{job_config{}.with_threads(2).with_batch_size(50)};
    std::vector<pair_row> out;
    j.source(left.source())
        .join(j.source(right.source()))
        .where(key)
        .equal_to(key)
        .window(tumbling(20ms))
        .apply<pair_row>(picky)
        .parallelism(2)
        .sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    auto expected = window_reference(left.all(), right.all(), 20, 20);
    auto unlucky = count_unlucky(expected);
    REQUIRE(unlucky > 0);
    CHECK(report->dead_letter_count() == uint64_t(unlucky));
    CHECK(out.size() == expected.size() - size_t(unlucky));
  }
}

SCENARIO("join mistakes are refused with how to fix them") {
  auto key = [](const ev& e) { return e.key; };
  {
    job j;
    std::vector<pair_row> out;
    auto s = j.source(from_container(std::vector<ev>{ev{}}, [](const ev& e) { return e.time; }));
    s.key_by(key)
        .interval_join(s.key_by(key))
        .between(5, -5)
        .process<pair_row>(emit_pair{})
        .sink(collect(out));
    auto r = j.run();
    REQUIRE(!r);
    CHECK_THAT(describe(r.error()), Catch::Contains("swap them"));
  }
  {
    job j;
    std::vector<pair_row> out;
    auto s = j.source(from_container(std::vector<ev>{ev{}})); // no event times
    s.join(s)
        .where(key)
        .equal_to(key)
        .window(tumbling(10ms))
        .apply<pair_row>(emit_pair{})
        .sink(collect(out));
    auto r = j.run();
    REQUIRE(!r);
    CHECK_THAT(describe(r.error()), Catch::Contains("with_event_time"));
  }
  {
    job j;
    std::vector<pair_row> out;
    auto s = j.source(from_container(std::vector<ev>{ev{}}, [](const ev& e) { return e.time; }));
    s.key_by(key)
        .interval_join(s.key_by(key))
        .between(-1, 1)
        .on_late(late_policy::side_output)
        .process<pair_row>(emit_pair{})
        .sink(collect(out));
    auto r = j.run();
    REQUIRE(!r);
    CHECK_THAT(describe(r.error()), Catch::Contains("side_output_left_late_data"));
  }
}

namespace {

/// What a join run with late-data side outputs gave.
struct tagged_run {
  std::vector<pair_row> out;
  std::vector<ev> lefts, rights;
  std::optional<job_report> report;
};

/// Runs the join `make(s)` makes of the stream with one late record (a builder, finished by
/// `finish`), its right input's late records tagged and, with `both`, its left one's too.
template <class Make, class Finish>
tagged_run run_tagged(bool both, Make make, Finish finish) {
  output_tag<ev> late_left{"late-left"}, late_right{"late-right"};
  job j{job_config{}.with_threads(2).with_batch_size(10)};
  tagged_run r;
  auto s =
      j.source(from_container(with_one_late(), [](const ev& e) { return e.time; })).parallelism(1);
  auto join = make(s);
  if (both)
    join.side_output_left_late_data(late_left);
  join.side_output_right_late_data(late_right);
  auto joined = finish(join);
  joined.sink(collect(r.out));
  if (both)
    joined.side_output(late_left).sink(collect(r.lefts));
  joined.side_output(late_right).sink(collect(r.rights));
  auto report = j.run();
  REQUIRE(report);
  r.report = std::move(*report);
  return r;
}

} // namespace

SCENARIO("late records of a join go to the side output of their input") {
  // The same source feeds both inputs: its late record is late on each.
  auto key = [](const ev& e) { return e.key; };
  for (bool both : {true, false}) {
    INFO((both ? "both inputs tagged" : "only the right input tagged"));
    auto interval = run_tagged(
        both,
        [&](stream<ev>& s) { return s.key_by(key).interval_join(s.key_by(key)).between(-1, 1); },
        [](auto& join) { return join.template process<pair_row>(emit_pair{}); });
    auto window = run_tagged(
        both,
        [&](stream<ev>& s) { return s.join(s).where(key).equal_to(key).window(tumbling(100ms)); },
        [](auto& join) { return join.template apply<pair_row>(emit_pair{}); });
    for (auto* r : {&interval, &window}) {
      CHECK(r->report->late_record_count() == 2);
      CHECK(r->report->dead_letter_count() == (both ? 0u : 1u)); // an untagged input: dead letters
      REQUIRE(r->lefts.size() == (both ? 1u : 0u));
      if (both)
        CHECK(r->lefts[0].value == -1);
      REQUIRE(r->rights.size() == 1);
      CHECK(r->rights[0].value == -1);
    }
    CHECK(interval.out.size() == 1000);
    CHECK(window.out.size() == 10 * 5 * 400);
  }
}

namespace {

/// `s`'s records with a watermark only `bound` ms behind the largest time: records out of order
/// by more than that come late.
generator<ev> lagging(const shuffled& s, int64_t bound) {
  auto self = s;
  return generator<ev>(s.n, [self](uint64_t i) { return self.at(i); })
      .with_event_time([](const ev& e) { return e.time; }, bound);
}

/// `xs` without the records whose values are in `gone`.
std::vector<ev> without(const std::vector<ev>& xs, const std::vector<ev>& gone) {
  std::vector<int64_t> values;
  for (const auto& g : gone)
    values.push_back(g.value);
  std::sort(values.begin(), values.end());
  std::vector<ev> out;
  for (const auto& x : xs)
    if (!std::binary_search(values.begin(), values.end(), x.value))
      out.push_back(x);
  return out;
}

} // namespace

SCENARIO("a window join with allowed lateness joins records late within it, each pair once") {
  // Records are reversed in blocks of 40 ms of event time and the watermark trails by 1 ms:
  // many come up to 39 ms late.
  shuffled left{1500, 7, 40, 5, 1}, right{1500, 7, 40, 6, 1};
  for (int64_t slide : {20, 10}) {
    INFO("windows of 20 ms sliding by " << slide << " ms");
    auto run = [&](int64_t lateness, std::vector<pair_row>& out) {
      job j{job_config{}.with_threads(2).with_batch_size(16)};
      auto w = j.source(lagging(left, 1))
                   .join(j.source(lagging(right, 1)))
                   .where([](const ev& e) { return e.key; })
                   .equal_to([](const ev& e) { return e.key; })
                   .window(sliding(20ms, std::chrono::milliseconds{slide}));
      w.allowed_lateness(std::chrono::milliseconds{lateness}).on_late(late_policy::count);
      w.apply<pair_row>(emit_pair{}).sink(collect(out));
      return j.run();
    };
    std::vector<pair_row> strict, lenient;
    auto without_lateness = run(0, strict);
    REQUIRE(without_lateness);
    CHECK(without_lateness->late_record_count() > 0); // records really come late
    auto with_lateness = run(60, lenient);
    REQUIRE(with_lateness);
    CHECK(with_lateness->late_record_count() == 0);
    // Every pair of every window, each once, with the window's last millisecond as its time.
    CHECK(rows(lenient) == window_reference(left.all(), right.all(), 20, slide));
  }
}

SCENARIO("a window join's records beyond the allowed lateness go to the side outputs") {
  // One source feeds both inputs, so each late record is late on both (two sources would leave
  // the faster one's records on time: the join's watermark is the slower input's).
  shuffled input{2000, 5, 40, 7, 1};
  output_tag<ev> late_left{"late-left"}, late_right{"late-right"};
  job j{job_config{}.with_threads(2).with_batch_size(16)};
  std::vector<pair_row> out;
  std::vector<ev> lefts, rights;
  auto s = j.source(lagging(input, 1));
  auto w = s.join(s)
               .where([](const ev& e) { return e.key; })
               .equal_to([](const ev& e) { return e.key; })
               .window(tumbling(20ms));
  w.allowed_lateness(5ms).side_output_left_late_data(late_left).side_output_right_late_data(
      late_right);
  auto joined = w.apply<pair_row>(emit_pair{});
  joined.sink(collect(out));
  joined.side_output(late_left).sink(collect(lefts));
  joined.side_output(late_right).sink(collect(rights));
  auto report = j.run();
  REQUIRE(report);
  CHECK(report->dead_letter_count() == 0);
  CHECK(!lefts.empty());
  CHECK(!rights.empty());
  CHECK(report->late_record_count() == lefts.size() + rights.size());
  // Tumbling windows: a record is either joined in its one window or late; the pairs are those
  // of the records that were not late, each once.
  CHECK(rows(out) ==
        window_reference(without(input.all(), lefts), without(input.all(), rights), 20, 20));
}
