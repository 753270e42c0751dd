#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>

using namespace eddy;

namespace {

std::vector<int> iota(int n, int from = 0) {
  std::vector<int> xs(n);
  std::iota(xs.begin(), xs.end(), from);
  return xs;
}

template <class T>
std::vector<T> sorted(std::vector<T> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

job_config small_batches() {
  return job_config{}.with_threads(2).with_batch_size(7).with_credit(2);
}

} // namespace

SCENARIO("map and filter transform every record exactly once") {
  job j{small_batches()};
  std::vector<int> out;
  j.source(from_container(iota(1000)))
      .map([](const int& x) { return x * 3; })
      .filter([](const int& x) { return x % 2 == 0; })
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  std::vector<int> expected;
  for (int x = 0; x < 1000; ++x)
    if ((x * 3) % 2 == 0)
      expected.push_back(x * 3);
  CHECK(sorted(out) == expected);
  CHECK(report->records_in("sink-3") == expected.size());
}

SCENARIO("map may change the record type") {
  job j{small_batches()};
  std::vector<std::string> out;
  j.source(from_container(iota(20)))
      .map([](const int& x) { return std::to_string(x); })
      .parallelism(3)
      .sink(collect(out));
  REQUIRE(j.run());
  std::vector<std::string> expected;
  for (int x = 0; x < 20; ++x)
    expected.push_back(std::to_string(x));
  CHECK(sorted(out) == sorted(expected));
}

SCENARIO("flat_map emits any number of records per input") {
  job j{small_batches()};
  std::vector<int> out;
  j.source(from_container(iota(50)))
      .flat_map<int>([](const int& x, collector<int>& c) {
        for (int i = 0; i < x % 3; ++i)
          c.emit(x);
      })
      .sink(collect(out));
  REQUIRE(j.run());
  std::vector<int> expected;
  for (int x = 0; x < 50; ++x)
    for (int i = 0; i < x % 3; ++i)
      expected.push_back(x);
  CHECK(sorted(out) == expected);
}

SCENARIO("key_by sends every record of a key to the same instance") {
  job j{small_batches()};
  std::vector<std::pair<int, uint32_t>> out; // (key, instance that saw it)
  j.source(from_container(iota(2000)))
      .parallelism(2)
      .key_by([](const int& x) { return x % 17; })
      .process<std::pair<int, uint32_t>>(
          [instance = uint32_t{0}, seen = false](const int& x,
                                                 collector<std::pair<int, uint32_t>>& c) mutable {
            // The instance index is not visible to user code; tag records with a per-copy id.
            if (!seen) {
              instance = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&seen) >> 4);
              seen = true;
            }
            c.emit({x % 17, instance});
          })
      .parallelism(4)
      .sink(collect(out));
  REQUIRE(j.run());
  REQUIRE(out.size() == 2000);
  std::map<int, std::set<uint32_t>> owners;
  for (auto& [key, inst] : out)
    owners[key].insert(inst);
  CHECK(owners.size() == 17);
  for (auto& [key, insts] : owners)
    CHECK(insts.size() == 1);
  std::set<uint32_t> used;
  for (auto& [key, insts] : owners)
    used.insert(*insts.begin());
  CHECK(used.size() > 1); // the keys were spread over several instances
}

SCENARIO("union_with merges streams of the same type") {
  job j{small_batches()};
  std::vector<int> out;
  auto a = j.source(from_container(iota(100)));
  auto b = j.source(from_container(iota(100, 1000)));
  auto c = j.source(from_container(iota(10, 5000))).map([](const int& x) { return x; });
  a.union_with(b, c).filter([](const int&) { return true; }).parallelism(2).sink(collect(out));
  REQUIRE(j.run());
  auto expected = iota(100);
  auto tail = iota(100, 1000);
  expected.insert(expected.end(), tail.begin(), tail.end());
  tail = iota(10, 5000);
  expected.insert(expected.end(), tail.begin(), tail.end());
  CHECK(sorted(out) == expected);
}

SCENARIO("broadcast gives every record to every instance; rebalance to exactly one") {
  job j{small_batches()};
  std::vector<int> all, spread;
  auto s = j.source(from_container(iota(300)));
  s.broadcast().map([](const int& x) { return x; }).parallelism(3).sink(collect(all));
  s.rebalance().map([](const int& x) { return x; }).parallelism(3).sink(collect(spread));
  auto report = j.run();
  REQUIRE(report);
  std::vector<int> thrice;
  for (int x = 0; x < 300; ++x)
    thrice.insert(thrice.end(), {x, x, x});
  CHECK(sorted(all) == thrice);
  CHECK(sorted(spread) == iota(300));
  // rebalance spreads the records over all three instances
  for (const auto& m : report->metrics)
    if (m.op == "map-3")
      CHECK(m.records_in == 100);
}

SCENARIO("process runs its end function once per instance when the input ends") {
  job j{small_batches()};
  std::vector<int64_t> sums;
  j.source(from_container(iota(1000)))
      .process<int64_t>(
          [sum = std::make_shared<int64_t>(0)](const int& x, collector<int64_t>&) { *sum += x; },
          [](collector<int64_t>&) {})
      .sink(collect(sums));
  REQUIRE(j.run());
  CHECK(sums.empty());

  job k{small_batches()};
  struct summer {
    std::shared_ptr<int64_t> sum = std::make_shared<int64_t>(0);
    void operator()(const int& x, collector<int64_t>&) { *sum += x; }
  };
  summer f;
  auto total = f.sum;
  k.source(from_container(iota(1000)))
      .process<int64_t>(f, [total](collector<int64_t>& c) { c.emit(*total); })
      .sink(collect(sums));
  REQUIRE(k.run());
  CHECK(sums == std::vector<int64_t>{999 * 1000 / 2});

  // Three instances: three end markers, and every record once.
  job m{small_batches()};
  std::vector<int64_t> out;
  m.source(from_container(iota(1000)))
      .rebalance()
      .process<int64_t>([](const int& x, collector<int64_t>& c) { c.emit(x); },
                        [](collector<int64_t>& c) { c.emit(-1); })
      .parallelism(3)
      .sink(collect(out));
  auto report = m.run();
  REQUIRE(report);
  CHECK(std::count(out.begin(), out.end(), -1) == 3);
  CHECK(out.size() == 1003);
  CHECK(report->records_in("process-1") == 1000);
}

SCENARIO("a throwing user function sends its record to the dead letters and the job goes on") {
  job j{small_batches()};
  std::vector<int> out;
  j.source(from_container(iota(1000)))
      .map([](const int& x) {
        if (x % 100 == 0)
          throw std::invalid_argument("multiple of 100: " + std::to_string(x));
        return x;
      })
      .name("picky")
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(out.size() == 990);
  REQUIRE(report->dead_letters.size() == 10);
  auto d = report->dead_letters;
  std::sort(d.begin(), d.end(),
            [](auto& x, auto& y) { return std::stoi(x.record) < std::stoi(y.record); });
  CHECK(d[0].origin == "picky#0");
  CHECK(d[0].reason == "multiple of 100: 0");
  CHECK(d[3].record == "300");
  CHECK(report->dead_letter_count() == 10);
}

SCENARIO("with error_policy::fail a throwing user function fails the job with its message") {
  job j{small_batches()};
  std::vector<int> out;
  j.source(from_container(iota(1000)))
      .filter([](const int& x) -> bool {
        if (x == 500)
          throw std::runtime_error("cannot judge 500");
        return true;
      })
      .name("judge")
      .on_error(error_policy::fail)
      .sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::job_failed));
  CHECK_THAT(describe(report.error()),
             Catch::Contains("cannot judge 500") && Catch::Contains("judge#0"));
}

SCENARIO("dead letters can be routed to a sink of their own") {
  job j{small_batches()};
  std::vector<int> out;
  std::vector<dead_letter> letters;
  j.source(from_container(iota(100)))
      .map([](const int& x) {
        if (x % 10 == 3)
          throw std::runtime_error("three");
        return x;
      })
      .sink(collect(out));
  j.dead_letters().sink(collect(letters));
  auto report = j.run();
  REQUIRE(report);
  CHECK(out.size() == 90);
  CHECK(letters.size() == 10);
  CHECK(report->dead_letters.empty());
}

SCENARIO("an invalid topology is an error that says how to fix it") {
  GIVEN("an operator whose output nobody consumes") {
    job j;
    std::vector<int> out;
    auto s = j.source(from_container(iota(3)));
    s.map([](const int& x) { return x; }).name("lonely");
    s.sink(collect(out));
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK(is(report.error(), errc::invalid_topology));
    CHECK_THAT(describe(report.error()),
               Catch::Contains("'lonely'") && Catch::Contains("add a sink"));
  }
  GIVEN("parallelism 0") {
    job j;
    std::vector<int> out;
    j.source(from_container(iota(3)))
        .map([](const int& x) { return x; })
        .parallelism(0)
        .sink(collect(out));
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains("parallelism 0"));
  }
  GIVEN("a forward edge between operators of different parallelism") {
    job j;
    std::vector<int> out;
    j.source(from_container(iota(3)))
        .parallelism(2)
        .forward()
        .map([](const int& x) { return x; })
        .parallelism(3)
        .sink(collect(out));
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains("rebalance()"));
  }
  GIVEN("an empty job") {
    job j;
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains("no operators"));
  }
}

SCENARIO("metrics count records and batches per instance") {
  job j{job_config{}.with_threads(2).with_batch_size(10)};
  std::vector<int> out;
  j.source(from_container(iota(95))).name("numbers").sink(collect(out)).name("out");
  auto report = j.run();
  REQUIRE(report);
  REQUIRE(report->metrics.size() == 2);
  CHECK(report->records_out("numbers") == 95);
  CHECK(report->records_in("out") == 95);
  for (const auto& m : report->metrics)
    if (m.op == "out")
      CHECK(m.batches_in == 10); // nine full batches and the rest
  CHECK_THAT(report->summary(), Catch::Contains("numbers") && Catch::Contains("out"));
}
