// Latency from source to sink at a fixed rate (default 1 million events/s): p50 / p99 of
// eddy's source -> map -> filter -> sink, against plain CAF sending each record as its own
// message from one actor to another at the same rate, in the same run.
//
//   eddy_bench_latency [events_per_second=1000000] [seconds=5] [threads=2]
#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

using namespace eddy;
using clock_type = std::chrono::steady_clock;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
      .count();
}

struct stamped {
  int64_t created_ns = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stamped& x) {
  return f(x.created_ns, x.value);
}

struct samples {
  std::mutex mtx;
  std::vector<int64_t> ns;
};

/// Records latency of every 16th record.
struct latency_sink {
  std::shared_ptr<samples> out;
  std::vector<int64_t> local;
  void operator()(const stamped& x) {
    if (x.value % 16 == 0)
      local.push_back(now_ns() - x.created_ns);
  }
  void finish() {
    std::lock_guard<std::mutex> guard{out->mtx};
    out->ns.insert(out->ns.end(), local.begin(), local.end());
  }
};

std::pair<double, double> p50_p99(std::vector<int64_t>& v) {
  if (v.empty())
    return {0, 0};
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2] / 1e6, v[v.size() * 99 / 100] / 1e6};
}

/// Plain CAF: a paced source actor sends each record as one message to a sink actor.
std::vector<int64_t> caf_baseline(double rate, uint64_t n, size_t threads) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", threads);
  caf::actor_system sys{cfg};
  auto result = std::make_shared<std::vector<int64_t>>();
  auto sink = sys.spawn(
      [](caf::event_based_actor*, std::shared_ptr<std::vector<int64_t>> result) -> caf::behavior {
        return {[result](int64_t created, int64_t i) {
          if (i % 16 == 0)
            result->push_back(now_ns() - created);
        }};
      },
      result);
  auto start = clock_type::now();
  for (uint64_t i = 0; i < n;) {
    auto due = static_cast<uint64_t>(
        std::chrono::duration<double>(clock_type::now() - start).count() * rate);
    for (; i < std::min(due, n); ++i)
      caf::anon_send(sink, now_ns(), static_cast<int64_t>(i));
    std::this_thread::sleep_for(std::chrono::microseconds{50});
  }
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  return std::move(*result);
}

} // namespace

int main(int argc, char** argv) {
  double rate = argc > 1 ? std::atof(argv[1]) : 1e6;
  double seconds = argc > 2 ? std::atof(argv[2]) : 5;
  size_t threads = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 2;
  auto n = static_cast<uint64_t>(rate * seconds);

  auto result = std::make_shared<samples>();
  job j{job_config{}.with_threads(threads)};
  j.source(generator<stamped>(n,
                              [](uint64_t i) {
                                return stamped{now_ns(), int64_t(i)};
                              })
               .at_rate(rate))
      .map([](const stamped& x) {
        return stamped{x.created_ns, x.value};
      })
      .filter([](const stamped& x) { return x.value >= 0; })
      .sink(latency_sink{result, {}});
  auto report = j.run();
  if (!report) {
    std::fprintf(stderr, "eddy failed: %s\n", describe(report.error()).c_str());
    return 1;
  }
  auto [e50, e99] = p50_p99(result->ns);
  auto base = caf_baseline(rate, n, threads);
  auto [b50, b99] = p50_p99(base);
  std::printf("latency at %.0f events/s for %.0f s, %zu threads (batch %zu, linger %.1f ms)\n",
              rate, seconds, threads, records_per_batch<stamped>(j.config().channels),
              j.config().channels.linger.count() / 1e6);
  std::printf("  eddy source->map->filter->sink: p50 %.3f ms  p99 %.3f ms\n", e50, e99);
  std::printf("  plain CAF, one message per record: p50 %.3f ms  p99 %.3f ms\n", b50, b99);
  std::printf("  ratio p99 eddy / plain CAF: %.2f\n", b99 > 0 ? e99 / b99 : 0.0);
  return 0;
}
