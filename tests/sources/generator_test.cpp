#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace eddy;

SCENARIO("parallel generator instances produce disjoint parts of the same stream") {
  job j{job_config{}.with_threads(2).with_batch_size(100)};
  std::vector<uint64_t> out;
  j.source(generator<uint64_t>(10'000, [](uint64_t i) { return i * i; }))
      .parallelism(3)
      .sink(collect(out));
  REQUIRE(j.run());
  std::sort(out.begin(), out.end());
  REQUIRE(out.size() == 10'000);
  for (uint64_t i = 0; i < 10'000; ++i)
    REQUIRE(out[i] == i * i);
}

SCENARIO("a paced generator emits at about the given rate") {
  // Only a lower bound on the duration: a slow machine may take longer, never shorter.
  job j{job_config{}.with_threads(2)};
  std::vector<uint64_t> out;
  j.source(generator<uint64_t>(2'000, [](uint64_t i) { return i; }).at_rate(20'000))
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(out.size() == 2'000);
  CHECK(report->elapsed >= std::chrono::milliseconds{90});
}

SCENARIO("a paced source waits exactly until its next record is due") {
  // Record i is due at i / rate. After emitting 5 records at 1,000/s, 4.5 ms in, the next one
  // (index 5) is due at 5 ms: wait 0.5 ms. (The old arithmetic waited for index 6, a period late.)
  internal::pacing pace{1'000};
  CHECK(pace.due(0.0) == 1);
  CHECK(pace.due(0.0045) == 5);
  CHECK(pace.wait_for_next(5, 0.0045) == Approx(0.0005).margin(1e-12));
  CHECK(pace.wait_for_next(5, 0.005) == 0.0);
  CHECK(pace.wait_for_next(5, 0.006) == 0.0); // late: emit at once
}
