// Trees benchmark: records/s learned by the Hoeffding tree and the adaptive random forest, as a
// ratio against a Gaussian naive Bayes-style statistics update run in the same process; the
// memory of each model after one million records (walked, in bytes); and the batch random
// forest's F1 on the sensor data next to scikit-learn's (bench/ml/sklearn_forest.py).
//
//   build/ml-b/bench/eddy_bench_ml_trees [records] [data/sensors/single_hop.csv]
//
// Run from the repository root. Streams: SEA (3 features, drifts after each quarter) and the
// rotating hyperplane (10 features, same drift points), seed 1.
#include <eddy/ml/adaptive_random_forest.hpp>
#include <eddy/ml/hoeffding_tree.hpp>
#include <eddy/ml/random_forest.hpp>
#include <eddy/ml/sensor_split.hpp>
#include <eddy/ml/synthetic_streams.hpp>
#include <eddy/ml/tree_stats.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace eddy::ml;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// The baseline: per-class Gaussian statistics of every feature (a naive Bayes learn step).
double baseline_rate(const std::vector<labelled_record>& records, std::size_t d) {
  std::vector<gaussian_estimator> stats(2 * d);
  auto start = clock_type::now();
  for (const auto& r : records)
    for (std::size_t f = 0; f < d; ++f)
      stats[f * 2 + static_cast<std::size_t>(r.y)].add(r.x[static_cast<Eigen::Index>(f)], 1.0);
  const double s = seconds_since(start);
  volatile double sink = stats[0].mean; // keeps the loop
  (void)sink;
  return static_cast<double>(records.size()) / s;
}

template <class Model>
void run(const char* name, Model model, const std::vector<labelled_record>& records,
         double baseline) {
  auto start = clock_type::now();
  for (const auto& r : records)
    (void)model.learn(r.x, r.y);
  const double rate = static_cast<double>(records.size()) / seconds_since(start);
  std::printf("| %-24s | %10.0f | %8.4f | %12zu |\n", name, rate, rate / baseline,
              model.memory_bytes());
}

template <class Generator, class Config>
void stream_bench(const char* name, Config cfg, std::size_t n, std::size_t d) {
  Generator g{cfg};
  std::vector<labelled_record> records;
  for (std::size_t i = 0; i < n; ++i)
    records.push_back(g.next());
  const double baseline = baseline_rate(records, d);
  std::printf("\n%s, %zu records, %zu features\n\n", name, n, d);
  std::printf("| learner                  | records/s  | vs. NB   | memory bytes |\n");
  std::printf("|---|---|---|---|\n");
  std::printf("| %-24s | %10.0f | %8.4f | %12zu |\n", "baseline: Gaussian stats", baseline, 1.0,
              2 * d * sizeof(gaussian_estimator));
  run("Hoeffding tree", *hoeffding_tree::make(d, 2), records, baseline);
  run("adaptive random forest", *adaptive_random_forest::make(d, 2), records, baseline);
}

/// The sensor data with the features and split of bench/ml/sklearn_forest.py.
} // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1'000'000;
  const std::string path = argc > 2 ? argv[2] : "data/sensors/single_hop.csv";
  sea_config sea;
  sea.concept_length = n / 4;
  stream_bench<sea_generator>("SEA", sea, n, 3);
  hyperplane_config hyperplane;
  hyperplane.drift_points = {n / 4, n / 2, 3 * n / 4};
  stream_bench<hyperplane_generator>("Rotating hyperplane", hyperplane, n, 10);

  auto loaded = eddy::ml::read_sensor_split(path);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", eddy::describe(loaded.error()).c_str());
    return 1;
  }
  auto& data = *loaded;
  std::printf("\nSensor data (%s): train %ld rows, test %ld rows (%d anomalies)\n\n", path.c_str(),
              static_cast<long>(data.train_y.size()), static_cast<long>(data.test_y.size()),
              data.test_y.sum());
  double f1_sum = 0, fit_seconds = 0;
  std::printf("per seed F1:");
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    random_forest_config cfg;
    cfg.seed = seed;
    auto forest = *random_forest::make(cfg);
    auto start = clock_type::now();
    if (auto err = forest.fit(data.train_x, data.train_y)) {
      std::fprintf(stderr, "fit failed: %s\n", eddy::describe(err).c_str());
      return 1;
    }
    fit_seconds += seconds_since(start);
    const double f1 = eddy::ml::f1_of_class(forest, data.test_x, data.test_y, 1);
    f1_sum += f1;
    std::printf(" %.4f", f1);
  }
  std::printf("\neddy random forest: F1 %.4f (mean of seeds 0..9, 100 trees), %.2f s per fit\n",
              f1_sum / 10, fit_seconds / 10);
  return 0;
}
