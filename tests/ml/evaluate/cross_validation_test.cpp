#include <eddy/ml/evaluate/cross_validation.hpp>
#include <eddy/ml/random_draws.hpp>
#include <eddy/ml/tree/decision_tree.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

namespace {

// Labels depend on x0 only through a threshold at 0.5, with 10 % of them flipped: deep trees
// overfit the noise, a stump does not.
void noisy(std::size_t n, eddy::ml::matrix& X, eddy::ml::labels& y) {
  std::mt19937_64 rng{7};
  X.resize(static_cast<Eigen::Index>(n), 3);
  y.resize(static_cast<Eigen::Index>(n));
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    for (Eigen::Index f = 0; f < 3; ++f)
      X(i, f) = eddy::ml::uniform01(rng);
    y[i] = X(i, 0) > 0.5 ? 1 : 0;
    if (eddy::ml::uniform01(rng) < 0.1)
      y[i] = 1 - y[i];
  }
}

} // namespace

SCENARIO("k-fold splits every row into exactly one test fold") {
  auto folds = eddy::ml::k_fold(103, 5, 1);
  REQUIRE(folds);
  std::vector<int> seen(103, 0);
  for (const auto& f : *folds) {
    CHECK(f.train.size() + f.test.size() == 103);
    CHECK((f.test.size() == 20 || f.test.size() == 21));
    for (auto i : f.test)
      seen[i] += 1;
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
  CHECK(eddy::ml::k_fold(103, 5, 1)->front().test == folds->front().test);
  CHECK(eddy::ml::k_fold(103, 5, 2)->front().test != folds->front().test);
  auto bad = eddy::ml::k_fold(3, 5, 1);
  REQUIRE_FALSE(bad);
  CHECK(eddy::describe(bad.error()) == "k_fold: k must lie in [2, n] (k = 5, n = 3)");
}

SCENARIO("a grid search prefers the shallow tree on noisy labels") {
  eddy::ml::matrix X;
  eddy::ml::labels y;
  noisy(1'000, X, y);
  std::vector<eddy::ml::decision_tree_config> grid(3);
  grid[0].max_depth = 1;
  grid[1].max_depth = 4;
  grid[2].max_depth = 0; // unlimited: fits the flipped labels too
  auto result = eddy::ml::grid_search(
      grid, X, y, 5, 42, [](const auto& cfg) { return *eddy::ml::decision_tree::make(cfg); },
      [](const auto& model, const auto& Xt, const auto& yt) {
        return eddy::ml::accuracy_score(model, Xt, yt);
      });
  REQUIRE(result);
  REQUIRE(result->mean_scores.size() == 3);
  CHECK(result->best.max_depth == 1);
  CHECK(result->best_score > 0.85);
  CHECK(result->mean_scores[2] < result->mean_scores[0]);
  auto mismatch = eddy::ml::cross_validate(
      X, y.head(10), 5, 1, [] { return eddy::ml::decision_tree{}; },
      [](const auto&, const auto&, const auto&) { return 0.0; });
  CHECK(eddy::ml::is(mismatch.error(), eddy::ml::errc::shape_mismatch));
}
