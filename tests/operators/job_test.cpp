#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>

using namespace eddy;

namespace {

std::vector<int> iota(int n) {
  std::vector<int> xs(n);
  std::iota(xs.begin(), xs.end(), 0);
  return xs;
}

} // namespace

SCENARIO("map and filter transform every record exactly once") {
  job j{job_config{}.with_threads(2).with_batch_size(7)};
  std::vector<int> out;
  j.source(from_container(iota(1000)))
      .map([](const int& x) { return x * 3; })
      .filter([](const int& x) { return x % 2 == 0; })
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  std::sort(out.begin(), out.end());
  std::vector<int> expected;
  for (int x = 0; x < 1000; ++x)
    if ((x * 3) % 2 == 0)
      expected.push_back(x * 3);
  CHECK(out == expected);
}
