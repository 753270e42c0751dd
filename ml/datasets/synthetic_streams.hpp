// Seeded synthetic classification streams with concept drift at known records, as in MOA.
//
// `sea_generator` draws three features uniform in [0, 10] and labels a record 1 when
// x0 + x1 <= theta, with theta switching between the SEA concepts {8, 9, 7, 9.5} (Street and
// Kim 2001). `hyperplane_generator` labels points of [0, 1]^d by the side of a hyperplane that
// rotates: abruptly (weights redrawn) at each drift point and, optionally, a little after every
// record. Both flip a fraction `noise` of the labels. The same seed gives the same stream.
//
//   eddy::ml::sea_generator stream{eddy::ml::sea_config{}};   // drifts at 25'000, 50'000, ...
//   for (int i = 0; i < 100'000; ++i) {
//     auto [x, y] = stream.next();
//     model.learn(x, y);
//   }
//   auto drifts = stream.drift_points();   // {25000, 50000, 75000}
//
// `draw_batch(generator, n, X, y)` takes the next n records as a batch for the batch learners.
#pragma once

#include <eddy/ml/fwd.hpp>
#include <eddy/ml/random_draws.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace eddy::ml {

/// One labelled record of a synthetic stream.
struct labelled_record {
  /// The features.
  vector x;
  /// The class label.
  int y = 0;
};

/// Configuration of a `sea_generator`.
struct sea_config {
  /// Seed of the stream. Default: 1.
  std::uint64_t seed = 1;
  /// The concept functions in order, each 1..4 (theta 8, 9, 7, 9.5). Default: {1, 2, 3, 4}.
  std::vector<int> concepts = {1, 2, 3, 4};
  /// Records per concept; concept i starts at record i * concept_length. Default: 25'000.
  std::size_t concept_length = 25'000;
  /// Fraction of labels flipped. Default: 0.1 (as in MOA).
  double noise = 0.1;
};

/// The SEA concepts stream with abrupt drifts at multiples of `concept_length`.
class sea_generator {
public:
  /// Creates the stream; concepts outside 1..4 are clamped.
  explicit sea_generator(sea_config cfg)
      : cfg_(std::move(cfg))
      , rng_(cfg_.seed) {
    if (cfg_.concepts.empty())
      cfg_.concepts = {1};
  }

  /// The next record.
  labelled_record next() {
    labelled_record r{vector(3), 0};
    for (int i = 0; i < 3; ++i)
      r.x[i] = 10.0 * uniform01(rng_);
    r.y = r.x[0] + r.x[1] <= theta(concept_at(count_)) ? 1 : 0;
    if (uniform01(rng_) < cfg_.noise)
      r.y = 1 - r.y;
    ++count_;
    return r;
  }

  /// The index of the concept that labels record `t` (0-based).
  [[nodiscard]] std::size_t concept_at(std::size_t t) const {
    const std::size_t i = cfg_.concept_length > 0 ? t / cfg_.concept_length : 0;
    return i < cfg_.concepts.size() ? i : cfg_.concepts.size() - 1;
  }

  /// The records at which a new concept starts.
  [[nodiscard]] std::vector<std::size_t> drift_points() const {
    std::vector<std::size_t> result;
    for (std::size_t i = 1; i < cfg_.concepts.size(); ++i)
      result.push_back(i * cfg_.concept_length);
    return result;
  }

  /// The threshold theta of concept index `i`.
  [[nodiscard]] double theta(std::size_t i) const {
    static constexpr double thetas[] = {8.0, 9.0, 7.0, 9.5};
    const int f = cfg_.concepts[i];
    return thetas[(f < 1 ? 1 : (f > 4 ? 4 : f)) - 1];
  }

  /// Records generated so far.
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

private:
  /// The configuration.
  sea_config cfg_;
  /// The source of randomness.
  std::mt19937_64 rng_;
  /// Records generated so far.
  std::size_t count_ = 0;
};

/// Configuration of a `hyperplane_generator`.
struct hyperplane_config {
  /// Seed of the stream. Default: 1.
  std::uint64_t seed = 1;
  /// Number of features. Default: 10.
  std::size_t n_features = 10;
  /// Records at which the weights of the first `drift_features` features are redrawn.
  /// Default: {25'000, 50'000, 75'000}.
  std::vector<std::size_t> drift_points = {25'000, 50'000, 75'000};
  /// Features whose weight changes, abruptly and incrementally. Default: 10.
  std::size_t drift_features = 10;
  /// Incremental change of each drifting weight per record (MOA's magnitude). Default: 0.
  double magnitude = 0;
  /// Probability per record that an incremental direction reverses. Default: 0.1.
  double reversal = 0.1;
  /// Fraction of labels flipped. Default: 0.05 (as in MOA).
  double noise = 0.05;
};

/// The rotating hyperplane stream: y = 1 when sum_i w_i x_i >= sum_i w_i / 2.
class hyperplane_generator {
public:
  /// Creates the stream.
  explicit hyperplane_generator(hyperplane_config cfg)
      : cfg_(std::move(cfg))
      , rng_(cfg_.seed)
      , weights_(cfg_.n_features)
      , directions_(cfg_.n_features) {
    for (std::size_t i = 0; i < cfg_.n_features; ++i) {
      weights_[i] = uniform01(rng_);
      directions_[i] = uniform01(rng_) < 0.5 ? -1.0 : 1.0;
    }
  }

  /// The next record.
  labelled_record next() {
    for (auto point : cfg_.drift_points)
      if (point == count_)
        redraw();
    const auto d = cfg_.n_features;
    labelled_record r{vector(static_cast<Eigen::Index>(d)), 0};
    for (std::size_t i = 0; i < d; ++i)
      r.x[i] = uniform01(rng_);
    r.y = r.x.dot(weights_) >= weights_.sum() / 2 ? 1 : 0;
    if (uniform01(rng_) < cfg_.noise)
      r.y = 1 - r.y;
    for (std::size_t i = 0; cfg_.magnitude > 0 && i < drifting(); ++i) {
      weights_[i] += directions_[i] * cfg_.magnitude;
      if (uniform01(rng_) < cfg_.reversal)
        directions_[i] = -directions_[i];
    }
    ++count_;
    return r;
  }

  /// The records at which the hyperplane rotates abruptly.
  [[nodiscard]] const std::vector<std::size_t>& drift_points() const noexcept {
    return cfg_.drift_points;
  }

  /// The current weights of the hyperplane.
  [[nodiscard]] const vector& weights() const noexcept { return weights_; }

  /// Records generated so far.
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

private:
  std::size_t drifting() const {
    return cfg_.drift_features < cfg_.n_features ? cfg_.drift_features : cfg_.n_features;
  }

  void redraw() {
    for (std::size_t i = 0; i < drifting(); ++i)
      weights_[i] = uniform01(rng_);
  }

  /// The configuration.
  hyperplane_config cfg_;
  /// The source of randomness.
  std::mt19937_64 rng_;
  /// The hyperplane's weights.
  vector weights_;
  /// The direction (+1 or -1) of each weight's incremental change.
  vector directions_;
  /// Records generated so far.
  std::size_t count_ = 0;
};

/// Draws the next `n` records of `generator` as a batch: one record per row of `X`, their labels
/// in `y` (for the batch learners, e.g. a noisy data set for random_forest).
template <class Generator>
void draw_batch(Generator& generator, std::size_t n, matrix& X, labels& y) {
  const auto rows = static_cast<Eigen::Index>(n);
  y.resize(rows);
  for (Eigen::Index i = 0; i < rows; ++i) {
    auto r = generator.next();
    if (i == 0)
      X.resize(rows, r.x.size());
    X.row(i) = r.x.transpose();
    y[i] = r.y;
  }
  if (rows == 0)
    X.resize(0, 0);
}

} // namespace eddy::ml
