// The first real job: running statistics per mote over the labelled sensor data.
//
// source (CSV, bad rows -> dead letters) -> filter (plausible values) -> key_by(mote)
//   -> process (running statistics per mote) -> sink (latest statistics per mote)
//
//   mote_statistics [--data data/sensors/single_hop.csv] [--parallelism 2] [--repeat 1]
//
// `--repeat N` reads the file N times over: a longer stream to watch.
#include "sensor.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/stdout_sink.hpp>
#include <eddy/sources/csv_source.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

using sensors::mote_stats;
using sensors::reading;

namespace {

/// Keeps the latest statistics of every mote, shared by the sink's instances.
struct latest {
  std::mutex mtx;
  std::map<int, mote_stats> by_mote;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Running statistics per mote over the labelled sensor data set"};
  std::string data = "data/sensors/single_hop.csv";
  uint32_t parallelism = 2;
  int repeat = 1;
  app.add_option("--data", data, "the sensor CSV file")->capture_default_str();
  app.add_option("--parallelism", parallelism, "instances of the keyed operator")
      ->capture_default_str();
  app.add_option("--repeat", repeat, "read the file this many times (a longer stream)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  eddy::job job{eddy::job_config{}.with_threads(2).with_batch_size(2048)};
  auto result = std::make_shared<latest>();
  job.source(eddy::csv_source<reading>(data).repeat(static_cast<uint64_t>(repeat)))
      .name("csv")
      .filter([](const reading& r) {
        return std::isfinite(r.temperature) && r.temperature > -40 && r.temperature < 85;
      })
      .name("plausible")
      .key_by([](const reading& r) { return r.mote_id; })
      .process<mote_stats>([stats = std::unordered_map<int, mote_stats>{}](
                               const reading& r, eddy::collector<mote_stats>& out) mutable {
        auto& s = stats[r.mote_id];
        sensors::update(s, r);
        out.emit(s);
      })
      .name("statistics")
      .parallelism(parallelism)
      .sink([result](const mote_stats& s) {
        std::lock_guard<std::mutex> guard{result->mtx};
        result->by_mote[s.mote_id] = s;
      })
      .name("latest");
  job.dead_letters()
      .sink(eddy::stdout_sink<eddy::dead_letter>{[](const eddy::dead_letter& d) {
        return "dead letter from " + d.origin + ": " + d.reason + ": " + d.record;
      }})
      .name("dead-letter-printer");

  auto t0 = std::chrono::steady_clock::now();
  auto running = std::async(std::launch::async, [&] { return job.run(); });
  while (running.wait_for(std::chrono::milliseconds{100}) != std::future_status::ready) {
    uint64_t n = 0;
    for (const auto& m : job.metrics())
      if (m.op == "statistics")
        n += m.records_in;
    auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("progress: %llu readings, %.0f events/s\n", static_cast<unsigned long long>(n),
                n / s);
  }
  auto report = running.get();
  if (!report) {
    std::fprintf(stderr, "the job failed: %s\n", eddy::describe(report.error()).c_str());
    return 1;
  }
  auto seconds = report->elapsed.count() / 1e9;
  std::printf("\n%s\n", report->summary().c_str());
  std::printf("%-5s %8s %10s %8s %8s %8s %10s\n", "mote", "readings", "temp mean", "std", "min",
              "max", "anomalies");
  for (const auto& [mote, s] : result->by_mote)
    std::printf("%-5d %8lld %10.2f %8.2f %8.2f %8.2f %10lld\n", mote,
                static_cast<long long>(s.count), s.temperature_mean,
                std::sqrt(s.temperature_m2 / std::max<int64_t>(1, s.count - 1)), s.temperature_min,
                s.temperature_max, static_cast<long long>(s.anomalies));
  std::printf("\n%llu readings in %.3f s (%.0f events/s), %llu dead letters\n",
              static_cast<unsigned long long>(report->records_in("statistics")), seconds,
              report->records_in("statistics") / seconds,
              static_cast<unsigned long long>(report->dead_letter_count()));
  return 0;
}
