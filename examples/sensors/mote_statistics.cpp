// The flagship job: statistics per mote over the labelled sensor data, in keyed state and in
// event-time windows.
//
// source (CSV, event time = reading x 5 s, bad rows -> dead letters) -> filter (plausible)
//   -> key_by(mote) -> process (running statistics in keyed state)  -> sink (latest per mote)
//                   -> window (last minute, every 10 s: mean, deviation, min, max, rate of
//                              change of temperature and humidity; late readings counted)
//
// The file lists each mote's readings in turn (about 7 hours of event time each), so event time
// jumps back at every new mote: the source allows 8 hours of out-of-orderness, and each window
// fires once event time has passed it for every mote (with --repeat, during the next pass).
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

using sensors::minute_stats;
using sensors::mote_stats;
using sensors::reading;
using namespace std::chrono_literals;

namespace {

/// Running statistics per mote, in keyed state (checkpointed with the job, not in a lambda).
struct running_statistics {
  eddy::state::value_state<mote_stats> stats;
  void open(eddy::keyed_context<int, mote_stats>& ctx) {
    stats = *ctx.state().declare_value<mote_stats>("stats");
  }
  void operator()(const reading& r, eddy::keyed_context<int, mote_stats>& ctx) {
    auto s = stats.value_or(mote_stats{});
    sensors::update(s, r);
    stats.update(s);
    ctx.emit(s);
  }
};

/// Keeps the latest statistics of every mote, shared by the sink's instances.
struct latest {
  std::mutex mtx;
  std::map<int, mote_stats> by_mote;
};

/// Keeps the latest minute of every mote.
struct latest_minutes {
  std::mutex mtx;
  std::map<int, minute_stats> by_mote;
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
  auto five_seconds = [](const reading& r) { return eddy::timestamp{r.reading * 5'000}; };
  auto by_mote =
      job.source(eddy::csv_source<reading>(data)
                     .with_event_time(five_seconds, 8 * 3600 * 1000LL) // one pass
                     .repeat(static_cast<uint64_t>(repeat)))
          .name("csv")
          .filter([](const reading& r) {
            return std::isfinite(r.temperature) && r.temperature > -40 && r.temperature < 85;
          })
          .name("plausible")
          .key_by([](const reading& r) { return r.mote_id; });
  auto windows = std::make_shared<std::atomic<uint64_t>>(0);
  auto last_minute = std::make_shared<latest_minutes>();
  by_mote.window(eddy::sliding(1min, 10s))
      .on_late(eddy::late_policy::count)
      .aggregate(sensors::minute_aggregate{})
      .name("minute")
      .parallelism(parallelism)
      .sink([windows, last_minute](const eddy::window_result<int, minute_stats>& w) {
        ++*windows;
        if (w.value.readings < 10) // the last windows of a mote's readings are partial
          return;
        std::lock_guard<std::mutex> guard{last_minute->mtx};
        last_minute->by_mote[w.key] = w.value;
      })
      .name("minutes");
  by_mote.process<mote_stats>(running_statistics{})
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
  std::printf("\nlast minute per mote (sliding windows of 1 min every 10 s, %llu fired, %llu "
              "late readings):\n",
              static_cast<unsigned long long>(windows->load()),
              static_cast<unsigned long long>(report->late_record_count()));
  std::printf("%-5s %8s %10s %8s %12s %10s %12s\n", "mote", "readings", "temp mean", "std",
              "temp/min", "hum mean", "hum/min");
  for (const auto& [mote, m] : last_minute->by_mote)
    std::printf("%-5d %8lld %10.2f %8.3f %12.4f %10.2f %12.4f\n", mote,
                static_cast<long long>(m.readings), m.temperature_mean, m.temperature_std,
                m.temperature_per_minute, m.humidity_mean, m.humidity_per_minute);
  std::printf("\n%llu readings in %.3f s (%.0f events/s), %llu dead letters\n",
              static_cast<unsigned long long>(report->records_in("statistics")), seconds,
              report->records_in("statistics") / seconds,
              static_cast<unsigned long long>(report->dead_letter_count()));
  return 0;
}
