// Statistics shared by eddy/ml's trees: a weighted Gaussian estimator (one per feature and class
// in a Hoeffding tree leaf), entropy and Gini impurity of class weights, and arg_max.
//
//   eddy::ml::gaussian_estimator g;
//   g.add(1.5, 1.0);
//   double below = g.weight_at_most(2.0);   // estimated weight of values <= 2
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace eddy::ml {

/// Running weighted mean and variance of one feature (West's weighted Welford update).
struct gaussian_estimator {
  /// Total weight added.
  double weight = 0;
  /// Weighted mean.
  double mean = 0;
  /// Weighted sum of squared deviations.
  double m2 = 0;
  /// Smallest value added.
  double min = std::numeric_limits<double>::infinity();
  /// Largest value added.
  double max = -std::numeric_limits<double>::infinity();

  /// Adds `x` with weight `w > 0` and returns true; returns false and changes nothing when the
  /// estimate would overflow (values near +-DBL_MAX; the learners refuse values beyond
  /// max_input_magnitude of input_limits.hpp before they get here).
  bool add(double x, double w) {
    const double new_weight = weight + w;
    const double delta = x - mean;
    const double new_mean = mean + w * delta / new_weight;
    const double new_m2 = m2 + w * delta * (x - new_mean);
    if (!std::isfinite(new_weight) || !std::isfinite(new_mean) || !std::isfinite(new_m2))
      return false;
    weight = new_weight;
    mean = new_mean;
    m2 = new_m2;
    min = std::min(min, x);
    max = std::max(max, x);
    return true;
  }

  /// The (sample) variance; 0 below a weight of 1.
  [[nodiscard]] double variance() const { return weight > 1 ? m2 / (weight - 1) : 0.0; }

  /// The estimated weight of values <= `x` under the normal approximation.
  [[nodiscard]] double weight_at_most(double x) const {
    if (weight <= 0 || x < min)
      return 0;
    if (x >= max)
      return weight;
    const double sd = std::sqrt(variance());
    if (sd <= 0)
      return x >= mean ? weight : 0.0;
    return weight * 0.5 * (1 + std::erf((x - mean) / (sd * 1.4142135623730951)));
  }

  /// The log density of `x` (variance floored at 1e-9 so that one value does not give -inf).
  [[nodiscard]] double log_density(double x) const {
    const double var = std::max(variance(), 1e-9);
    return -0.5 * std::log(6.283185307179586 * var) - (x - mean) * (x - mean) / (2 * var);
  }

  /// Saves or loads the estimator with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& weight& mean& m2& min& max;
  }
};

/// Entropy in bits of class weights.
[[nodiscard]] inline double entropy(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights)
    total += w;
  if (total <= 0)
    return 0;
  double h = 0;
  for (double w : weights)
    if (w > 0)
      h -= w / total * std::log2(w / total);
  return h;
}

/// Gini impurity of class counts with total `total`.
[[nodiscard]] inline double gini(const double* counts, std::size_t n_classes, double total) {
  if (total <= 0)
    return 0;
  double sum_sq = 0;
  for (std::size_t c = 0; c < n_classes; ++c)
    sum_sq += counts[c] * counts[c];
  return 1.0 - sum_sq / (total * total);
}

/// Index of the largest weight (the first one on ties); 0 for an empty vector.
template <class Weights>
[[nodiscard]] int arg_max(const Weights& weights) {
  int best = 0;
  for (int c = 1; c < static_cast<int>(weights.size()); ++c)
    if (weights[c] > weights[best])
      best = c;
  return best;
}

/// Index of the largest of the `n` values at `values` (the first one on ties); 0 when n is 0.
[[nodiscard]] inline int arg_max_of(const double* values, std::size_t n) {
  int best = 0;
  for (int c = 1; c < static_cast<int>(n); ++c)
    if (values[c] > values[best])
      best = c;
  return best;
}

/// Scratch room for one value per class: on the stack for up to 32 classes, so that scoring a
/// record allocates nothing; on the heap beyond.
class scratch_scores {
public:
  explicit scratch_scores(std::size_t n) {
    if (n > stack_.size()) {
      heap_.resize(n);
      data_ = heap_.data();
    }
  }
  scratch_scores(const scratch_scores&) = delete;
  scratch_scores& operator=(const scratch_scores&) = delete;
  [[nodiscard]] double* data() noexcept { return data_; }

private:
  std::array<double, 32> stack_{};
  std::vector<double> heap_;
  double* data_ = stack_.data();
};

} // namespace eddy::ml
