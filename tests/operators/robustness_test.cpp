// What the review of the runtime found, kept found: self-unions, throwing key functions and
// sinks that cannot open, validation of names and key groups, end-of-input ordering, ties.
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sinks/csv_sink.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>

using namespace eddy;

namespace {

std::vector<int> iota(int n) {
  std::vector<int> xs(n);
  std::iota(xs.begin(), xs.end(), 0);
  return xs;
}

struct seen_at {
  int64_t time = 0;
  int64_t watermark = 0;
  bool from_end = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, seen_at& x) {
  return f(x.time, x.watermark, x.from_end);
}

} // namespace

SCENARIO("a stream united with itself carries every record twice and finishes") {
  job j{job_config{}.with_threads(2).with_batch_size(8).with_credit(1)};
  std::vector<int> out;
  auto s = j.source(from_container(iota(500)));
  s.union_with(s).map([](const int& x) { return x; }).sink(collect(out));
  REQUIRE(j.run());
  std::sort(out.begin(), out.end());
  std::vector<int> expected;
  for (int x = 0; x < 500; ++x)
    expected.insert(expected.end(), {x, x});
  CHECK(out == expected);
}

SCENARIO("a throwing key function treats its record like any throwing user function") {
  auto throwing_key = [](const int& x) -> int {
    if (x == 42)
      throw std::runtime_error("no key for 42");
    return x % 3;
  };
  GIVEN("the default policy: the record becomes a dead letter of the operator that emitted it") {
    // The same rule after a source, a map, a filter, a process or a flat_map.
    for (int after = 0; after < 5; ++after) {
      job j{job_config{}.with_threads(2)};
      std::vector<int> out;
      auto s = j.source(from_container(iota(100))).name("numbers");
      if (after == 1)
        s = s.map([](const int& x) { return x; }).name("numbers-map");
      if (after == 2)
        s = s.filter([](const int&) { return true; }).name("numbers-filter");
      if (after == 3)
        s = s.process<int>([](const int& x, collector<int>& c) {
               c.emit(x);
             }).name("numbers-process");
      if (after == 4)
        s = s.flat_map<int>([](const int& x, collector<int>& c) {
               c.emit(x);
             }).name("numbers-flat-map");
      s.key_by(throwing_key).map([](const int& x) { return x; }).sink(collect(out));
      auto report = j.run();
      INFO("key function after operator kind " << after);
      REQUIRE(report);
      CHECK(out.size() == 99);
      CHECK(std::find(out.begin(), out.end(), 42) == out.end());
      REQUIRE(report->dead_letters.size() == 1);
      CHECK(report->dead_letters[0].record == "42");
      CHECK_THAT(report->dead_letters[0].reason, Catch::Contains("no key for 42"));
      const char* origins[] = {"numbers#0", "numbers-map#0", "numbers-filter#0",
                               "numbers-process#0", "numbers-flat-map#0"};
      CHECK(report->dead_letters[0].origin == origins[after]);
    }
  }
  GIVEN("an operator with two outgoing edges, one keyed") {
    // The key is computed before the record goes out on any edge: it reaches neither consumer.
    job j{job_config{}.with_threads(2)};
    std::vector<int> keyed, plain;
    auto s = j.source(from_container(iota(100)))
                 .process<int>([](const int& x, collector<int>& c) { c.emit(x); })
                 .name("fan-out");
    s.key_by(throwing_key).map([](const int& x) { return x; }).sink(collect(keyed));
    s.map([](const int& x) { return x; }).sink(collect(plain));
    auto report = j.run();
    REQUIRE(report);
    CHECK(keyed.size() == 99);
    CHECK(plain.size() == 99);
    CHECK(std::find(plain.begin(), plain.end(), 42) == plain.end());
    REQUIRE(report->dead_letters.size() == 1);
    CHECK(report->dead_letters[0].origin == "fan-out#0");
  }
  GIVEN("records with event times, handed on as whole batches to the one keyed instance") {
    // The records after the dead one keep their own times: every window counts exactly its own.
    job j{job_config{}.with_threads(2)};
    std::vector<window_result<int, int64_t>> out;
    j.source(from_container(iota(100), [](const int& x) { return timestamp(x); }))
        .name("timed")
        .key_by([](const int& x) -> int {
          if (x == 42)
            throw std::runtime_error("no key for 42");
          return 0;
        })
        .window(tumbling(std::chrono::milliseconds{10}))
        .aggregate(count_of<int>{})
        .sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    REQUIRE(report->dead_letters.size() == 1);
    CHECK(report->dead_letters[0].record == "42");
    CHECK(report->dead_letters[0].origin == "timed#0");
    std::map<int64_t, int64_t> counts;
    for (const auto& r : out)
      counts[r.start] = r.value;
    std::map<int64_t, int64_t> expected;
    for (int64_t w = 0; w < 100; w += 10)
      expected[w] = w == 40 ? 9 : 10;
    CHECK(counts == expected);
  }
  GIVEN("error_policy::fail on the emitting operator") {
    job j{job_config{}.with_threads(2)};
    std::vector<int> out;
    j.source(from_container(iota(100)))
        .name("numbers")
        .on_error(error_policy::fail)
        .key_by(throwing_key)
        .map([](const int& x) { return x; })
        .sink(collect(out));
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK(is(report.error(), errc::job_failed));
    CHECK_THAT(describe(report.error()),
               Catch::Contains("numbers#0") && Catch::Contains("no key for 42"));
  }
}

SCENARIO("a sink that cannot open its file fails the job with the reason") {
  job j{job_config{}.with_threads(2)};
  auto dir = std::filesystem::temp_directory_path().string(); // a directory, not a file
  j.source(from_container(iota(3))).sink(csv_sink<int>(dir)).name("writer");
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK_THAT(describe(report.error()),
             Catch::Contains("writer#0") && Catch::Contains("cannot write output file"));
}

SCENARIO("operator names must be unique, key groups must cover keyed parallelism") {
  GIVEN("two operators with one name") {
    job j;
    std::vector<int> out;
    j.source(from_container(iota(3)))
        .map([](const int& x) { return x; })
        .name("twin")
        .map([](const int& x) { return x; })
        .name("twin")
        .sink(collect(out));
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains("two operators are named 'twin'"));
  }
  GIVEN("a keyed operator with more instances than key groups") {
    job_config cfg;
    cfg.channels.key_groups = 4;
    job j{cfg};
    std::vector<int> out;
    j.source(from_container(iota(3)))
        .key_by([](const int& x) { return x; })
        .map([](const int& x) { return x; })
        .parallelism(8)
        .sink(collect(out));
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains("key groups"));
  }
  GIVEN("a dead-letter stream without a sink") {
    job j;
    std::vector<int> out;
    j.source(from_container(iota(3))).sink(collect(out));
    j.dead_letters();
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains("dead-letters"));
  }
}

SCENARIO("records an end function emits arrive before the final watermark, on time") {
  job j{job_config{}.with_threads(2).with_batch_size(16)};
  std::vector<seen_at> seen;
  j.source(from_container(iota(100), [](const int& x) { return timestamp{x}; }))
      .process<int>([](const int& x, collector<int>& out) { out.emit(x); },
                    [](collector<int>& out) { out.emit(-1); })
      .process<seen_at>([](const int& x, collector<seen_at>& out) {
        out.emit({out.time(), out.watermark(), x == -1});
      })
      .sink(collect(seen));
  REQUIRE(j.run());
  REQUIRE(seen.size() == 101);
  auto end = std::find_if(seen.begin(), seen.end(), [](auto& s) { return s.from_end; });
  REQUIRE(end != seen.end());
  CHECK(end->watermark < max_time);  // event time had not closed yet
  CHECK(end->time < max_time);       // stamped with the last real watermark
  CHECK(end->time > end->watermark); // on time: a time equal to the watermark would be late
}

SCENARIO("records with equal event times are never behind the watermark") {
  std::vector<int> ties;
  for (int t = 0; t < 200; ++t)
    ties.insert(ties.end(), {t, t, t});
  job j{job_config{}.with_threads(2).with_batch_size(2)};
  std::vector<seen_at> seen;
  j.source(from_container(ties, [](const int& x) { return timestamp{x}; }))
      .process<seen_at>([](const int&, collector<seen_at>& out) {
        out.emit({out.time(), out.watermark(), false});
      })
      .sink(collect(seen));
  REQUIRE(j.run());
  REQUIRE(seen.size() == ties.size());
  auto late = std::count_if(seen.begin(), seen.end(),
                            [](const seen_at& s) { return s.time <= s.watermark; });
  CHECK(late == 0);
}

SCENARIO("a paced stream stays urgent through a map that changes the record type") {
  // A task that consumes an urgent (partial) batch passes its buffered output on at once. If the
  // type-changing map dropped the flag, the keyed edge after it would hold each record until its
  // linger time (an hour here) or the end of the stream. The source emits record i + 1 only once
  // the sink has seen record i, so with the flag dropped it would wait; it gives up waiting after
  // 30 s (only to end a broken run) and counts that as a stall.
  struct lockstep {
    using value_type = int64_t;
    std::shared_ptr<std::atomic<int64_t>> seen;
    std::shared_ptr<std::atomic<int64_t>> stalls;
    int64_t next = 0;
    std::chrono::steady_clock::time_point since{};
    produce_result produce(source_context<int64_t>& ctx) {
      if (next == 200)
        return {produce_result::done, {}};
      if (next > 0 && *seen < next) {
        if (std::chrono::steady_clock::now() - since < std::chrono::seconds{30})
          return {produce_result::wait, std::chrono::microseconds{100}};
        ++*stalls;
      }
      batch<int64_t> b; // one record, urgent: a paced source sends what is due at once
      b.items.push_back(next++);
      b.urgent = true;
      ctx.emit_batch(std::move(b));
      since = std::chrono::steady_clock::now();
      return {produce_result::wait, std::chrono::microseconds{100}};
    }
  };
  job j{job_config{}.with_threads(2).with_linger(std::chrono::hours{1})};
  auto seen = std::make_shared<std::atomic<int64_t>>(0);
  auto stalls = std::make_shared<std::atomic<int64_t>>(0);
  j.source(lockstep{seen, stalls})
      .map([](const int64_t& x) { return std::to_string(x); })
      .map([](const std::string& x) { return int64_t(std::stoll(x)); })
      .key_by([](const int64_t& x) { return x % 2; })
      .sink([seen](const int64_t&) { ++*seen; })
      .parallelism(2);
  REQUIRE(j.run());
  CHECK(*seen == 200);
  CHECK(*stalls == 0);
}
