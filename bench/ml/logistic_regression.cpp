// Logistic-regression updates per second on 16 dense features, one core: eddy's learner
// (input checks included) against the same SGD update written as a plain loop over arrays, and
// scikit-learn's SGDClassifier.partial_fit per record (through /usr/bin/python3, when present).
// Prints updates/s and the ratio eddy / plain loop. Target: >= 10 million updates/s for eddy.
//
//   ./build/bench/eddy_bench_ml_logistic_regression [updates]   # default 20,000,000
//   EDDY_BENCH_NO_PYTHON=1 ...                                  # skip scikit-learn
#include <eddy/ml/logistic_regression.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int n_features = 16;
constexpr int n_records = 4096;
volatile double sink = 0.0;

struct data_set {
  std::vector<eddy::ml::vector> xs;
  std::vector<double> flat; // the same records, row after row
  std::vector<int> ys;
};

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

template <class F>
double best_rate(long updates, F&& run) {
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    auto start = std::chrono::steady_clock::now();
    run(updates);
    std::chrono::duration<double> s = std::chrono::steady_clock::now() - start;
    best = std::max(best, double(updates) / s.count());
  }
  return best;
}

/// eddy's learner with its default (scikit-learn) settings.
double eddy_rate(const data_set& d, long updates) {
  return best_rate(updates, [&](long n) {
    auto model = eddy::ml::logistic_regression::make(n_features);
    for (long i = 0; i < n; ++i) {
      auto k = static_cast<std::size_t>(i % n_records);
      if (model->learn(d.xs[k], d.ys[k]))
        std::abort();
    }
    sink = sink + model->weights().sum();
  });
}

/// The same update (learning_rate "optimal", alpha = 1e-4, L2, intercept) as a plain loop.
double plain_rate(const data_set& d, long updates) {
  return best_rate(updates, [&](long n) {
    const double alpha = 1e-4;
    const double t0 = 1.0 / (std::sqrt(1.0 / std::sqrt(alpha)) * alpha);
    double w[n_features] = {};
    double b = 0.0;
    for (long i = 0; i < n; ++i) {
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
    for (double v : w)
      s += v;
    sink = sink + s;
  });
}

/// scikit-learn partial_fit, one record per call, timed inside Python; 0 when unavailable.
double sklearn_rate() {
  if (std::getenv("EDDY_BENCH_NO_PYTHON"))
    return 0.0;
  const char* cmd = "/usr/bin/python3 -c \"\n"
                    "import time, numpy as np\n"
                    "from sklearn.linear_model import SGDClassifier\n"
                    "rng = np.random.default_rng(42); X = rng.standard_normal((4096, 16))\n"
                    "y = (X[:, ::3].sum(1) - 0.5 * X.sum(1) > 0).astype(int); m = "
                    "SGDClassifier(loss='log_loss')\n"
                    "n = 20000; start = time.perf_counter()\n"
                    "for i in range(n):\n"
                    "    k = i % 4096; m.partial_fit(X[k:k + 1], y[k:k + 1], classes=[0, 1])\n"
                    "print(n / (time.perf_counter() - start))\n"
                    "\" 2>/dev/null";
  FILE* pipe = ::popen(cmd, "r");
  if (!pipe)
    return 0.0;
  double rate = 0.0;
  if (std::fscanf(pipe, "%lf", &rate) != 1)
    rate = 0.0;
  ::pclose(pipe);
  return rate;
}

} // namespace

int main(int argc, char** argv) {
  long updates = argc > 1 ? std::atol(argv[1]) : 20'000'000L;
  auto d = make_data();
  double plain = plain_rate(d, updates);
  double eddy = eddy_rate(d, updates);
  double sklearn = sklearn_rate();
  std::printf("logistic regression, %d dense features, %ld updates, best of 3, one core\n",
              n_features, updates);
  std::printf("  plain loop      %12.0f updates/s\n", plain);
  std::printf("  eddy learner    %12.0f updates/s   ratio eddy / plain loop = %.2f\n", eddy,
              eddy / plain);
  if (sklearn > 0.0)
    std::printf("  sklearn partial %12.0f updates/s   ratio eddy / sklearn = %.0f\n", sklearn,
                eddy / sklearn);
  else
    std::printf("  sklearn partial (skipped: no /usr/bin/python3 with scikit-learn)\n");
  std::printf("  target >= 10,000,000 updates/s for eddy: %s\n", eddy >= 1e7 ? "met" : "NOT met");
  return 0;
}
