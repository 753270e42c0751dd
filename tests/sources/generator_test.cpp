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
