// Drift through actors: does the model registry recover accuracy faster than the model alone?
// On SEA concepts (3 features, drifts at 25k, 50k, 75k, 10 % noise) and on a rotating hyperplane
// (10 features, the weights redrawn at the same points, 5 % noise), 100,000 records each: a
// learner "model" (logistic regression, or Gaussian naive Bayes with --model nb) with a drift
// detector, and "fresh" that starts again at each drift it detects, both learning from the
// labelled stream; a registry serving "model" with "fresh" as its background model (promoted
// after a drift, and prefer_better(0.01): the better of the two by rolling accuracy); two pairs
// of scoring replicas score the same records, one with the model's versions (the model alone),
// one with the registry's. Every source runs at --rate records/s, as a live stream. The predictions
// of each are judged against the labels (await_labels + evaluate). Prints both accuracy curves
// (each point: the last 2,500 predictions judged) and the mean accuracy over the 10,000 records
// after each drift.
//
// Which version scores a record depends on when each arrived (the learners race the scorers), so
// the curves vary a little from run to run; the checks do not: every record judged once on each
// side, no dead letter.
//
//   eddy_bench_registry_drift [--records 100000] [--every 500] [--rate 50000] [--model lr|nb]
#include "cli.hpp"

#include <eddy/ml/datasets/synthetic_streams.hpp>
#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/naive_bayes/naive_bayes.hpp>
#include <eddy/ml/operators/await_labels.hpp>
#include <eddy/ml/operators/evaluate.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/ml/operators/registry.hpp>
#include <eddy/ml/operators/score.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace eddy;

namespace {

constexpr uint64_t report_every = 2'500;

/// The records of a stream, as labelled points with ids 0, 1, ...
using records = std::vector<ml::labelled_point>;

template <class Generator>
records draw(Generator generator, uint64_t n) {
  records out;
  for (uint64_t i = 0; i < n; ++i) {
    auto r = generator.next();
    out.push_back(
        ml::labelled_point{i, std::vector<double>(r.x.data(), r.x.data() + r.x.size()), r.y});
  }
  return out;
}

struct curves {
  std::vector<ml::evaluation> alone;
  std::vector<ml::evaluation> registry;
  std::vector<ml::model_version> served;
  std::vector<ml::model_version> learned;
};

template <class Model>
std::optional<curves> run(const std::shared_ptr<const records>& data, uint64_t every, double rate) {
  // Every source at the same rate, as a live stream: the learners keep up, so what a replica
  // serves is as old as the versions' interval and the way through the job make it.
  curves c;
  auto n = data->size();
  auto n_features = static_cast<Eigen::Index>(data->front().x.size());
  job j{job_config{}.with_threads(2)};
  auto at = [](const auto& x) { return static_cast<timestamp>(x.id); };
  auto labelled =
      j.source(generator<ml::labelled_point>(n, [data](uint64_t i) { return (*data)[i]; })
                   .with_event_time(at)
                   .at_rate(rate))
          .name("labelled");
  auto initial = Model::make(n_features);
  if (!initial)
    return std::nullopt;
  auto options = ml::learner_options{}.every(every).rolling_window(1'000);
  auto alone =
      ml::learn(labelled, *initial, ml::learner_options{options}.detect_drift()).name("model");
  auto fresh = ml::learn(labelled, *initial, ml::learner_options{options}.restart_after_drift())
                   .name("fresh");
  auto served =
      ml::registry(
          alone.union_with(fresh),
          ml::registry_options{}.serve("model").with_background("fresh").prefer_better(0.01))
          .name("registry");
  served.sink(collect(c.served));
  alone.union_with(fresh).sink(collect(c.learned));
  auto judge = [&](const stream<ml::model_version>& versions, const char* name,
                   std::vector<ml::evaluation>& out) {
    auto points = j.source(generator<ml::point>(n,
                                                [data](uint64_t i) {
                                                  return ml::point{i, (*data)[i].x};
                                                })
                               .with_event_time(at)
                               .at_rate(rate));
    auto labels = j.source(generator<ml::label>(n,
                                                [data](uint64_t i) {
                                                  return ml::label{i, (*data)[i].y};
                                                })
                               .with_event_time(at)
                               .at_rate(rate));
    // The points race the learners: a replica keeps them (all, if need be) until the first
    // version arrives.
    auto predictions =
        ml::score<Model>(points.rebalance(), versions,
                         ml::scorer_options<Model>{}.buffer_up_to(static_cast<size_t>(n)))
            .name(name)
            .parallelism(2);
    // Kept points come out late in event time: their labels wait the whole stream.
    ml::evaluate(ml::await_labels(predictions, labels, ml::label_wait{}.within(timestamp(n))),
                 ml::evaluation_options{}.every(report_every).rolling_window(report_every))
        .sink(collect(out));
  };
  judge(alone, "alone", c.alone);
  judge(served, "served", c.registry);
  auto report = bench::timed_run(j);
  if (!report)
    return std::nullopt;
  if (!report->first.dead_letters.empty()) {
    std::printf("MISMATCH: %zu dead letters, the first: %s\n", report->first.dead_letters.size(),
                report->first.dead_letters.front().reason.c_str());
    return std::nullopt;
  }
  return c;
}

/// Mean of the rolling accuracies reported within (from, from + span].
double mean_after(const std::vector<ml::evaluation>& curve, uint64_t from, uint64_t span) {
  double sum = 0;
  int k = 0;
  for (const auto& e : curve)
    if (e.quality.evaluated > from && e.quality.evaluated <= from + span) {
      sum += e.quality.rolling_accuracy;
      ++k;
    }
  return k > 0 ? sum / k : 0.0;
}

template <class Model>
bool report(const char* title, const records& data, uint64_t every, double rate,
            const std::vector<size_t>& drifts) {
  auto c = run<Model>(std::make_shared<const records>(data), every, rate);
  if (!c)
    return false;
  std::printf("\n%s: %zu records, drifts at", title, data.size());
  for (auto d : drifts)
    std::printf(" %zu", d);
  std::printf("\n%8s %12s %12s\n", "records", "model alone", "registry");
  size_t rows = std::min(c->alone.size(), c->registry.size());
  for (size_t k = 0; k < rows; ++k) {
    std::printf("%8llu %12.4f %12.4f",
                static_cast<unsigned long long>(c->alone[k].quality.evaluated),
                c->alone[k].quality.rolling_accuracy, c->registry[k].quality.rolling_accuracy);
    if (std::getenv("EDDY_BENCH_VERBOSE"))
      std::printf("   staleness %.0f / %.0f, newest %llu / %llu", c->alone[k].mean_staleness,
                  c->registry[k].mean_staleness,
                  static_cast<unsigned long long>(c->alone[k].newest_version),
                  static_cast<unsigned long long>(c->registry[k].newest_version));
    std::printf("\n");
  }
  for (auto d : drifts)
    std::printf("after the drift at %zu (10,000 records): model alone %.4f, registry %.4f\n", d,
                mean_after(c->alone, d, 10'000), mean_after(c->registry, d, 10'000));
  std::printf("whole run: model alone %.4f, registry %.4f; the registry served %zu versions:",
              c->alone.back().quality.accuracy, c->registry.back().quality.accuracy,
              c->served.size());
  size_t promotions = 0, switches = 0;
  for (const auto& v : c->served) {
    promotions += v.reason.rfind("promoted", 0) == 0;
    switches += v.reason.rfind("switched", 0) == 0;
  }
  std::printf(" %zu promotions after a drift, %zu switches to the better model\n", promotions,
              switches);
  for (const auto& v : c->learned)
    if (v.updates == data.size())
      std::printf("%s: %llu drifts detected, final rolling accuracy %.4f\n", v.model.c_str(),
                  static_cast<unsigned long long>(v.quality.drifts), v.quality.rolling_accuracy);
  if (std::getenv("EDDY_BENCH_VERBOSE"))
    for (const auto& v : c->learned)
      std::printf("  %s v%llu drifts %llu rolling %.4f\n", v.model.c_str(),
                  static_cast<unsigned long long>(v.version),
                  static_cast<unsigned long long>(v.quality.drifts), v.quality.rolling_accuracy);
  bool ok = c->alone.back().quality.evaluated == data.size() &&
            c->registry.back().quality.evaluated == data.size();
  if (!ok)
    std::printf("MISMATCH: not every record was judged once on each side\n");
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  uint64_t n = 100'000;
  uint64_t every = 500;
  double rate = 50'000;
  std::string model = "lr";
  CLI::App app{"accuracy through drift: the model alone against the registry's choice"};
  app.add_option("--records", n, "records per stream")
      ->capture_default_str()
      ->check(bench::whole_number(1'000, 10'000'000));
  app.add_option("--every", every, "updates between versions")
      ->capture_default_str()
      ->check(bench::whole_number(1, 1'000'000));
  app.add_option("--model", model, "lr (logistic regression) or nb (Gaussian naive Bayes)")
      ->capture_default_str()
      ->check(CLI::IsMember({"lr", "nb"}));
  app.add_option("--rate", rate, "records per second of each source")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  ml::sea_config sea;
  sea.concept_length = n / 4;
  ml::hyperplane_config plane;
  plane.drift_points = {n / 4, n / 2, 3 * n / 4};
  std::vector<size_t> drifts = {n / 4, n / 2, 3 * n / 4};
  auto both = [&](auto model) {
    using Model = decltype(model);
    bool ok = report<Model>("SEA concepts", draw(ml::sea_generator{sea}, n), every, rate, drifts);
    return report<Model>("rotating hyperplane", draw(ml::hyperplane_generator{plane}, n), every,
                         rate, drifts) &&
           ok;
  };
  bool ok = model == "nb" ? both(ml::gaussian_naive_bayes{}) : both(ml::logistic_regression{});
  return ok ? 0 : 1;
}
