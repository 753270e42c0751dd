// k-fold cross-validation and a parameter grid search for models trained in one batch.
//
// `k_fold` splits n records into k folds after a seeded shuffle; `cross_validate` fits a fresh
// model on k - 1 folds and scores it on the held-out one, for each fold; `grid_search` does that
// for every parameter set of a grid and keeps the best mean score. A model is anything with
// `caf::error fit(const matrix&, const labels&)`; a score is any function of the fitted model
// and a held-out set (`accuracy_score` is provided).
//
//   std::vector<eddy::ml::random_forest_config> grid(3);
//   grid[0].max_depth = 4; grid[1].max_depth = 8; grid[2].max_depth = 0;
//   auto best = eddy::ml::grid_search(grid, X, y, 5, 42,
//     [](const auto& cfg) { return *eddy::ml::random_forest::make(cfg); },
//     eddy::ml::accuracy_score);
//   if (best) std::cout << best->best_score << '\n';
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/random_draws.hpp>

#include <caf/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// The row indices of one fold: train on `train`, score on `test`.
struct fold {
  /// Rows to fit on.
  std::vector<std::size_t> train;
  /// Rows to score on.
  std::vector<std::size_t> test;
};

/// Splits rows 0 .. n - 1 into `k` folds of nearly equal size after a shuffle seeded by `seed`
/// (no shuffle when `shuffle` is false). Needs 2 <= k <= n.
[[nodiscard]] inline caf::expected<std::vector<fold>>
k_fold(std::size_t n, std::size_t k, std::uint64_t seed, bool shuffle = true) {
  if (k < 2 || k > n)
    return make_error(errc::invalid_argument,
                      "k_fold: k must lie in [2, n] (k = " + std::to_string(k) +
                          ", n = " + std::to_string(n) + ")");
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng{seed};
  for (std::size_t i = 0; shuffle && i + 1 < n; ++i)
    std::swap(order[i], order[i + uniform_index(rng, n - i)]);
  std::vector<fold> folds(k);
  for (std::size_t f = 0, begin = 0; f < k; ++f) {
    const std::size_t size = n / k + (f < n % k ? 1 : 0);
    for (std::size_t i = 0; i < n; ++i)
      (i >= begin && i < begin + size ? folds[f].test : folds[f].train).push_back(order[i]);
    begin += size;
  }
  return folds;
}

/// The rows `rows` of `X` and `y`.
[[nodiscard]] inline std::pair<matrix, labels> take_rows(const matrix& X, const labels& y,
                                                         const std::vector<std::size_t>& rows) {
  matrix Xs(static_cast<Eigen::Index>(rows.size()), X.cols());
  labels ys(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Xs.row(static_cast<Eigen::Index>(i)) = X.row(static_cast<Eigen::Index>(rows[i]));
    ys[static_cast<Eigen::Index>(i)] = y[static_cast<Eigen::Index>(rows[i])];
  }
  return {std::move(Xs), std::move(ys)};
}

/// The fraction of rows of `X` that `model` labels as `y` says.
template <class Model>
[[nodiscard]] double accuracy_score(const Model& model, const matrix& X, const labels& y) {
  double right = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    right += model.predict(X.row(i).transpose()) == y[i];
  return X.rows() > 0 ? right / static_cast<double>(X.rows()) : 0.0;
}

/// The score of a fresh model from `make_model()` on each of `k` folds (see `k_fold`); the first
/// error of a fit, if any.
template <class MakeModel, class Score>
[[nodiscard]] caf::expected<std::vector<double>> cross_validate(const matrix& X, const labels& y,
                                                                std::size_t k, std::uint64_t seed,
                                                                MakeModel make_model, Score score) {
  if (X.rows() != y.size())
    return make_error(errc::shape_mismatch, "cross_validate: X has " + std::to_string(X.rows()) +
                                                " rows but y has " + std::to_string(y.size()));
  auto folds = k_fold(static_cast<std::size_t>(X.rows()), k, seed);
  if (!folds)
    return folds.error();
  std::vector<double> scores;
  for (const auto& f : *folds) {
    auto model = make_model();
    auto [X_train, y_train] = take_rows(X, y, f.train);
    if (auto err = model.fit(X_train, y_train))
      return err;
    auto [X_test, y_test] = take_rows(X, y, f.test);
    scores.push_back(score(model, X_test, y_test));
  }
  return scores;
}

/// What `grid_search` found.
template <class Params>
struct grid_search_result {
  /// The parameters with the best mean score (the first of equals).
  Params best;
  /// Their mean score.
  double best_score = -std::numeric_limits<double>::infinity();
  /// Every parameter set's mean score, in grid order.
  std::vector<double> mean_scores;
};

/// Cross-validates `make_model(params)` for every `params` of `grid` on the same folds and
/// returns the best; the first fit error, if any.
template <class Params, class MakeModel, class Score>
[[nodiscard]] caf::expected<grid_search_result<Params>>
grid_search(const std::vector<Params>& grid, const matrix& X, const labels& y, std::size_t k,
            std::uint64_t seed, MakeModel make_model, Score score) {
  if (grid.empty())
    return make_error(errc::invalid_argument, "grid_search: the grid is empty");
  grid_search_result<Params> result{grid.front(), -std::numeric_limits<double>::infinity(), {}};
  for (const auto& params : grid) {
    auto scores = cross_validate(
        X, y, k, seed, [&] { return make_model(params); }, score);
    if (!scores)
      return scores.error();
    const double mean =
        std::accumulate(scores->begin(), scores->end(), 0.0) / static_cast<double>(scores->size());
    result.mean_scores.push_back(mean);
    if (mean > result.best_score) {
      result.best_score = mean;
      result.best = params;
    }
  }
  return result;
}

} // namespace eddy::ml
