#include <eddy/ml/evaluate/prequential.hpp>

#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>
#include <eddy/ml/metrics/confusion_matrix.hpp>
#include <eddy/ml/metrics/regression_metrics.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace eddy::ml;

namespace {

const std::vector<int> ys = {0, 0, 1, 1, 0, 1, 1, 0};
const std::vector<double> ps = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.6};

} // namespace

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

SCENARIO("a restored prequential evaluator continues exactly like the original") {
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

SCENARIO("multi-class and regression evaluators hold delayed predictions too") {
  multiclass_prequential classes{confusion_matrix{3}, confusion_matrix{3, 2}};
  classes.predicted(1, 2);
  classes.predicted(2, 0);
  CHECK(classes.labelled(2, 0));
  CHECK(classes.labelled(1, 1));
  CHECK(classes.cumulative().accuracy() == 0.5);
  regression_prequential values{regression_metrics{}, regression_metrics{10}};
  values.predicted(5, 1.5);
  CHECK(values.labelled(5, 2.0));
  CHECK(values.cumulative().mae() == 0.5);
}
