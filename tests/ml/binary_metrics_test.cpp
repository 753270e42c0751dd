#include <eddy/ml/metrics.hpp>
#include <eddy/ml/serialization.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace eddy::ml;

namespace {

// Reference figures from scikit-learn 1.2.1 (roc_auc_score, log_loss, precision_score,
// recall_score, f1_score, r2_score, mean_absolute_error, mean_squared_error) on these values.
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

SCENARIO("regression metrics agree with scikit-learn, cumulative and rolling") {
  std::vector<double> yt = {3.0, -0.5, 2.0, 7.0, 4.2};
  std::vector<double> yh = {2.5, 0.0, 2.0, 8.0, 3.9};
  regression_metrics all;
  regression_metrics last3{3};
  for (size_t i = 0; i < yt.size(); ++i) {
    all.update(yt[i], yh[i]);
    last3.update(yt[i], yh[i]);
  }
  CHECK(all.r2() == Approx(0.9480256276150627));
  CHECK(all.mae() == Approx(0.46));
  CHECK(all.rmse() == Approx(0.5639148871948674));
  CHECK(last3.count() == 3);
  CHECK(last3.r2() == Approx(0.9132165605095541));
  CHECK(last3.mae() == Approx(0.4333333333333334));
}

SCENARIO("a confusion matrix gives per-class and macro figures") {
  confusion_matrix m{3};
  std::vector<std::pair<int, int>> pairs = {{0, 0}, {0, 1}, {1, 1}, {2, 2}, {2, 1}, {2, 2}};
  for (auto [y, p] : pairs)
    m.update(y, p);
  m.update(5, 0); // ignored: outside the classes
  CHECK(m.count() == 6);
  CHECK(m.accuracy() == Approx(4.0 / 6.0));
  CHECK(m.precision(1) == Approx(1.0 / 3.0));
  CHECK(m.recall(2) == Approx(2.0 / 3.0));
  CHECK(m.f1(0) == Approx(2.0 / 3.0));
  CHECK(m.macro_f1() == Approx((2.0 / 3.0 + 0.5 + 0.8) / 3.0));
  confusion_matrix last2{3, 2};
  for (auto [y, p] : pairs)
    last2.update(y, p);
  CHECK(last2.count() == 2);
  CHECK(last2.accuracy() == Approx(0.5));
}

SCENARIO("the prequential evaluator scores a prediction when its delayed label arrives") {
  binary_prequential eval{binary_metrics{}, binary_metrics{0.5, 3}};
  for (uint64_t id = 0; id < ys.size(); ++id)
    eval.predicted(id, ps[id]);
  CHECK(eval.pending() == 8);
  CHECK(eval.cumulative().count() == 0);
  for (uint64_t id = 0; id < ys.size(); ++id)
    CHECK(eval.labelled(id, ys[id]));
  CHECK_FALSE(eval.labelled(99, 1));
  CHECK(eval.pending() == 0);
  CHECK(eval.cumulative().roc_auc() == Approx(0.6875));
  CHECK(eval.rolling().count() == 3);
  eval.predicted(100, 0.3);
  eval.predicted(200, 0.3);
  CHECK(eval.drop_pending_before(150) == 1);
  CHECK(eval.pending() == 1);
}

SCENARIO("restored metrics continue exactly like the original") {
  binary_prequential eval{binary_metrics{}, binary_metrics{0.5, 3}};
  for (size_t i = 0; i < 4; ++i)
    eval.score(ys[i], ps[i]);
  eval.predicted(7, 0.9);
  binary_prequential restored{binary_metrics{}, binary_metrics{}};
  REQUIRE_FALSE(from_binary(to_binary(eval), restored));
  for (size_t i = 4; i < ys.size(); ++i) {
    eval.score(ys[i], ps[i]);
    restored.score(ys[i], ps[i]);
  }
  CHECK(restored.labelled(7, 1));
  CHECK(eval.labelled(7, 1));
  CHECK(restored.cumulative().roc_auc() == eval.cumulative().roc_auc());
  CHECK(restored.rolling().log_loss() == eval.rolling().log_loss());
  CHECK(restored.rolling().count() == 3);
}
