// Online anomaly detection on a wireless sensor network (data/sensors/single_hop.csv): per mote,
// features from the last 12 readings, online standardization, logistic regression trained
// test-then-train. Prints live prequential precision, recall and F1 (cumulative) with the F1
// and ROC AUC of the last 2000 readings every 2000 readings, and a final report.
//
//   ./build/examples/sensor_anomaly [path/to/single_hop.csv]
//
// The figures compare with scikit-learn's: /usr/bin/python3 bench/ml/sklearn_reference.py
#include <eddy/examples/ml/sensor_features.hpp>
#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

namespace {

/// One line of figures: cumulative precision, recall and F1 so far, and the F1 and ROC AUC of
/// the last 2000 readings. The ROC AUC is exact, so each call walks every distinct score it
/// keeps: the rolling one at most 2000, but the cumulative one as many as there were readings,
/// which printed every 2000 readings would make the run quadratic in its length. The live rows
/// therefore show the rolling ROC AUC; the cumulative one is printed once, in the final report.
void print_row(std::size_t records, const eddy::ml::binary_prequential& eval) {
  const auto& m = eval.cumulative();
  std::printf("%7zu %9.4f %9.4f %9.4f %12.4f", records, m.precision(), m.recall(), m.f1(),
              eval.rolling().f1());
  double auc = eval.rolling().roc_auc(); // NaN while the window holds one class only
  std::isnan(auc) ? std::printf("%14s\n", "-") : std::printf("%14.4f\n", auc);
}

} // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "data/sensors/single_hop.csv";
  auto readings = eddy::examples::read_sensor_csv(path);
  if (!readings) {
    std::fprintf(stderr, "sensor_anomaly: %s\n(run from the repository root or pass the path)\n",
                 eddy::describe(readings.error()).c_str());
    return 1;
  }
  // The defaults are scikit-learn's SGDClassifier(loss="log_loss"): SGD, alpha = 1e-4, L2,
  // learning_rate "optimal".
  auto model = eddy::ml::logistic_regression::make(eddy::examples::sensor_features::n_features);
  if (!model) {
    std::fprintf(stderr, "sensor_anomaly: %s\n", eddy::describe(model.error()).c_str());
    return 1;
  }
  std::printf("%zu readings from %s, %d anomalies\n", readings->size(), path.c_str(), [&] {
    int n = 0;
    for (const auto& r : *readings)
      n += r.label;
    return n;
  }());
  std::printf("%7s %9s %9s %9s %12s %14s\n", "records", "precision", "recall", "f1", "f1_last_2000",
              "auc_last_2000");
  auto start = std::chrono::steady_clock::now();
  auto live = [](std::size_t done, const eddy::ml::binary_prequential& eval) {
    print_row(done, eval);
  };
  auto eval = eddy::examples::run_sensor_anomaly(*readings, *model, live, 2000);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  if (!eval) {
    std::fprintf(stderr, "sensor_anomaly: %s\n", eddy::describe(eval.error()).c_str());
    return 1;
  }
  const auto& total = eval->cumulative();
  std::printf("\nfinal report (test-then-train over every reading)\n");
  print_row(static_cast<std::size_t>(total.count()), *eval);
  std::printf("roc_auc %.4f, tp %lld fp %lld fn %lld tn %lld, log loss %.4f, %.1f ms\n",
              total.roc_auc(), static_cast<long long>(total.tp()),
              static_cast<long long>(total.fp()), static_cast<long long>(total.fn()),
              static_cast<long long>(total.tn()), total.log_loss(), elapsed.count() * 1e3);
  return 0;
}
