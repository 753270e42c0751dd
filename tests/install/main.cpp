// Uses eddy from outside its tree (installed package or add_subdirectory): a small job must give
// its result.
#include <eddy/ml/fwd.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <cstdio>

int main() {
  eddy::job job{eddy::job_config{}.with_threads(2)};
  std::vector<uint64_t> out;
  job.source(eddy::generator<uint64_t>(1000, [](uint64_t i) { return i; }))
      .filter([](const uint64_t& x) { return x % 2 == 1; })
      .sink(eddy::collect(out));
  auto report = job.run();
  if (!report) {
    std::fprintf(stderr, "job failed: %s\n", eddy::describe(report.error()).c_str());
    return 1;
  }
  uint64_t sum = 0;
  for (auto x : out)
    sum += x;
  eddy::ml::vector v = eddy::ml::vector::Ones(3);
  bool ok = out.size() == 500 && sum == 250000 && v.sum() == 3.0;
  std::printf("eddy used from outside its tree: %zu records, sum %llu: %s\n", out.size(),
              static_cast<unsigned long long>(sum), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
