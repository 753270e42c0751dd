// The flagship job: statistics per mote over the labelled sensor data, in keyed state and in
// event-time windows, and the same job under injected faults giving the same output.
//
// source (CSV, event time = reading x 5 s, bad rows -> dead letters) -> filter (plausible)
//   -> key_by(mote) -> process (running statistics in keyed state, final ones at the end)
//                   -> window (last minute, every 10 s: mean, deviation, min, max, rate of
//                              change of temperature and humidity; late readings counted)
//
// The file lists each mote's readings in turn (about 7 hours of event time each), so event time
// jumps back at every new mote: the source allows 8 hours of out-of-orderness, and each window
// fires once event time has passed it for every mote (with --repeat, during the next pass).
//
//   mote_statistics [--data data/sensors/single_hop.csv] [--parallelism 2] [--repeat 1]
//                   [--faults "crash:statistics#1@after=100000; kill:random@every=200ms,count=5"]
//                   [--checkpoints DIR] [--checkpoint-interval 100ms]
//                   [--kafka [--bootstrap host:port]]
//
// `--repeat N` reads the file N times over: a longer stream to watch. `--faults` (the syntax is
// in operators/fault_plan.hpp) runs the job with the faults and checkpoints into DIR (default: a
// fresh folder under the system's temporary directory, removed at the end), then again without
// either; it prints every recovery and exits with 1 unless both gave exactly the same output.
//
// `--kafka` puts Kafka in the loop: the file is replayed into topic `readings` (16 partitions,
// keyed by mote; with --repeat the reading numbers of each pass continue the last pass's), the
// job reads it (CSV lines, `kafka::from_topic(...).csv()`) instead of the file, and writes every
// window result as JSON to topic `minutes` (64 partitions) through the exactly-once sink
// (`minutes-reference` for the run without faults, and the two topics must hold the same records).
// The cluster is an embedded one (librdkafka's mock brokers) unless `--bootstrap` names a real one,
// where the three topics must exist (and the exactly-once sink's commit logs,
// `eddy-mote-statistics-minutes.commits` and `...-minutes-reference.commits`, unless the cluster
// creates topics on first use); the program prints the kcat command that reads the output.
#include "sensor.hpp"

#include "../job_summary.hpp"

#include <eddy/kafka/mock_cluster.hpp>
#include <eddy/kafka/sink.hpp>
#include <eddy/kafka/source.hpp>

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/csv_source.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

using sensors::minute_stats;
using sensors::mote_stats;
using sensors::reading;
using minute = eddy::window_result<int, minute_stats>;
using namespace std::chrono_literals;

namespace {

/// Running statistics per mote in keyed state (checkpointed with the job, not in a lambda),
/// emitted once per mote when the input ends (an event-time timer at the end of time).
struct running_statistics {
  eddy::state::value_state<mote_stats> stats;
  void open(eddy::keyed_context<int, mote_stats>& ctx) {
    stats = *ctx.state().declare_value<mote_stats>("stats");
  }
  void operator()(const reading& r, eddy::keyed_context<int, mote_stats>& ctx) {
    auto s = stats.value_or(mote_stats{});
    if (s.count == 0)
      ctx.register_event_time_timer(eddy::max_time);
    sensors::update(s, r);
    stats.update(s);
  }
  void on_timer(eddy::timestamp, eddy::keyed_context<int, mote_stats>& ctx) {
    ctx.emit(*stats.value());
  }
};

/// What one run gives: its report and everything its (exactly-once) sinks received, sorted.
struct outcome {
  eddy::job_report report;
  std::vector<minute> minutes;
  std::vector<mote_stats> motes;
};

/// Every field of a window result, to sort and compare them.
auto fields(const minute& w) {
  return std::tie(w.key, w.start, w.end, w.value, w.late_update, w.early);
}
bool same_window(const minute& x, const minute& y) {
  return fields(x) == fields(y);
}

struct options {
  std::string data = "data/sensors/single_hop.csv";
  uint32_t parallelism = 2;
  int repeat = 1;
  /// Kafka in the loop: the cluster, and the topic the window results go to.
  std::string bootstrap;
  std::string minutes_topic;
};

/// A window result as the JSON written to Kafka.
std::string json_of(const minute& w) {
  const auto& m = w.value;
  return nlohmann::json{{"mote", w.key},
                        {"start", w.start},
                        {"end", w.end},
                        {"readings", m.readings},
                        {"temperature_mean", m.temperature_mean},
                        {"temperature_std", m.temperature_std},
                        {"temperature_per_minute", m.temperature_per_minute},
                        {"humidity_mean", m.humidity_mean},
                        {"humidity_per_minute", m.humidity_per_minute}}
      .dump();
}

/// Replays the file `repeat` times into topic `readings`, keyed by mote; each pass's reading
/// numbers continue where the last pass's ended. Returns the lines sent, or an error.
caf::expected<int64_t> replay_into_kafka(const options& o) {
  auto producer = eddy::kafka::internal::producer::open({{"bootstrap.servers", o.bootstrap}});
  if (!producer)
    return producer.error();
  std::ifstream in{o.data};
  if (!in)
    return eddy::make_error(eddy::errc::invalid_source, "cannot read " + o.data);
  // Each line with its reading number (none when the line does not parse: it goes as it is,
  // and the job makes it a dead letter).
  std::vector<std::pair<std::string, std::optional<int64_t>>> lines;
  int64_t low = std::numeric_limits<int64_t>::max(), high = std::numeric_limits<int64_t>::min();
  const eddy::csv_source<reading> parser{o.data};
  std::string header;
  std::getline(in, header);
  for (std::string line; std::getline(in, line);) {
    reading r;
    std::optional<int64_t> number;
    if (parser.parse(line, r).empty()) {
      number = r.reading;
      low = std::min(low, r.reading);
      high = std::max(high, r.reading);
    }
    lines.emplace_back(std::move(line), number);
  }
  int64_t sent = 0;
  for (int pass = 0; pass < o.repeat; ++pass)
    for (const auto& [line, number] : lines) {
      auto comma = line.find(',');
      auto mote = line.substr(comma + 1, line.find(',', comma + 1) - comma - 1);
      auto value = pass > 0 && number
                       ? std::to_string(*number + pass * (high - low + 1)) + line.substr(comma)
                       : line;
      if (auto err = producer->send("readings", -1, mote, value))
        return err;
      ++sent;
    }
  if (auto err = producer->flush(std::chrono::minutes{2}))
    return err;
  return sent;
}

/// Runs the job with `cfg`, printing its progress.
std::optional<outcome> run(const options& o, eddy::job_config cfg) {
  eddy::job job{cfg.with_threads(2).with_batch_size(2048)};
  auto five_seconds = [](const reading& r) { return eddy::timestamp{r.reading * 5'000}; };
  constexpr eddy::timestamp one_pass = 8 * 3600 * 1000LL; // out of order by up to a pass
  auto readings = o.bootstrap.empty()
                      ? job.source(eddy::csv_source<reading>(o.data)
                                       .with_event_time(five_seconds, one_pass)
                                       .repeat(static_cast<uint64_t>(o.repeat)))
                            .name("csv")
                      : job.source(eddy::kafka::from_topic<reading>(o.bootstrap, "readings")
                                       .csv()
                                       .with_event_time(five_seconds, one_pass)
                                       .until_end())
                            .name("kafka")
                            .parallelism(o.parallelism);
  auto by_mote =
      readings
          .filter([](const reading& r) {
            return std::isfinite(r.temperature) && r.temperature > -40 && r.temperature < 85;
          })
          .name("plausible")
          .key_by([](const reading& r) { return r.mote_id; });
  outcome out;
  auto minutes = by_mote.window(eddy::sliding(1min, 10s))
                     .on_late(eddy::late_policy::count)
                     .aggregate(sensors::minute_aggregate{})
                     .name("minute")
                     .parallelism(o.parallelism);
  minutes.sink(eddy::collect(out.minutes)).name("minutes");
  if (!o.bootstrap.empty())
    minutes
        .sink(eddy::kafka::to_topic<minute>(o.bootstrap, o.minutes_topic)
                  .encode(json_of)
                  .key([](const minute& w) { // spread over the partitions
                    return std::to_string(w.key) + "@" + std::to_string(w.start);
                  })
                  .exactly_once("eddy-mote-statistics-" + o.minutes_topic))
        .name("to-kafka")
        .parallelism(o.parallelism);
  by_mote.process<mote_stats>(running_statistics{})
      .name("statistics")
      .parallelism(o.parallelism)
      .sink(eddy::collect(out.motes))
      .name("final");

  auto t0 = std::chrono::steady_clock::now();
  auto running = std::async(std::launch::async, [&] { return job.run(); });
  while (running.wait_for(250ms) != std::future_status::ready) {
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
    return std::nullopt;
  }
  out.report = std::move(*report);
  std::sort(out.minutes.begin(), out.minutes.end(),
            [](const minute& x, const minute& y) { return fields(x) < fields(y); });
  std::sort(out.motes.begin(), out.motes.end());
  return out;
}

/// Prints the final statistics and the last full minute of every mote.
void print_results(const outcome& o) {
  const auto& r = o.report;
  auto seconds = r.elapsed.count() / 1e9;
  std::printf("\n%s\n", r.summary().c_str());
  std::printf("%-5s %8s %10s %8s %8s %8s %10s\n", "mote", "readings", "temp mean", "std", "min",
              "max", "anomalies");
  for (const auto& s : o.motes)
    std::printf("%-5d %8lld %10.2f %8.2f %8.2f %8.2f %10lld\n", s.mote_id,
                static_cast<long long>(s.count), s.temperature_mean,
                std::sqrt(s.temperature_m2 / std::max<int64_t>(1, s.count - 1)), s.temperature_min,
                s.temperature_max, static_cast<long long>(s.anomalies));
  std::printf("\nlast minute per mote (sliding windows of 1 min every 10 s, %zu fired, %llu "
              "late readings):\n",
              o.minutes.size(), static_cast<unsigned long long>(r.late_record_count()));
  std::printf("%-5s %8s %10s %8s %12s %10s %12s\n", "mote", "readings", "temp mean", "std",
              "temp/min", "hum mean", "hum/min");
  for (size_t i = 0; i < o.minutes.size(); ++i) { // the last full window of each key
    const auto& w = o.minutes[i];
    bool last = i + 1 == o.minutes.size() || o.minutes[i + 1].key != w.key;
    if (last) // the last windows of a mote's readings are partial: go back to a full one
      for (size_t j = i; j > 0 && o.minutes[j].key == w.key; --j)
        if (o.minutes[j].value.readings >= 10) {
          const auto& m = o.minutes[j].value;
          std::printf("%-5d %8lld %10.2f %8.3f %12.4f %10.2f %12.4f\n", w.key,
                      static_cast<long long>(m.readings), m.temperature_mean, m.temperature_std,
                      m.temperature_per_minute, m.humidity_mean, m.humidity_per_minute);
          break;
        }
  }
  for (const auto& d : r.dead_letters)
    std::printf("dead letter from %s: %s: %s\n", d.origin.c_str(), d.reason.c_str(),
                d.record.c_str());
  int64_t readings = 0; // not the metrics: after a recovery they count the last attempt only
  for (const auto& s : o.motes)
    readings += s.count;
  std::printf("\n%lld readings in %.3f s (%.0f events/s), %zu dead letters\n",
              static_cast<long long>(readings), seconds, readings / seconds,
              r.dead_letters.size() + static_cast<size_t>(r.dead_letters_not_kept));
}

/// The values in every partition of `topic`, sorted (read by an eddy job), or an error.
std::optional<std::vector<std::string>> topic_contents(const std::string& bootstrap,
                                                       const std::string& topic) {
  eddy::job job;
  std::vector<eddy::kafka::message> got;
  job.source(eddy::kafka::from_topic<eddy::kafka::message>(bootstrap, topic).until_end())
      .sink(eddy::collect(got));
  auto report = job.run();
  if (!report) {
    std::fprintf(stderr, "reading topic %s: %s\n", topic.c_str(),
                 eddy::describe(report.error()).c_str());
    return std::nullopt;
  }
  std::vector<std::string> values;
  for (auto& m : got)
    values.push_back(std::move(m.value));
  std::sort(values.begin(), values.end());
  return values;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Running statistics per mote over the labelled sensor data set"};
  options o;
  std::string faults_spec;
  std::string checkpoints;
  std::string interval_spec = "100ms";
  app.add_option("--data", o.data, "the sensor CSV file")->capture_default_str();
  app.add_option("--parallelism", o.parallelism, "instances of the keyed operators")
      ->capture_default_str();
  app.add_option("--repeat", o.repeat, "read the file this many times (a longer stream)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--faults", faults_spec,
                 "faults to inject, e.g. \"crash:statistics#1@after=100000; "
                 "kill:random@every=200ms,count=5\" (then runs the job without them, to compare)");
  app.add_option("--checkpoints", checkpoints,
                 "checkpoint folder (default with --faults: a fresh one in the temp folder)");
  app.add_option("--checkpoint-interval", interval_spec, "time between checkpoints")
      ->capture_default_str();
  bool kafka = false;
  app.add_flag("--kafka", kafka,
               "Kafka in the loop: the file replayed into topic readings, the job reading it and "
               "writing its window results to topic minutes, exactly-once");
  app.add_option("--bootstrap", o.bootstrap,
                 "with --kafka: a real cluster (topics readings, minutes and minutes-reference "
                 "must exist) instead of an embedded one");
  CLI11_PARSE(app, argc, argv);
  if (!o.bootstrap.empty() && !kafka) {
    std::fprintf(stderr, "--bootstrap names the Kafka cluster of --kafka: add --kafka\n");
    return 2;
  }
  std::optional<eddy::kafka::mock_cluster> cluster;
  if (kafka) {
    if (o.bootstrap.empty()) {
      auto started = eddy::kafka::mock_cluster::start(1);
      caf::error err = started ? caf::error{} : started.error();
      for (const char* topic : {"readings", "minutes", "minutes-reference"})
        if (!err)
          err = started->create_topic(topic, std::string{topic} == "readings" ? 16 : 64);
      if (err) {
        std::fprintf(stderr, "the embedded Kafka cluster: %s\n", eddy::describe(err).c_str());
        return 1;
      }
      cluster.emplace(std::move(*started));
      o.bootstrap = cluster->bootstrap();
      std::printf("== an embedded Kafka cluster at %s (librdkafka's mock brokers)\n",
                  o.bootstrap.c_str());
    }
    auto sent = replay_into_kafka(o);
    if (!sent) {
      std::fprintf(stderr, "replaying %s into Kafka: %s\n", o.data.c_str(),
                   eddy::describe(sent.error()).c_str());
      return 1;
    }
    std::printf("== %lld lines of %s replayed into topic readings\n", static_cast<long long>(*sent),
                o.data.c_str());
    // The embedded cluster keeps about 5 MB per partition (kafka/mock_cluster.hpp); a line is
    // about 30 bytes, 45 with Kafka's record overhead.
    if (cluster && *sent * 45 > 16 * 4'500'000LL) {
      std::fprintf(stderr,
                   "%lld lines are more than the embedded cluster keeps (about 5 MB per "
                   "partition): use --repeat 50 or less, or a real cluster (--bootstrap)\n",
                   static_cast<long long>(*sent));
      return 2;
    }
    o.minutes_topic = "minutes";
  }
  auto faults = eddy::parse_fault_plan(faults_spec);
  auto interval = eddy::parse_duration(interval_spec);
  if (!faults || !interval) {
    auto& err = !faults ? faults.error() : interval.error();
    std::fprintf(stderr, "%s\n", eddy::describe(err).c_str());
    return 2;
  }
  bool fresh_folder = checkpoints.empty() && !faults->empty();
  if (fresh_folder) {
    auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
    checkpoints =
        (std::filesystem::temp_directory_path() / ("eddy-mote-statistics-" + std::to_string(stamp)))
            .string();
  }

  if (!faults->empty())
    std::printf("== with faults: %s (checkpoints every %s into %s)\n",
                eddy::to_string(*faults).c_str(), eddy::to_duration_string(*interval).c_str(),
                checkpoints.c_str());
  auto cfg = eddy::job_config{}.with_faults(*faults);
  if (!checkpoints.empty())
    cfg.with_checkpoints(checkpoints, *interval);
  auto result = run(o, cfg);
  if (fresh_folder)
    std::filesystem::remove_all(checkpoints);
  if (!result)
    return 1;
  std::optional<outcome> reference; // the same job without faults nor checkpoints
  if (!faults->empty()) {
    std::printf("== the same without faults, without checkpoints, to compare\n");
    auto plain = o;
    if (kafka)
      plain.minutes_topic = "minutes-reference";
    if (!(reference = run(plain, eddy::job_config{})))
      return 1;
  }
  print_results(*result);
  if (!checkpoints.empty())
    examples::print_recovery(result->report);
  bool kafka_ok = true;
  if (kafka) {
    auto written = topic_contents(o.bootstrap, "minutes");
    kafka_ok = written && written->size() == result->minutes.size();
    std::printf("\ntopic minutes holds %s window results (the job produced %zu)%s\n",
                written ? std::to_string(written->size()).c_str() : "no readable",
                result->minutes.size(), kafka_ok ? "" : ": they DIFFER");
    if (written && !written->empty())
      std::printf("  e.g. %s\n", written->begin()->c_str());
    if (reference) {
      auto other = topic_contents(o.bootstrap, "minutes-reference");
      bool same = written && other && *written == *other;
      kafka_ok = kafka_ok && same;
      std::printf("topic minutes %s topic minutes-reference (the run without faults)\n",
                  same ? "holds exactly the records of" : "DIFFERS from");
    }
    if (!cluster)
      std::printf("read it: kcat -b %s -t minutes -C -e -q\n", o.bootstrap.c_str());
  }
  if (!reference)
    return kafka_ok ? 0 : 1;
  const auto &a = result->minutes, &b = reference->minutes;
  auto diff = std::mismatch(a.begin(), a.end(), b.begin(), b.end(), same_window);
  bool same = diff.first == a.end() && diff.second == b.end() && result->motes == reference->motes;
  std::printf("\noutput with faults %s the output without: %zu window results, %zu motes "
              "(%.3f s with %zu recoveries, %.3f s without)\n",
              same ? "is exactly" : "DIFFERS from", a.size(), result->motes.size(),
              result->report.elapsed.count() / 1e9, result->report.recoveries.size(),
              reference->report.elapsed.count() / 1e9);
  auto show = [](const std::vector<minute>& v, std::vector<minute>::const_iterator w) {
    return w == v.end() ? std::string{"none"}
                        : "mote " + std::to_string(w->key) + " [" + std::to_string(w->start) +
                              ", " + std::to_string(w->end) + ") of " +
                              std::to_string(w->value.readings) + " readings";
  };
  if (!same)
    std::printf("without faults: %zu window results, %zu motes; the first that differs is #%zu: "
                "%s with faults, %s without\n",
                b.size(), reference->motes.size(), static_cast<size_t>(diff.first - a.begin()),
                show(a, diff.first).c_str(), show(b, diff.second).c_str());
  return same && kafka_ok ? 0 : 1;
}
