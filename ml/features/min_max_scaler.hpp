// Online min-max scaling: keeps the running minimum and maximum of every feature and maps x
// linearly so that [min, max] becomes [0, 1] (or another target range).
//
//   eddy::ml::min_max_scaler scaler(16);
//   eddy::ml::vector z;
//   if (auto err = scaler.learn_transform(x, z)) ...   // z in [0, 1] for values seen so far
//
// Values outside the range seen so far map outside the target range unless `clip` is set. A
// feature whose range is still empty maps to the lower end of the target range. Values must be
// finite and within ±max_magnitude (half the largest double, ~9e307), so that max - min and
// x - min never overflow; learn refuses any other record with errc::bad_input and leaves the
// scaler as it was.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>

#include <caf/expected.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace eddy::ml {

/// Scales features to a target range with their running minimum and maximum.
class min_max_scaler {
public:
  /// Names this transformer in model files.
  static constexpr const char* model_kind = "eddy.ml.min_max_scaler";

  /// The largest magnitude learn accepts: half the largest double.
  static constexpr double max_magnitude = std::numeric_limits<double>::max() / 2;

  /// An empty scaler with no features, to be filled by deserialization.
  min_max_scaler() = default;

  /// A scaler for `n_features` features onto [low, high] (default [0, 1]); `clip` (default
  /// false) clamps the result to that range. Precondition: low and high within
  /// ±max_magnitude; make() checks it and returns an error instead.
  explicit min_max_scaler(Eigen::Index n_features, double low = 0.0, double high = 1.0,
                          bool clip = false)
      : min_(vector::Constant(n_features, std::numeric_limits<double>::infinity()))
      , max_(vector::Constant(n_features, -std::numeric_limits<double>::infinity()))
      , low_(low)
      , high_(high)
      , clip_(clip) {
    // nop
  }

  /// A scaler as the constructor makes it, or errc::invalid_argument when n_features < 1 or
  /// low or high is not within ±max_magnitude. Defaults: [0, 1], no clipping.
  [[nodiscard]] static caf::expected<min_max_scaler> make(Eigen::Index n_features, double low = 0.0,
                                                          double high = 1.0, bool clip = false) {
    if (n_features < 1 || !(std::abs(low) <= max_magnitude) || !(std::abs(high) <= max_magnitude))
      return make_error(errc::invalid_argument,
                        "min_max_scaler: needs at least 1 feature and a finite target range "
                        "within ±max_magnitude");
    return min_max_scaler{n_features, low, high, clip};
  }

  /// Widens the running ranges by `x`; refuses a record of the wrong size, with a value that
  /// is not finite or beyond ±max_magnitude (and learns nothing from it).
  caf::error learn(const vector& x) {
    if (auto err = check_features(x, min_.size(), "min_max_scaler::learn"))
      return err;
    if (x.size() > 0 && x.cwiseAbs().maxCoeff() > max_magnitude)
      return make_error(errc::bad_input, "min_max_scaler::learn: a value of x is beyond "
                                         "±max_magnitude (~9e307); the scaler is unchanged");
    min_ = min_.cwiseMin(x);
    max_ = max_.cwiseMax(x);
    return caf::error{};
  }

  /// Writes the scaled `x` into `out`; errc::shape_mismatch for a wrong size, errc::bad_input
  /// for a value that is not finite or a result that overflows (x far outside a tiny range).
  caf::error transform(const vector& x, vector& out) const {
    if (auto err = check_features(x, min_.size(), "min_max_scaler::transform"))
      return err;
    out.resize(x.size());
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      double range = max_[j] - min_[j];
      double unit = range > 0.0 ? (x[j] - min_[j]) / range : 0.0;
      double v = low_ + unit * (high_ - low_);
      out[j] = clip_ ? std::clamp(v, std::min(low_, high_), std::max(low_, high_)) : v;
    }
    return check_transformed(out, "min_max_scaler::transform");
  }

  /// Returns the scaled `x`, or an empty vector when transform(x, out) refuses x.
  [[nodiscard]] vector transform(const vector& x) const { return transform_or_empty(*this, x); }

  /// Learns `x`, then writes its scaled value into `out`.
  caf::error learn_transform(const vector& x, vector& out) {
    return learn_then_transform(*this, x, out);
  }

  /// The number of features.
  [[nodiscard]] Eigen::Index n_features() const noexcept { return min_.size(); }

  /// The running minimum per feature (+inf before the first record).
  [[nodiscard]] const vector& data_min() const noexcept { return min_; }

  /// The running maximum per feature (-inf before the first record).
  [[nodiscard]] const vector& data_max() const noexcept { return max_; }

  /// Saves or loads all state. A loaded state whose numbers of minima and maxima differ, with a
  /// target range beyond ±max_magnitude, or with a range that learn could not have made (a
  /// minimum above its maximum, one end seen and not the other) throws (errc::corrupt_file from
  /// `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& min_& max_& low_& high_;
    serialize_flag(ar, clip_, "min_max_scaler: clip");
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// Refuses a loaded state that would read out of bounds or overflow.
  void check_loaded() const {
    if (min_.size() != max_.size())
      throw_corrupt_archive("min_max_scaler: " + std::to_string(min_.size()) + " minima but " +
                            std::to_string(max_.size()) + " maxima (one per feature each)");
    if (!(std::abs(low_) <= max_magnitude) || !(std::abs(high_) <= max_magnitude))
      throw_corrupt_archive("min_max_scaler: the target range is not within ±max_magnitude");
    constexpr double inf = std::numeric_limits<double>::infinity();
    for (Eigen::Index j = 0; j < min_.size(); ++j) {
      const bool unseen = min_[j] == inf && max_[j] == -inf;
      const bool seen = std::abs(min_[j]) <= max_magnitude && std::abs(max_[j]) <= max_magnitude &&
                        min_[j] <= max_[j];
      if (!unseen && !seen)
        throw_corrupt_archive("min_max_scaler: feature " + std::to_string(j) + " has the range [" +
                              std::to_string(min_[j]) + ", " + std::to_string(max_[j]) +
                              "], which learn cannot make");
    }
  }

  /// The running minimum per feature.
  vector min_;
  /// The running maximum per feature.
  vector max_;
  /// The target range.
  double low_ = 0.0, high_ = 1.0;
  /// Whether results are clamped to the target range.
  bool clip_ = false;
};

} // namespace eddy::ml
