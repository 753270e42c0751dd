// The multilayer perceptron on the sensor-anomaly features: prequential precision, recall, F1 and
// ROC AUC of eddy's mlp_classifier beside eddy's logistic regression and beside scikit-learn's
// MLPClassifier.partial_fit with the same layers, learning rate, momentum, penalty, mini-batch
// and initial weights (bench/ml/sklearn_mlp.py, through /usr/bin/python3); then the speed of
// scoring one record at a time against scoring a batch of records in one pass (matrix products),
// and of test-then-train against scikit-learn's.
//
// Checks, each in this run, failing the run when they do not hold:
// - scikit-learn reads the same records (rows, records of class 1 and the sum of the features);
// - its prequential figures equal eddy's within 1e-6, and its weights after the pass equal
//   eddy's within 1e-9 (the same steps from the same weights; sums in another order);
// - scoring a batch gives the same probabilities as scoring its records one by one (1e-12).
//
//   eddy_bench_ml_mlp [--data data/sensors/single_hop.csv] [--hidden 32] [--learning-rate 0.1]
//                     [--batch 10] [--score-passes 20] [--score-batch 256] [--no-python]
//                     [--python /usr/bin/python3] [--keep-files DIR]
#include "ml_bench.hpp"

#include <eddy/examples/ml/sensor_features.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>
#include <eddy/ml/neural_network/mlp.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using eddy::ml::matrix;
using eddy::ml::vector;

volatile double sink = 0.0;

struct figures {
  double precision = 0, recall = 0, f1 = 0, auc = 0;
};

figures of(const eddy::ml::binary_metrics& m) {
  return {m.precision(), m.recall(), m.f1(), m.roc_auc()};
}

void print(const char* who, const figures& f) {
  std::printf("  %-28s precision %.4f  recall %.4f  F1 %.4f  ROC AUC %.4f\n", who, f.precision,
              f.recall, f.f1, f.auc);
}

bool write_initial(const std::string& path, const eddy::ml::mlp_classifier& m) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (!out)
    return false;
  for (size_t l = 0; l < m.coefs().size(); ++l) {
    const auto& w = m.coefs()[l];
    std::fprintf(out, "coef %zu %ld %ld", l, static_cast<long>(w.rows()),
                 static_cast<long>(w.cols()));
    for (Eigen::Index i = 0; i < w.rows(); ++i)
      for (Eigen::Index j = 0; j < w.cols(); ++j)
        std::fprintf(out, " %.17g", w(i, j));
    std::fprintf(out, "\nintercept %zu %ld", l, static_cast<long>(m.intercepts()[l].size()));
    for (Eigen::Index j = 0; j < m.intercepts()[l].size(); ++j)
      std::fprintf(out, " %.17g", m.intercepts()[l][j]);
    std::fprintf(out, "\n");
  }
  return std::fclose(out) == 0;
}

/// The largest absolute difference between eddy's parameters and the "coef"/"intercept" lines of
/// the script's output; -1 when a line is missing or has the wrong size.
double weight_difference(const eddy::ml::mlp_classifier& m, const std::string& out) {
  double worst = 0;
  size_t seen = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string kind;
    size_t layer = 0;
    in >> kind >> layer;
    if ((kind != "coef" && kind != "intercept") || layer >= m.coefs().size())
      continue;
    std::vector<double> values;
    for (double v; in >> v;)
      values.push_back(v);
    if (kind == "coef") {
      const auto& w = m.coefs()[layer];
      if (values.size() != static_cast<size_t>(w.size()))
        return -1;
      for (Eigen::Index i = 0; i < w.rows(); ++i)
        for (Eigen::Index j = 0; j < w.cols(); ++j)
          worst =
              std::max(worst, std::abs(w(i, j) - values[static_cast<size_t>(i * w.cols() + j)]));
    } else {
      const auto& b = m.intercepts()[layer];
      if (values.size() != static_cast<size_t>(b.size()))
        return -1;
      for (Eigen::Index j = 0; j < b.size(); ++j)
        worst = std::max(worst, std::abs(b[j] - values[static_cast<size_t>(j)]));
    }
    ++seen;
  }
  return seen == 2 * m.coefs().size() ? worst : -1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"The MLP on the sensor features against logistic regression and scikit-learn"};
  std::string data = eddy::bench_ml::script_dir() + "/../../data/sensors/single_hop.csv";
  std::string hidden = "32";
  double learning_rate = 0.1;
  int batch = 10;
  int score_passes = 20;
  int score_batch = 256;
  bool no_python = std::getenv("EDDY_BENCH_NO_PYTHON") != nullptr;
  std::string python = "/usr/bin/python3";
  std::string keep;
  app.add_option("--data", data, "the sensor CSV");
  app.add_option("--hidden", hidden, "units per hidden layer, comma-separated");
  app.add_option("--learning-rate", learning_rate, "the SGD step size")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "records per mini-batch step")->check(CLI::Range(1, 100000));
  app.add_option("--score-passes", score_passes, "timed scoring passes over the records")
      ->check(CLI::Range(1, 100000));
  app.add_option("--score-batch", score_batch, "records per scored batch")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--no-python", no_python, "skip scikit-learn");
  app.add_option("--python", python, "the Python with scikit-learn");
  app.add_option("--keep-files", keep, "keep the files handed to scikit-learn here");
  CLI11_PARSE(app, argc, argv);

  auto readings = eddy::examples::read_sensor_csv(data);
  if (!readings) {
    std::fprintf(stderr, "mlp: %s\n", eddy::describe(readings.error()).c_str());
    return 1;
  }
  // The standardized features of every reading, in the order the learners see them.
  eddy::examples::sensor_features features;
  const Eigen::Index d = eddy::examples::sensor_features::n_features;
  matrix X(static_cast<Eigen::Index>(readings->size()), d);
  std::vector<int> y;
  vector x;
  for (size_t i = 0; i < readings->size(); ++i) {
    if (auto err = features.next((*readings)[i], x)) {
      std::fprintf(stderr, "mlp: %s\n", eddy::describe(err).c_str());
      return 1;
    }
    X.row(static_cast<Eigen::Index>(i)) = x.transpose();
    y.push_back((*readings)[i].label);
  }

  eddy::ml::mlp_config cfg;
  cfg.hidden.clear();
  std::istringstream units(hidden);
  for (std::string u; std::getline(units, u, ',');)
    cfg.hidden.push_back(std::atoi(u.c_str()));
  cfg.learning_rate = learning_rate;
  cfg.batch_size = batch;
  auto made = eddy::ml::mlp_classifier::make(d, cfg);
  if (!made) {
    std::fprintf(stderr, "mlp: %s\n", eddy::describe(made.error()).c_str());
    return 1;
  }
  const eddy::ml::mlp_classifier initial = *made;
  eddy::ml::mlp_classifier mlp = initial;
  eddy::ml::binary_metrics mlp_eval;
  auto start = clock_type::now();
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    x = X.row(i).transpose();
    mlp_eval.update(y[static_cast<size_t>(i)], mlp.proba_of_one(x));
    if (auto err = mlp.learn(x, y[static_cast<size_t>(i)])) {
      std::fprintf(stderr, "mlp: %s\n", eddy::describe(err).c_str());
      return 1;
    }
  }
  if (auto err = mlp.flush()) { // scikit-learn steps on its last, shorter chunk too
    std::fprintf(stderr, "mlp: %s\n", eddy::describe(err).c_str());
    return 1;
  }
  double train_seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  auto lr_model = eddy::ml::logistic_regression::make(d);
  auto lr_eval = eddy::examples::run_sensor_anomaly(*readings, *lr_model);
  if (!lr_eval) {
    std::fprintf(stderr, "mlp: %s\n", eddy::describe(lr_eval.error()).c_str());
    return 1;
  }
  std::printf("sensor anomaly features: %ld records, %ld features, hidden %s (ReLU), learning rate "
              "%g, momentum 0.9 (Nesterov), alpha 1e-4, mini-batch %d; test-then-train\n",
              static_cast<long>(X.rows()), static_cast<long>(d), hidden.c_str(), learning_rate,
              batch);
  print("eddy mlp_classifier", of(mlp_eval));
  print("eddy logistic_regression", of(lr_eval->cumulative()));
  bool ok = true;

  // Scoring: one record at a time, and batches of rows in one pass.
  double one_best = 0, rows_best = 0, worst_gap = 0;
  for (int run = 0; run < 3; ++run) {
    start = clock_type::now();
    double s = 0;
    for (int pass = 0; pass < score_passes; ++pass)
      for (Eigen::Index i = 0; i < X.rows(); ++i) {
        x = X.row(i).transpose();
        s += mlp.proba_of_one(x);
      }
    double one = static_cast<double>(X.rows()) * score_passes /
                 std::chrono::duration<double>(clock_type::now() - start).count();
    start = clock_type::now();
    double s2 = 0;
    for (int pass = 0; pass < score_passes; ++pass)
      for (Eigen::Index lo = 0; lo < X.rows(); lo += score_batch) {
        auto n = std::min<Eigen::Index>(score_batch, X.rows() - lo);
        s2 += mlp.proba_of_one_rows(X.middleRows(lo, n)).sum();
      }
    double rows = static_cast<double>(X.rows()) * score_passes /
                  std::chrono::duration<double>(clock_type::now() - start).count();
    sink = sink + s + s2;
    one_best = std::max(one_best, one);
    rows_best = std::max(rows_best, rows);
  }
  vector all = mlp.proba_of_one_rows(X);
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    worst_gap = std::max(worst_gap, std::abs(all[i] - mlp.proba_of_one(X.row(i).transpose())));
  std::printf("scoring (best of 3): one record at a time %.3g records/s; batches of %d rows "
              "%.3g records/s (%.2fx); largest difference %.2g\n",
              one_best, score_batch, rows_best, rows_best / one_best, worst_gap);
  if (!(worst_gap <= 1e-12)) {
    std::printf("FAILED: batch scoring differs from one-by-one scoring\n");
    ok = false;
  }

  if (no_python) {
    std::printf("scikit-learn: skipped (--no-python)\n");
    return ok ? 0 : 1;
  }
  eddy::bench_ml::bench_files files{"mlp", keep};
  auto features_path = files.path("sensor_features.csv");
  auto initial_path = files.path("initial_weights.txt");
  eddy::ml::labels labels(X.rows());
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    labels[i] = y[static_cast<size_t>(i)];
  if (!eddy::bench_ml::write_features_csv(features_path, X, labels, matrix(0, d),
                                          eddy::ml::labels(0)) ||
      !write_initial(initial_path, initial)) {
    std::fprintf(stderr, "mlp: cannot write the files for scikit-learn\n");
    return 1;
  }
  char args[256];
  std::snprintf(args, sizeof args, " --hidden %s --learning-rate %.17g --batch %d", hidden.c_str(),
                learning_rate, batch);
  auto out = eddy::bench_ml::run_command(
      eddy::bench_ml::quote(python) + " " +
      eddy::bench_ml::quote(eddy::bench_ml::script_dir() + "/sklearn_mlp.py") + " " +
      eddy::bench_ml::quote(features_path) + " " + eddy::bench_ml::quote(initial_path) + args);
  if (!out) {
    std::printf("FAILED: %s bench/ml/sklearn_mlp.py did not run (is python3-sklearn installed? "
                "--no-python skips it)\n",
                python.c_str());
    return 1;
  }
  long rows = 0, positives = 0;
  double feature_sum = 0;
  figures theirs;
  double rate = 0;
  std::istringstream lines(*out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("data ", 0) == 0)
      std::sscanf(line.c_str(), "data %ld %ld %lf", &rows, &positives, &feature_sum);
    else if (line.rfind("figures ", 0) == 0)
      std::sscanf(line.c_str(), "figures %lf %lf %lf %lf", &theirs.precision, &theirs.recall,
                  &theirs.f1, &theirs.auc);
    else if (line.rfind("rate ", 0) == 0)
      std::sscanf(line.c_str(), "rate %lf", &rate);
  }
  long my_positives = std::count(y.begin(), y.end(), 1);
  if (rows != X.rows() || positives != my_positives ||
      std::abs(feature_sum - X.sum()) > 1e-6 * std::max(1.0, std::abs(X.sum()))) {
    std::printf("FAILED: scikit-learn read %ld rows, %ld of class 1, feature sum %.9f; eddy has "
                "%ld, %ld, %.9f\n",
                rows, positives, feature_sum, static_cast<long>(X.rows()), my_positives, X.sum());
    return 1;
  }
  print("scikit-learn MLPClassifier", theirs);
  auto mine = of(mlp_eval);
  double gap =
      std::max({std::abs(mine.precision - theirs.precision), std::abs(mine.recall - theirs.recall),
                std::abs(mine.f1 - theirs.f1), std::abs(mine.auc - theirs.auc)});
  double weights = weight_difference(mlp, *out);
  std::printf("eddy vs scikit-learn: largest difference of the figures %.2g, of the weights after "
              "the pass %.2g\n",
              gap, weights);
  if (!(gap <= 1e-6) || !(weights >= 0 && weights <= 1e-9)) {
    std::printf("FAILED: eddy's MLP does not learn what scikit-learn's does from the same start\n");
    ok = false;
  }
  double eddy_rate = static_cast<double>(X.rows()) / train_seconds;
  std::printf("test-then-train: eddy %.3g records/s (one record at a time), scikit-learn %.3g "
              "records/s (predict_proba + partial_fit per mini-batch): eddy %.1fx\n",
              eddy_rate, rate, eddy_rate / rate);
  return ok ? 0 : 1;
}
