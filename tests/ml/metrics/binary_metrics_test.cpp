#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace eddy::ml;

namespace {

// Reference figures from scikit-learn 1.2.1 (roc_auc_score, log_loss, precision_score,
// recall_score, f1_score) on these values.
const std::vector<int> ys = {0, 0, 1, 1, 0, 1, 1, 0};
const std::vector<double> ps = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.6};

} // namespace

SCENARIO("binary metrics agree with scikit-learn, ties in the ROC AUC included") {
  binary_metrics all;
  binary_metrics last5{0.5, 5};
  for (size_t i = 0; i < ys.size(); ++i) {
    all.update(ys[i], ps[i]);
    last5.update(ys[i], ps[i]);
  }
  CHECK(all.count() == 8);
  CHECK(all.roc_auc() == Approx(0.6875));
  CHECK(all.log_loss() == Approx(0.5422399273011039));
  CHECK(all.precision() == Approx(2.0 / 3.0));
  CHECK(all.recall() == Approx(0.5));
  CHECK(all.f1() == Approx(0.5714285714285715));
  CHECK(all.accuracy() == Approx(5.0 / 8.0));
  CHECK(last5.count() == 5);
  CHECK(last5.roc_auc() == Approx(0.75));
  CHECK(last5.log_loss() == Approx(0.5343822308972673));
}

SCENARIO("undefined binary figures are NaN or 0, never a crash") {
  binary_metrics m;
  CHECK(std::isnan(m.roc_auc()));
  CHECK(m.precision() == 0.0);
  CHECK(m.f1() == 0.0);
  m.update(0, 0.2);
  CHECK(std::isnan(m.roc_auc()));
  m.update(1, std::numeric_limits<double>::quiet_NaN());
  m.update(2, 0.5);
  CHECK(m.ignored() == 2);
  CHECK(m.count() == 1);
  CHECK(m.accuracy() == 1.0);
}

SCENARIO("the windowed ROC AUC equals the one of a fresh metric over the same last records") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> score;
  binary_metrics last{0.5, 100};
  std::vector<std::pair<int, double>> seen;
  for (int i = 0; i < 1000; ++i) {
    double p = std::round(score(rng) * 50) / 50; // many ties
    int y = score(rng) < p ? 1 : 0;
    last.update(y, p);
    seen.emplace_back(y, p);
  }
  binary_metrics fresh;
  for (std::size_t i = seen.size() - 100; i < seen.size(); ++i)
    fresh.update(seen[i].first, seen[i].second);
  CHECK(last.count() == 100);
  CHECK(last.roc_auc() == fresh.roc_auc()); // the same sums in the same order
  CHECK(last.tp() == fresh.tp());
}

SCENARIO("restored binary metrics continue exactly like the original, ignored count included") {
  binary_metrics original{0.5, 3};
  for (size_t i = 0; i < 4; ++i)
    original.update(ys[i], ps[i]);
  original.update(7, 0.5); // ignored
  binary_metrics restored;
  REQUIRE_FALSE(from_binary(to_binary(original), restored));
  CHECK(restored.ignored() == 1);
  for (size_t i = 4; i < ys.size(); ++i) {
    original.update(ys[i], ps[i]);
    restored.update(ys[i], ps[i]);
  }
  CHECK(restored.roc_auc() == original.roc_auc());
  CHECK(restored.log_loss() == original.log_loss());
  CHECK(restored.count() == 3);
}
