// Logistic-regression updates per second on 16 dense features, one core: eddy's learner (input
// checks included) against the same SGD update written as a plain loop over arrays, and
// scikit-learn's SGDClassifier.partial_fit per record (bench/ml/sklearn_logistic.py, through
// /usr/bin/python3). Prints updates/s and the ratios. Target: >= 10 million updates/s for eddy.
//
// Checks, each in this run, failing the run when they do not hold:
// - eddy's learner and the plain loop end the timed updates with the same weights (the max
//   absolute difference is printed; they sum w . x in different orders, so it is ~1e-12, not 0);
// - scikit-learn reads the same records (this program writes them to a CSV file that the script
//   reads; rows, labels and the sum of the features are compared) and, learning them
//   test-then-train in the same order, scores the same prequential accuracy within 0.01. The
//   weights themselves are printed, not compared: scikit-learn rounds differently (it keeps w as
//   a scale times a vector, and takes the log-loss gradient as -y beyond |z| > 18), and the
//   large early steps of learning_rate "optimal" let such 1e-16 differences grow to O(1) over a
//   pass of this data (bench/ml/README.md).
//
//   eddy_bench_ml_logistic_regression [--updates 20000000] [--check-updates 4096]
//                                     [--sklearn-updates 20000] [--no-python]
//                                     [--python /usr/bin/python3] [--keep-files DIR]
//   EDDY_BENCH_NO_PYTHON=1 ...   # the same as --no-python
#include "ml_bench.hpp"

#include <eddy/ml/linear_model/logistic_regression.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int n_features = 16;
constexpr int n_records = 4096;
volatile double sink = 0.0;

/// The largest difference allowed between eddy's and the plain loop's weights: the same updates,
/// w . x summed in a different order.
constexpr double tolerance = 1e-9;

/// The largest difference allowed between eddy's and scikit-learn's prequential accuracy.
constexpr double accuracy_tolerance = 0.01;

struct data_set {
  std::vector<eddy::ml::vector> xs;
  std::vector<double> flat; // the same records, row after row
  std::vector<int> ys;
};

/// 4096 records of 16 standard normal features; label 1 when
/// sum_j (j % 3 == 0 ? 1 : -0.5) x_j + 0.3 * noise > 0. Seed 42.
data_set make_data() {
  data_set d;
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  for (int i = 0; i < n_records; ++i) {
    eddy::ml::vector x(n_features);
    double s = 0.0;
    for (int j = 0; j < n_features; ++j) {
      x[j] = normal(rng);
      s += (j % 3 == 0 ? 1.0 : -0.5) * x[j];
      d.flat.push_back(x[j]);
    }
    d.ys.push_back(s + 0.3 * normal(rng) > 0 ? 1 : 0);
    d.xs.push_back(std::move(x));
  }
  return d;
}

/// Writes the records as a CSV (header x0,...,x15,y) with 17 significant digits.
bool write_csv(const data_set& d, const std::string& path) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (!out)
    return false;
  for (int j = 0; j < n_features; ++j)
    std::fprintf(out, "x%d,", j);
  std::fprintf(out, "y\n");
  for (int i = 0; i < n_records; ++i) {
    for (int j = 0; j < n_features; ++j)
      std::fprintf(out, "%.17g,", d.flat[static_cast<std::size_t>(i * n_features + j)]);
    std::fprintf(out, "%d\n", d.ys[static_cast<std::size_t>(i)]);
  }
  return std::fclose(out) == 0;
}

/// Weights and intercept at the end of a run.
struct linear_state {
  std::vector<double> w = std::vector<double>(n_features, 0.0);
  double b = 0.0;
};

/// The largest absolute difference between two states' weights and intercepts.
double max_abs_difference(const linear_state& a, const linear_state& b) {
  double d = std::abs(a.b - b.b);
  for (int j = 0; j < n_features; ++j)
    d = std::max(d, std::abs(a.w[static_cast<std::size_t>(j)] - b.w[static_cast<std::size_t>(j)]));
  return d;
}

template <class F>
double best_rate(std::int64_t updates, F&& run) {
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    auto start = std::chrono::steady_clock::now();
    run(updates);
    std::chrono::duration<double> s = std::chrono::steady_clock::now() - start;
    best = std::max(best, double(updates) / s.count());
  }
  return best;
}

/// Runs `updates` updates of eddy's learner with its default (scikit-learn) settings, cycling
/// over the records; writes the state it ends with into `end`.
void eddy_run(const data_set& d, std::int64_t updates, linear_state& end) {
  auto model = eddy::ml::logistic_regression::make(n_features);
  for (std::int64_t i = 0; i < updates; ++i) {
    auto k = static_cast<std::size_t>(i % n_records);
    if (model->learn(d.xs[k], d.ys[k]))
      std::abort();
  }
  for (int j = 0; j < n_features; ++j)
    end.w[static_cast<std::size_t>(j)] = model->weights()(0, j);
  end.b = model->intercepts()[0];
  sink = sink + model->weights().sum();
}

/// eddy_run, test-then-train: predicts each record before learning it; returns the fraction
/// predicted right.
double eddy_prequential(const data_set& d, std::int64_t updates, linear_state& end) {
  auto model = eddy::ml::logistic_regression::make(n_features);
  double right = 0;
  for (std::int64_t i = 0; i < updates; ++i) {
    auto k = static_cast<std::size_t>(i % n_records);
    right += model->predict(d.xs[k]) == d.ys[k];
    if (model->learn(d.xs[k], d.ys[k]))
      std::abort();
  }
  for (int j = 0; j < n_features; ++j)
    end.w[static_cast<std::size_t>(j)] = model->weights()(0, j);
  end.b = model->intercepts()[0];
  return right / static_cast<double>(updates);
}

/// Rows, records of class 1 and the sum of all features, as sklearn_logistic.py reports them.
struct data_summary {
  long rows = 0, positives = 0;
  double feature_sum = 0;
};

data_summary summarize(const data_set& d) {
  data_summary s;
  s.rows = n_records;
  for (int y : d.ys)
    s.positives += y;
  for (double v : d.flat)
    s.feature_sum += v;
  return s;
}

/// The same update (learning_rate "optimal", alpha = 1e-4, L2, intercept) as a plain loop.
void plain_run(const data_set& d, std::int64_t updates, linear_state& end) {
  const double alpha = 1e-4;
  const double t0 = 1.0 / (std::sqrt(1.0 / std::sqrt(alpha)) * alpha);
  double w[n_features] = {};
  double b = 0.0;
  for (std::int64_t i = 0; i < updates; ++i) {
    auto k = static_cast<std::size_t>(i % n_records);
    const double* x = &d.flat[k * n_features];
    double eta = 1.0 / (alpha * (t0 + double(i)));
    double z = b;
    for (int j = 0; j < n_features; ++j)
      z += w[j] * x[j];
    double p = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
    double g = p - d.ys[k];
    double shrink = std::max(0.0, 1.0 - eta * alpha);
    for (int j = 0; j < n_features; ++j)
      w[j] = shrink * w[j] - eta * g * x[j];
    b -= eta * g;
  }
  double s = b;
  for (int j = 0; j < n_features; ++j) {
    end.w[static_cast<std::size_t>(j)] = w[j];
    s += w[j];
  }
  end.b = b;
  sink = sink + s;
}

/// What sklearn_logistic.py printed.
struct sklearn_result {
  data_summary data;
  double prequential_accuracy = 0.0;
  linear_state state;
  double rate = 0.0;
};

std::optional<sklearn_result> parse_sklearn(const std::string& out) {
  sklearn_result r;
  int found = 0;
  std::istringstream lines{out};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in{line};
    std::string key;
    in >> key;
    if (key == "data") {
      found += (in >> r.data.rows >> r.data.positives >> r.data.feature_sum) ? 1 : 0;
    } else if (key == "prequential_accuracy") {
      found += (in >> r.prequential_accuracy) ? 1 : 0;
    } else if (key == "coef") {
      for (auto& w : r.state.w)
        in >> w;
      found += in ? 1 : 0;
    } else if (key == "intercept") {
      found += (in >> r.state.b) ? 1 : 0;
    } else if (key == "rate") {
      found += (in >> r.rate) ? 1 : 0;
    }
  }
  if (found != 5)
    return std::nullopt;
  return r;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Logistic-regression updates per second: eddy, a plain loop and scikit-learn on "
               "the same data"};
  std::int64_t updates = 20'000'000;
  std::int64_t check_updates = n_records;
  std::int64_t sklearn_updates = 20'000;
  bool no_python = std::getenv("EDDY_BENCH_NO_PYTHON") != nullptr;
  std::string python = "/usr/bin/python3";
  std::string keep_files;
  app.add_option("--updates", updates, "timed updates of eddy's learner and of the plain loop")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100'000'000'000}))
      ->capture_default_str();
  app.add_option("--check-updates", check_updates,
                 "updates after which eddy's weights are compared with scikit-learn's")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000'000}))
      ->capture_default_str();
  app.add_option("--sklearn-updates", sklearn_updates, "timed scikit-learn partial_fit calls")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000'000}))
      ->capture_default_str();
  app.add_flag("--no-python", no_python, "skip scikit-learn (also: EDDY_BENCH_NO_PYTHON=1)");
  app.add_option("--python", python, "the Python with scikit-learn")->capture_default_str();
  app.add_option("--keep-files", keep_files,
                 "write the data file into this directory and keep it (default: a temporary "
                 "directory, removed)");
  CLI11_PARSE(app, argc, argv);

  auto d = make_data();
  linear_state plain_end, eddy_end;
  double plain = best_rate(updates, [&](std::int64_t n) { plain_run(d, n, plain_end); });
  double eddy = best_rate(updates, [&](std::int64_t n) { eddy_run(d, n, eddy_end); });
  const double plain_difference = max_abs_difference(eddy_end, plain_end);

  std::optional<sklearn_result> sklearn;
  std::string sklearn_why = "skipped (--no-python)";
  eddy::bench_ml::bench_files files{"logistic_regression", keep_files};
  const auto csv = files.path("logistic_regression.csv");
  if (!no_python) {
    if (!write_csv(d, csv)) {
      std::fprintf(stderr, "cannot write %s\n", csv.c_str());
      return 1;
    }
    auto out = eddy::bench_ml::run_command(
        eddy::bench_ml::quote(python) + " " +
        eddy::bench_ml::quote(eddy::bench_ml::script_dir() + "/sklearn_logistic.py") + " " +
        eddy::bench_ml::quote(csv) + " --check-updates " + std::to_string(check_updates) +
        " --timed-updates " + std::to_string(sklearn_updates) + " 2>/dev/null");
    if (out)
      sklearn = parse_sklearn(*out);
    if (!sklearn)
      sklearn_why = "failed (no " + python + " with scikit-learn and numpy?)";
  }

  std::printf("logistic regression, %d dense features, %d records, %lld updates, best of 3, one "
              "core\n",
              n_features, n_records, static_cast<long long>(updates));
  std::printf("  plain loop      %12.0f updates/s\n", plain);
  std::printf("  eddy learner    %12.0f updates/s   ratio eddy / plain loop = %.2f\n", eddy,
              eddy / plain);
  if (sklearn)
    std::printf("  sklearn partial %12.0f updates/s   ratio eddy / sklearn = %.0f (%lld calls "
                "timed)\n",
                sklearn->rate, eddy / sklearn->rate, static_cast<long long>(sklearn_updates));
  else
    std::printf("  sklearn partial %s\n", sklearn_why.c_str());
  std::printf("  target >= 10,000,000 updates/s for eddy: %s\n", eddy >= 1e7 ? "met" : "NOT met");

  bool failed = false;
  std::printf("weights after %lld updates: eddy vs. plain loop, max abs difference %.3g: %s\n",
              static_cast<long long>(updates), plain_difference,
              plain_difference <= tolerance ? "same" : "DIFFERENT");
  failed = failed || !(plain_difference <= tolerance);
  if (sklearn) {
    const auto ours = summarize(d);
    const bool same_data =
        ours.rows == sklearn->data.rows && ours.positives == sklearn->data.positives &&
        std::abs(ours.feature_sum - sklearn->data.feature_sum) <= 1e-9 * n_records * n_features;
    std::printf("data read by scikit-learn: %ld rows, %ld of class 1, feature sum %.12g: %s\n",
                sklearn->data.rows, sklearn->data.positives, sklearn->data.feature_sum,
                same_data ? "the same as eddy's" : "DIFFERENT from eddy's");
    linear_state eddy_check;
    const double eddy_accuracy = eddy_prequential(d, check_updates, eddy_check);
    const double accuracy_difference = std::abs(eddy_accuracy - sklearn->prequential_accuracy);
    std::printf("test-then-train accuracy over %lld updates: eddy %.4f, scikit-learn %.4f: %s\n",
                static_cast<long long>(check_updates), eddy_accuracy, sklearn->prequential_accuracy,
                accuracy_difference <= accuracy_tolerance ? "within 0.01" : "DIFFERENT");
    std::printf("weights after %lld updates: eddy vs. scikit-learn, max abs difference %.3g "
                "(not compared: rounding differences grow, see the header)\n",
                static_cast<long long>(check_updates),
                max_abs_difference(eddy_check, sklearn->state));
    failed = failed || !same_data || !(accuracy_difference <= accuracy_tolerance);
  } else {
    std::printf("scikit-learn: not checked (%s)\n", sklearn_why.c_str());
  }
  return failed ? 1 : 0;
}
