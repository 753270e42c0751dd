// The showcase: online anomaly detection on the sensor network, every stage an actor, learning
// from labels that come late, new model versions reaching the scoring replicas while they score,
// checkpoints on, and faults if you ask for them.
//
//   readings (event time = reading x 5 s)
//     -> key_by(mote) -> features: windows of the last 12 readings in keyed state
//     -> scaler (standardization learned online)                          -> points
//   points + labels (each label comes 25 s of event time after its reading)
//     -> await_labels (keyed by reading, waits up to 2 min) -> learner (logistic regression,
//        test-then-train, a version every 100 readings)                 -> versions
//   points -> 2 scoring replicas, swapping to each version between batches -> predictions
//     -> alerts (predicted anomalies)
//     -> await_labels -> evaluator (figures of what was served)
//
// Readings come at `--rate` per second (default 20,000: about a second). It prints a model
// version every 2,000 readings as it is published, with its prequential figures, then the
// figures of the served predictions, the alerts, the recoveries and the checkpoints. At the end it
// runs the plain loop of sensor_anomaly.cpp on the same readings and checks that the learner's
// figures (precision, recall, F1, ROC AUC) are the loop's: the same records in the same order,
// whatever the actors and the faults did. It exits with 1 if they differ.
//
//   anomaly_job [--data data/sensors/single_hop.csv] [--rate 20000]
//               [--faults "crash:learner#0@after=9000; crash:scorer#1@after=6000"]
//               [--checkpoint-interval 20ms]
//
// The figures of the served predictions differ from the learner's: a replica scores with the
// newest version it has, which learned from the readings before it, not from the reading itself.
#include "../job_summary.hpp"

#include <eddy/examples/ml/sensor_features.hpp>
#include <eddy/ml/features/standard_scaler.hpp>
#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/operators/await_labels.hpp>
#include <eddy/ml/operators/evaluate.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/ml/operators/score.hpp>
#include <eddy/ml/operators/transform.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace {

using eddy::examples::sensor_features;
using eddy::examples::sensor_reading;

/// Event time of a reading: readings come every 5 s.
constexpr eddy::timestamp ms_per_reading = 5'000;
/// A label is known this long (event time) after its reading.
constexpr eddy::timestamp label_delay = 5 * ms_per_reading;
/// How long a reading waits for its label. Points a replica keeps until the first version
/// arrives (a few hundred readings) come out that much later in event time, so their predictions
/// wait for labels that waited long enough too.
constexpr eddy::timestamp label_wait = 15 * 60'000;
/// The learner publishes a version every this many readings.
constexpr uint64_t publish_every = 100;

/// A reading and its place in the stream (its record id).
struct indexed_reading {
  uint64_t id = 0;
  sensor_reading r;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, indexed_reading& x) {
  return f(caf::meta::type_name("indexed_reading"), x.id, x.r);
}

/// The features of a mote's readings: its two windows live in keyed state.
struct mote_features {
  using context = eddy::keyed_context<int, eddy::ml::point>;
  using windows = std::pair<eddy::ml::rolling_stats, eddy::ml::rolling_stats>;

  eddy::state::value_state<windows> state;
  eddy::ml::vector x;

  void open(context& ctx) { state = *ctx.state().declare_value<windows>("windows"); }

  void operator()(const indexed_reading& in, context& ctx) {
    const auto* kept = state.value();
    windows w = kept ? *kept
                     : windows{eddy::ml::rolling_stats{sensor_features::default_window},
                               eddy::ml::rolling_stats{sensor_features::default_window}};
    if (auto err = sensor_features::raw(in.r, w.first, w.second, x))
      throw std::invalid_argument(eddy::describe(err)); // a dead letter, with the reading
    state.update(std::move(w));
    ctx.emit(eddy::ml::point{in.id, std::vector<double>(x.data(), x.data() + x.size())});
  }
};

/// What a run gave.
struct outcome {
  std::vector<eddy::ml::model_version> versions;
  std::vector<eddy::ml::evaluation> served;
  uint64_t alerts = 0;
  eddy::job_report report;
};

void print_version(const eddy::ml::model_version& v) {
  const auto& q = v.quality;
  std::printf(
      "version %3llu %7llu %9.4f %9.4f %9.4f %12.4f", static_cast<unsigned long long>(v.version),
      static_cast<unsigned long long>(v.updates), q.precision, q.recall, q.f1, q.rolling_f1);
  std::isnan(q.rolling_roc_auc) ? std::printf("%14s\n", "-")
                                : std::printf("%14.4f\n", q.rolling_roc_auc);
  std::fflush(stdout);
}

/// Builds and runs the job on `readings`.
std::optional<outcome> run(const std::vector<sensor_reading>& readings,
                           const eddy::ml::logistic_regression& initial, double rate,
                           eddy::job_config cfg) {
  outcome o;
  eddy::job job{std::move(cfg)};
  // Readings and their labels come from two paced sources (replayable: a recovery resumes them
  // at their checkpointed positions).
  auto n = readings.size();
  auto rows =
      eddy::generator<indexed_reading>(n, [&readings](uint64_t i) {
        return indexed_reading{i, readings[i]};
      }).with_event_time([](const indexed_reading& x) { return x.r.reading * ms_per_reading; });
  auto label_rows = eddy::generator<eddy::ml::label>(n, [&readings](uint64_t i) {
                      return eddy::ml::label{i, readings[i].label};
                    }).with_event_time([&readings](const eddy::ml::label& l) {
    return readings[l.id].reading * ms_per_reading + label_delay;
  });
  if (rate > 0) {
    rows = rows.at_rate(rate);
    label_rows = label_rows.at_rate(rate);
  }
  auto read = job.source(rows).name("readings");
  auto known = job.source(label_rows).name("labels");
  auto raw = read.key_by([](const indexed_reading& x) { return x.r.mote_id; })
                 .process<eddy::ml::point>(mote_features{})
                 .name("features");
  auto points = eddy::ml::transform(raw, eddy::ml::standard_scaler{sensor_features::n_features})
                    .name("scaler");
  auto wait = eddy::ml::label_wait{}.within(label_wait);
  auto versions =
      eddy::ml::learn(
          eddy::ml::labelled(eddy::ml::await_labels(points, known, wait).name("join")), initial,
          eddy::ml::learner_options{}.every(publish_every).rolling_window(2'000).whole_run_auc())
          .name("learner");
  versions
      .sink([&o, n](const eddy::ml::model_version& v) {
        if (v.updates % 2'000 == 0 || v.updates == n)
          print_version(v);
        o.versions.push_back(v);
      })
      .name("versions");
  auto predictions = eddy::ml::score<eddy::ml::logistic_regression>(points.rebalance(), versions)
                         .name("scorer")
                         .parallelism(2);
  predictions.filter([](const eddy::ml::prediction& p) { return p.label == 1; })
      .sink([&o](const eddy::ml::prediction&) { ++o.alerts; })
      .name("alerts");
  eddy::ml::evaluate(eddy::ml::await_labels(predictions, known, wait).name("judge"),
                     eddy::ml::evaluation_options{}.every(5'000).whole_run_auc())
      .sink(eddy::collect(o.served))
      .name("served");
  auto report = job.run();
  if (!report) {
    std::fprintf(stderr, "anomaly_job: %s\n", eddy::describe(report.error()).c_str());
    return std::nullopt;
  }
  o.report = std::move(*report);
  return o;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Online anomaly detection on the sensor data, every stage an actor"};
  std::string data = "data/sensors/single_hop.csv";
  std::string faults_spec;
  std::string interval_spec = "20ms";
  double rate = 20'000;
  app.add_option("--data", data, "the sensor CSV file")->capture_default_str();
  app.add_option(
      "--faults", faults_spec,
      "faults to inject, e.g. \"crash:learner#0@after=9000; crash:scorer#1@after=6000\"");
  app.add_option("--checkpoint-interval", interval_spec, "time between checkpoints")
      ->capture_default_str();
  app.add_option("--rate", rate, "readings per second (0: as fast as it goes)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  auto faults = eddy::parse_fault_plan(faults_spec);
  auto interval = eddy::parse_duration(interval_spec);
  if (!faults || !interval) {
    std::fprintf(stderr, "%s\n",
                 eddy::describe(!faults ? faults.error() : interval.error()).c_str());
    return 2;
  }
  auto readings = eddy::examples::read_sensor_csv(data);
  if (!readings) {
    std::fprintf(stderr, "anomaly_job: %s\n(run from the repository root or pass --data)\n",
                 eddy::describe(readings.error()).c_str());
    return 1;
  }
  // scikit-learn's SGDClassifier(loss="log_loss") defaults, as in sensor_anomaly.cpp.
  auto initial = eddy::ml::logistic_regression::make(sensor_features::n_features);
  if (!initial) {
    std::fprintf(stderr, "anomaly_job: %s\n", eddy::describe(initial.error()).c_str());
    return 1;
  }
  auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
  auto checkpoints =
      std::filesystem::temp_directory_path() / ("eddy-anomaly-job-" + std::to_string(stamp));
  std::printf("%zu readings from %s; checkpoints every %s into %s%s%s\n", readings->size(),
              data.c_str(), eddy::to_duration_string(*interval).c_str(), checkpoints.c_str(),
              faults->empty() ? "" : "; faults: ", eddy::to_string(*faults).c_str());
  std::printf("%-11s %7s %9s %9s %9s %12s %14s\n", "model", "learned", "precision", "recall", "f1",
              "f1_last_2000", "auc_last_2000");
  auto result = run(*readings, *initial, rate,
                    eddy::job_config{}
                        .with_threads(2)
                        .with_checkpoints(checkpoints.string(), *interval)
                        .with_faults(*faults));
  std::filesystem::remove_all(checkpoints);
  if (!result)
    return 1;
  const auto& o = *result;
  if (!o.served.empty()) {
    const auto& s = o.served.back();
    std::printf("\nserved predictions (scored by the newest version each replica had): precision "
                "%.4f recall %.4f f1 %.4f roc_auc %.4f over %llu labelled, %llu without a label, "
                "newest version %llu; the models were %.0f s of event time old on average, at "
                "most %lld s\n",
                s.quality.precision, s.quality.recall, s.quality.f1, s.roc_auc,
                static_cast<unsigned long long>(s.quality.evaluated),
                static_cast<unsigned long long>(s.expired),
                static_cast<unsigned long long>(s.newest_version), s.mean_staleness / 1e3,
                static_cast<long long>(s.max_staleness / 1000));
  }
  std::printf("alerts: %llu predicted anomalies\n", static_cast<unsigned long long>(o.alerts));
  examples::print_recovery(o.report);
  for (const auto& d : o.report.dead_letters)
    std::printf("dead letter from %s: %s: %s\n", d.origin.c_str(), d.reason.c_str(),
                d.record.c_str());
  // The learner's figures against the plain loop's on the same readings.
  auto loop_model = *initial;
  auto loop = eddy::examples::run_sensor_anomaly(*readings, loop_model);
  if (!loop || o.versions.empty()) {
    std::fprintf(stderr, "anomaly_job: %s\n",
                 loop ? "the learner published no version" : eddy::describe(loop.error()).c_str());
    return 1;
  }
  const auto& q = o.versions.back().quality;
  const auto& m = loop->cumulative();
  bool same = q.evaluated == static_cast<uint64_t>(m.count()) && q.precision == m.precision() &&
              q.recall == m.recall() && q.f1 == m.f1() && q.roc_auc == m.roc_auc() &&
              q.rolling_f1 == loop->rolling().f1();
  std::printf("\nlearner (test-then-train, through actors): precision %.4f recall %.4f f1 %.4f "
              "roc_auc %.4f over %llu readings\n",
              q.precision, q.recall, q.f1, q.roc_auc, static_cast<unsigned long long>(q.evaluated));
  std::printf("plain loop (sensor_anomaly.cpp):            precision %.4f recall %.4f f1 %.4f "
              "roc_auc %.4f over %lld readings\n",
              m.precision(), m.recall(), m.f1(), m.roc_auc(), static_cast<long long>(m.count()));
  std::printf("the learner's figures %s the plain loop's\n", same ? "are exactly" : "DIFFER from");
  return same ? 0 : 1;
}
