// What the review of the runtime found, kept found: self-unions, throwing key functions and
// sinks that cannot open, validation of names and key groups, end-of-input ordering, ties.
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sinks/csv_sink.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
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

SCENARIO("a throwing key function fails the job with the operator's name") {
  job j{job_config{}.with_threads(2)};
  std::vector<int> out;
  j.source(from_container(iota(100)))
      .name("numbers")
      .key_by([](const int& x) -> int {
        if (x == 42)
          throw std::runtime_error("no key for 42");
        return x % 3;
      })
      .map([](const int& x) { return x; })
      .sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::job_failed));
  CHECK_THAT(describe(report.error()),
             Catch::Contains("numbers#0") && Catch::Contains("no key for 42"));
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
  CHECK(end->watermark < max_time); // event time had not closed yet
  CHECK(end->time < max_time);      // stamped with the last real watermark
  CHECK(end->time > end->watermark - 1);
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
  // type-changing map dropped the flag, the keyed edge after it would hold the records until its
  // linger time (10 s here) or the end of the stream (about 1 s later).
  using clock = std::chrono::steady_clock;
  auto ns = [] { return int64_t(clock::now().time_since_epoch().count()); };
  job j{job_config{}.with_threads(2).with_linger(std::chrono::seconds{10})};
  auto delays = std::make_shared<std::vector<int64_t>>();
  auto mtx = std::make_shared<std::mutex>();
  j.source(generator<int64_t>(200, [&](uint64_t) { return ns(); }).at_rate(200))
      .map([](const int64_t& created) { return std::to_string(created); })
      .map([](const std::string& created) { return int64_t(std::stoll(created)); })
      .key_by([](const int64_t& created) { return created % 2; })
      .sink([=](const int64_t& created) {
        std::lock_guard<std::mutex> guard{*mtx};
        delays->push_back(ns() - created);
      })
      .parallelism(2);
  REQUIRE(j.run());
  REQUIRE(delays->size() == 200);
  std::sort(delays->begin(), delays->end());
  CHECK((*delays)[100] < 300'000'000); // median under 0.3 s (it is about a millisecond)
}
