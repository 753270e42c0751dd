// Uses eddy from outside its tree (installed package or add_subdirectory): a small job must give
// its result.
#include <eddy/checkpoint/snapshot_file.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <chrono>
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
  // A keyed window keeps its state in eddy::state (RocksDB linked privately).
  eddy::job windowed{eddy::job_config{}.with_threads(2)};
  std::vector<eddy::window_result<uint64_t, int64_t>> windows;
  windowed
      .source(eddy::generator<uint64_t>(1000, [](uint64_t i) { return i; })
                  .with_event_time([](const uint64_t& x) { return eddy::timestamp(x); }))
      .key_by([](const uint64_t& x) { return x % 2; })
      .window(eddy::tumbling(std::chrono::milliseconds{100}))
      .aggregate(eddy::count_of<uint64_t>{})
      .sink(eddy::collect(windows));
  auto windowed_report = windowed.run();
  bool windows_ok = windowed_report && windows.size() == 20;
  for (const auto& w : windows)
    windows_ok = windows_ok && w.value == 50;
  // A snapshot frame through eddy::checkpoint (Boost.Serialization linked through the package).
  eddy::instance_state st;
  st.operator_state = "position";
  st.key_groups = {{3, "kg"}};
  auto frame = eddy::checkpoint::decode_snapshot(
      eddy::checkpoint::encode_snapshot({1, 0, "source", 0, 1, 0, 8, 8}, st), "memory");
  bool checkpoint_ok = frame && frame->second.key_groups == st.key_groups;
  bool ok = out.size() == 500 && sum == 250000 && v.sum() == 3.0 && windows_ok && checkpoint_ok;
  std::printf("eddy used from outside its tree: %zu records, sum %llu: %s\n", out.size(),
              static_cast<unsigned long long>(sum), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
