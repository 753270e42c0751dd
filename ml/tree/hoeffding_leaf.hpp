// The statistics of one Hoeffding tree leaf and the search for its best split (see
// hoeffding_tree.hpp, which owns the leaves and decides when to split).
//
// A leaf keeps the weight of every class and one Gaussian per watched feature and class (MOA's
// GaussianNumericAttributeClassObserver). Candidate thresholds of a feature are evenly spaced
// between the smallest and largest value seen; a candidate's merit is its information gain.
//
//   eddy::ml::hoeffding_leaf leaf = eddy::ml::hoeffding_leaf::with_features({0, 1, 2}, 2);
//   leaf.add(x, 1, 1.0);
//   auto [best, second] = eddy::ml::best_two_splits(leaf, 10);   // 10 thresholds per feature
#pragma once

#include <eddy/ml/fwd.hpp>
#include <eddy/ml/tree/tree_stats.hpp>

#include <boost/serialization/vector.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace eddy::ml {

/// What a Hoeffding tree leaf knows: class weights and one Gaussian per watched feature and class.
struct hoeffding_leaf {
  /// Weight of each class seen at the leaf (its size is the number of classes).
  std::vector<double> class_weights;
  /// The features the leaf watches, increasing (all of them, or a random subset).
  std::vector<std::uint32_t> features;
  /// One estimator per watched feature and class: estimators[k * n_classes + class] belongs to
  /// features[k].
  std::vector<gaussian_estimator> estimators;
  /// Total class weight at the last split attempt (or at creation).
  double weight_at_last_attempt = 0;
  /// Weight of the records the majority class predicted right here (naive Bayes adaptive).
  double mc_correct = 0;
  /// Weight of the records naive Bayes predicted right here (naive Bayes adaptive).
  double nb_correct = 0;
  /// Depth of the leaf; the root has depth 0.
  std::uint32_t depth = 0;

  /// A leaf at `depth` that starts from `class_weights` and watches `features`.
  [[nodiscard]] static hoeffding_leaf with_features(std::vector<std::uint32_t> features,
                                                    std::vector<double> class_weights,
                                                    std::uint32_t depth = 0) {
    hoeffding_leaf l;
    l.weight_at_last_attempt = total(class_weights);
    l.class_weights = std::move(class_weights);
    l.features = std::move(features);
    l.estimators.resize(l.features.size() * l.class_weights.size());
    l.depth = depth;
    return l;
  }

  /// The number of classes.
  [[nodiscard]] std::size_t n_classes() const noexcept { return class_weights.size(); }

  /// The sum of `w`.
  [[nodiscard]] static double total(const std::vector<double>& w) noexcept {
    double s = 0;
    for (double v : w)
      s += v;
    return s;
  }

  /// The total class weight seen.
  [[nodiscard]] double seen() const noexcept { return total(class_weights); }

  /// Adds record `x` (finite, within max_input_magnitude) of class `y` with weight `w > 0`; with
  /// `track_correct`, first scores whether majority class and naive Bayes would have been right.
  void add(const vector& x, int y, double w, bool track_correct) {
    const std::size_t n = n_classes();
    if (track_correct) {
      if (arg_max(class_weights) == y)
        mc_correct += w;
      scratch_scores scores{n};
      naive_bayes_scores(x, scores.data());
      if (arg_max_of(scores.data(), n) == y)
        nb_correct += w;
    }
    class_weights[static_cast<std::size_t>(y)] += w;
    for (std::size_t k = 0; k < features.size(); ++k)
      estimators[k * n + static_cast<std::size_t>(y)].add(x[features[k]], w);
  }

  /// Log prior plus log densities per class (-inf for a class never seen here).
  [[nodiscard]] std::vector<double> naive_bayes_scores(const vector& x) const {
    std::vector<double> scores(n_classes());
    naive_bayes_scores(x, scores.data());
    return scores;
  }

  /// Writes the naive Bayes scores of `x` into `scores` (n_classes() of them); allocates nothing.
  void naive_bayes_scores(const vector& x, double* scores) const {
    const std::size_t n = n_classes();
    const double sum = seen();
    for (std::size_t c = 0; c < n; ++c) {
      scores[c] = -std::numeric_limits<double>::infinity();
      if (!(sum > 0) || class_weights[c] <= 0)
        continue;
      scores[c] = std::log(class_weights[c] / sum);
      for (std::size_t k = 0; k < features.size(); ++k) {
        const auto& g = estimators[k * n + c];
        if (g.weight > 0)
          scores[c] += g.log_density(x[features[k]]);
      }
    }
  }

  /// Bytes held by the leaf's arrays (capacity), not counting the leaf object itself.
  [[nodiscard]] std::size_t heap_bytes() const noexcept {
    return class_weights.capacity() * sizeof(double) + features.capacity() * sizeof(std::uint32_t) +
           estimators.capacity() * sizeof(gaussian_estimator);
  }

  /// Saves or loads the leaf with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& class_weights& features& estimators& weight_at_last_attempt& mc_correct& nb_correct;
    ar& depth;
  }
};

/// A candidate split `x[feature] <= threshold` of a leaf and its merit.
struct split_candidate {
  /// Information gain in bits; -infinity when there is no candidate.
  double merit = -std::numeric_limits<double>::infinity();
  /// The feature split on; -1 for none.
  std::int32_t feature = -1;
  /// The threshold.
  double threshold = 0;
  /// Estimated class weights of the left (<=) and right branch.
  std::vector<double> left, right;
};

/// The best threshold on watched feature number `k` of `leaf` among `split_points` evenly
/// spaced ones, by information gain; both branches must hold at least 1 % of the weight (as MOA).
[[nodiscard]] inline split_candidate best_split_on(const hoeffding_leaf& leaf, std::size_t k,
                                                   std::size_t split_points,
                                                   double parent_entropy) {
  const std::size_t n = leaf.n_classes();
  split_candidate best;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (std::size_t c = 0; c < n; ++c) {
    lo = std::min(lo, leaf.estimators[k * n + c].min);
    hi = std::max(hi, leaf.estimators[k * n + c].max);
  }
  if (!(lo < hi))
    return best;
  const double step = (hi - lo) / static_cast<double>(split_points + 1);
  std::vector<double> left(n), right(n);
  for (std::size_t i = 0; i < split_points; ++i) {
    const double t = lo + step * static_cast<double>(i + 1);
    for (std::size_t c = 0; c < n; ++c) {
      const auto& g = leaf.estimators[k * n + c];
      left[c] = g.weight_at_most(t);
      right[c] = g.weight - left[c];
    }
    const double wl = hoeffding_leaf::total(left), wr = hoeffding_leaf::total(right);
    const double w = wl + wr;
    if (w <= 0 || wl < 0.01 * w || wr < 0.01 * w)
      continue;
    const double merit = parent_entropy - (wl / w) * entropy(left) - (wr / w) * entropy(right);
    if (merit > best.merit)
      best = split_candidate{merit, static_cast<std::int32_t>(leaf.features[k]), t, left, right};
  }
  return best;
}

/// The best split of `leaf` over its watched features and the runner-up; the runner-up starts as
/// the null split (merit 0, feature -1), so a lone useful feature competes against not splitting.
[[nodiscard]] inline std::pair<split_candidate, split_candidate>
best_two_splits(const hoeffding_leaf& leaf, std::size_t split_points) {
  const double parent = entropy(leaf.class_weights);
  split_candidate best, second;
  second.merit = 0;
  for (std::size_t k = 0; k < leaf.features.size(); ++k) {
    auto c = best_split_on(leaf, k, split_points, parent);
    if (c.merit > best.merit) {
      if (best.merit > second.merit)
        second = best;
      best = std::move(c);
    } else if (c.merit > second.merit) {
      second = std::move(c);
    }
  }
  return {std::move(best), std::move(second)};
}

} // namespace eddy::ml
