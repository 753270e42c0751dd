// Trees benchmark.
//
// 1. Streams: records/s learned by the Hoeffding tree and the adaptive random forest, as a ratio
//    against a Gaussian naive Bayes-style statistics update run in the same process, and the
//    memory of each model after the stream (walked, in bytes). SEA (3 features) and the rotating
//    hyperplane (10 features), drifts after each quarter, seed 1.
// 2. Batch: eddy's random_forest (100 trees) and a single unpruned decision_tree beside
//    scikit-learn's RandomForestClassifier and DecisionTreeClassifier on the same rows, which this
//    program writes to CSV files that bench/ml/sklearn_forest.py reads: the sensor split
//    (examples/ml/sensor_split.hpp), where one tree already scores as well as the forest, and a
//    noisy data set where a forest must beat one tree (the hyperplane without drift: 10 features of
//    small weight each, 20 % of the labels flipped; 3,000 training and 1,000 test rows).
//
//   eddy_bench_ml_trees [--records 1000000] [--seeds 10] [--data data/sensors/single_hop.csv]
//                       [--no-python] [--python /usr/bin/python3] [--keep-files DIR]
//
// Run from the repository root (or give --data). The memory figures of section 1 are checked
// against the reference in bench/ml/README.md when --records is 1,000,000 and the build is the
// reference one (Release without -march=native; the run fails when they differ); otherwise the
// run says "reference not checked" and why.
#include "../cli.hpp"
#include "ml_bench.hpp"

#include <eddy/examples/ml/sensor_split.hpp>
#include <eddy/ml/datasets/synthetic_streams.hpp>
#include <eddy/ml/ensemble/adaptive_random_forest.hpp>
#include <eddy/ml/ensemble/random_forest.hpp>
#include <eddy/ml/tree/decision_tree.hpp>
#include <eddy/ml/tree/hoeffding_tree.hpp>
#include <eddy/ml/tree/tree_stats.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace eddy::ml;
using eddy::examples::f1_of_class;
using eddy::examples::read_sensor_split;
using clock_type = std::chrono::steady_clock;

/// The stream length of the reference figures in bench/ml/README.md.
constexpr std::int64_t reference_records = 1'000'000;

/// Memory after the reference stream, in bytes (bench/ml/README.md): SEA Hoeffding tree, SEA
/// adaptive random forest, hyperplane Hoeffding tree, hyperplane adaptive random forest.
constexpr std::size_t reference_memory[4] = {58'680, 6'925'960, 342'968, 20'960'904};

/// The baseline: per-class Gaussian statistics of every feature (a naive Bayes learn step).
double baseline_rate(const std::vector<labelled_record>& records, std::size_t d) {
  std::vector<gaussian_estimator> stats(2 * d);
  auto start = clock_type::now();
  for (const auto& r : records)
    for (std::size_t f = 0; f < d; ++f)
      stats[f * 2 + static_cast<std::size_t>(r.y)].add(r.x[static_cast<Eigen::Index>(f)], 1.0);
  const double s = eddy::bench::seconds_since(start);
  volatile double sink = stats[0].mean; // keeps the loop
  (void)sink;
  return static_cast<double>(records.size()) / s;
}

/// Learns `records` with `model`, prints its row, returns its memory in bytes.
template <class Model>
std::size_t run(const char* name, Model model, const std::vector<labelled_record>& records,
                double baseline) {
  auto start = clock_type::now();
  for (const auto& r : records)
    (void)model.learn(r.x, r.y);
  const double rate = static_cast<double>(records.size()) / eddy::bench::seconds_since(start);
  std::printf("| %-24s | %10.0f | %8.4f | %12zu |\n", name, rate, rate / baseline,
              model.memory_bytes());
  return model.memory_bytes();
}

/// Runs section 1 on one stream; appends the memory of the tree and the forest to `memory`.
template <class Generator, class Config>
void stream_bench(const char* name, Config cfg, std::size_t n, std::size_t d,
                  std::vector<std::size_t>& memory) {
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
  memory.push_back(run("Hoeffding tree", *hoeffding_tree::make(d, 2), records, baseline));
  memory.push_back(
      run("adaptive random forest", *adaptive_random_forest::make(d, 2), records, baseline));
}

/// F1 of class 1 and accuracy of one model on the test rows.
struct quality {
  double f1 = 0, accuracy = 0;
};

template <class Model>
quality score(const Model& model, const matrix& x, const labels& y) {
  double right = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    right += model.predict(x.row(i).transpose()) == y[i];
  return {f1_of_class(model, x, y, 1), right / static_cast<double>(x.rows())};
}

/// A batch data set: training and test rows.
struct batch_data {
  matrix train_x, test_x;
  labels train_y, test_y;
};

/// The noisy data set of section 2 (tests/ml/ensemble/random_forest_test.cpp asserts on the same
/// one).
batch_data noisy_data() {
  hyperplane_config cfg;
  cfg.seed = 1;
  cfg.n_features = 10;
  cfg.drift_points = {};
  cfg.noise = 0.2;
  hyperplane_generator g{cfg};
  batch_data d;
  draw_batch(g, 3'000, d.train_x, d.train_y);
  draw_batch(g, 1'000, d.test_x, d.test_y);
  return d;
}

/// Parses "<name> f1 <x> accuracy <y>" from the output of sklearn_forest.py.
std::optional<quality> parse_sklearn(const std::string& out, const std::string& name) {
  std::istringstream lines{out};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in{line};
    std::string first, f1_word, accuracy_word;
    quality q;
    if (in >> first >> f1_word >> q.f1 >> accuracy_word >> q.accuracy && first == name &&
        f1_word == "f1" && accuracy_word == "accuracy")
      return q;
  }
  return std::nullopt;
}

/// Options of one run.
struct options {
  std::int64_t records = reference_records;
  std::int64_t seeds = 10;
  std::string data = "data/sensors/single_hop.csv";
  bool no_python = false;
  std::string python = "/usr/bin/python3";
  std::string keep_files;
};

/// Runs section 2 on one data set: eddy's forest and single tree over the seeds, then
/// scikit-learn's on the same file. False when scikit-learn ran and eddy's accuracy differs from
/// it by more than 0.02 for the forest or the tree.
bool batch_bench(const char* name, const batch_data& d, const std::string& csv,
                 const options& opt) {
  std::printf("\n%s: train %ld rows (%d of class 1), test %ld rows (%d of class 1), %ld "
              "features; mean over seeds 0..%ld\n\n",
              name, static_cast<long>(d.train_y.size()), d.train_y.sum(),
              static_cast<long>(d.test_y.size()), d.test_y.sum(),
              static_cast<long>(d.train_x.cols()), static_cast<long>(opt.seeds - 1));
  quality forest, tree;
  double fit_seconds = 0;
  const auto n = static_cast<double>(opt.seeds);
  for (std::int64_t seed = 0; seed < opt.seeds; ++seed) {
    random_forest_config fc;
    fc.seed = static_cast<std::uint64_t>(seed);
    auto f = *random_forest::make(fc);
    auto start = clock_type::now();
    if (auto err = f.fit(d.train_x, d.train_y)) {
      std::fprintf(stderr, "fit failed: %s\n", eddy::describe(err).c_str());
      std::exit(1);
    }
    fit_seconds += eddy::bench::seconds_since(start);
    auto q = score(f, d.test_x, d.test_y);
    forest.f1 += q.f1 / n;
    forest.accuracy += q.accuracy / n;
    decision_tree_config tc;
    tc.seed = static_cast<std::uint64_t>(seed);
    auto t = *decision_tree::make(tc);
    if (auto err = t.fit(d.train_x, d.train_y)) {
      std::fprintf(stderr, "fit failed: %s\n", eddy::describe(err).c_str());
      std::exit(1);
    }
    q = score(t, d.test_x, d.test_y);
    tree.f1 += q.f1 / n;
    tree.accuracy += q.accuracy / n;
  }
  std::optional<quality> sk_forest, sk_tree;
  std::string why = "skipped (--no-python)";
  if (!opt.no_python) {
    auto out = eddy::bench_ml::run_command(
        eddy::bench_ml::quote(opt.python) + " " +
        eddy::bench_ml::quote(eddy::bench_ml::script_dir() + "/sklearn_forest.py") + " " +
        eddy::bench_ml::quote(csv) + " --seeds " + std::to_string(opt.seeds) + " 2>&1");
    if (out) {
      sk_forest = parse_sklearn(*out, "forest");
      sk_tree = parse_sklearn(*out, "tree");
    }
    if (!sk_forest || !sk_tree)
      why = "failed (no " + opt.python + " with scikit-learn?)";
  }
  auto sk = [](const std::optional<quality>& q, double quality::*field) {
    char text[32] = "-";
    if (q)
      std::snprintf(text, sizeof text, "%.4f", (*q).*field);
    return std::string{text};
  };
  std::printf("| model | eddy F1 | scikit-learn F1 | eddy accuracy | scikit-learn accuracy |\n");
  std::printf("|---|---|---|---|---|\n");
  std::printf("| random forest (100 trees) | %.4f | %s | %.4f | %s |\n", forest.f1,
              sk(sk_forest, &quality::f1).c_str(), forest.accuracy,
              sk(sk_forest, &quality::accuracy).c_str());
  std::printf("| single decision tree | %.4f | %s | %.4f | %s |\n", tree.f1,
              sk(sk_tree, &quality::f1).c_str(), tree.accuracy,
              sk(sk_tree, &quality::accuracy).c_str());
  std::printf("forest minus tree, accuracy: eddy %+.4f", forest.accuracy - tree.accuracy);
  if (sk_forest && sk_tree)
    std::printf(", scikit-learn %+.4f\n", sk_forest->accuracy - sk_tree->accuracy);
  else
    std::printf("; scikit-learn %s\n", why.c_str());
  std::printf("eddy forest: %.2f s per fit; data file %s%s\n", fit_seconds / n, csv.c_str(),
              opt.keep_files.empty() ? " (removed at exit; --keep-files DIR keeps it)" : "");
  if (!sk_forest || !sk_tree)
    return true;
  bool close = std::abs(forest.accuracy - sk_forest->accuracy) <= 0.02 &&
               std::abs(tree.accuracy - sk_tree->accuracy) <= 0.02;
  if (!close)
    std::printf("eddy's accuracy DIFFERS from scikit-learn's by more than 0.02\n");
  return close;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trees benchmark: stream learners' speed and memory, batch forest vs. one tree "
               "against scikit-learn"};
  options opt;
  app.add_option("--records", opt.records, "records per stream in section 1")
      ->check(CLI::Range(std::int64_t{4}, std::int64_t{1'000'000'000}))
      ->capture_default_str();
  app.add_option("--seeds", opt.seeds, "seeds per batch model in section 2")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000}))
      ->capture_default_str();
  app.add_option("--data", opt.data, "the sensor CSV file")->capture_default_str();
  app.add_flag("--no-python", opt.no_python, "skip scikit-learn");
  app.add_option("--python", opt.python, "the Python with scikit-learn")->capture_default_str();
  app.add_option("--keep-files", opt.keep_files,
                 "write the data files into this directory and keep them (default: a temporary "
                 "directory, removed)");
  CLI11_PARSE(app, argc, argv);

  auto loaded = read_sensor_split(opt.data);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", eddy::describe(loaded.error()).c_str());
    return 1;
  }
  const auto n = static_cast<std::size_t>(opt.records);
  std::vector<std::size_t> memory;
  sea_config sea;
  sea.concept_length = n / 4;
  stream_bench<sea_generator>("SEA", sea, n, 3, memory);
  hyperplane_config hyperplane;
  hyperplane.drift_points = {n / 4, n / 2, 3 * n / 4};
  stream_bench<hyperplane_generator>("Rotating hyperplane", hyperplane, n, 10, memory);
  bool failed = false;
  std::printf("\n");
  if (eddy::bench_ml::reference_checkable("memory", opt.records, reference_records, "records")) {
    const bool same = std::equal(memory.begin(), memory.end(), std::begin(reference_memory));
    std::printf("memory after %lld records: %s\n", static_cast<long long>(reference_records),
                same ? "matches the reference (bench/ml/README.md)"
                     : "DIFFERS from the reference (bench/ml/README.md)");
    failed = !same;
  }

  eddy::bench_ml::bench_files files{"trees", opt.keep_files};
  const batch_data sensor{loaded->train_x, loaded->test_x, loaded->train_y, loaded->test_y};
  const auto noisy = noisy_data();
  for (auto [name, data, file] :
       {std::tuple{"Sensor split (" + opt.data + ")", &sensor, files.path("sensor_split.csv")},
        std::tuple{std::string{"Noisy hyperplane"}, &noisy, files.path("noisy_hyperplane.csv")}}) {
    if (!eddy::bench_ml::write_features_csv(file, data->train_x, data->train_y, data->test_x,
                                            data->test_y)) {
      std::fprintf(stderr, "cannot write %s\n", file.c_str());
      return 1;
    }
    if (!batch_bench(name.c_str(), *data, file, opt))
      failed = true;
  }
  return failed ? 1 : 0;
}
