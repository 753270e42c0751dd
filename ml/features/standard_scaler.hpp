// Online standardization: keeps a running mean and variance per feature (Welford's algorithm)
// and maps x to (x - mean) / standard deviation.
//
//   eddy::ml::standard_scaler scaler(16);
//   eddy::ml::vector z(16);
//   if (auto err = scaler.learn_transform(x, z)) ...   // learn x first, then scale it
//   model.learn(z, y);
//
// A feature whose variance is still 0 is only centred (divided by 1), as in scikit-learn. A
// record with a NaN, an infinity or a value so large that the running statistics would overflow
// (|x| beyond ~1e154) is refused with errc::bad_input and leaves the scaler as it was.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>

#include <cmath>
#include <string>

namespace eddy::ml {

/// Standardizes features with a running mean and variance per feature.
class standard_scaler {
public:
  /// Names this transformer in model files.
  static constexpr const char* model_kind = "eddy.ml.standard_scaler";

  // -- constructors ------------------------------------------------------------------------------

  /// An empty scaler with no features, to be filled by deserialization.
  standard_scaler() = default;

  /// A scaler for records of `n_features` features that has seen nothing yet.
  explicit standard_scaler(Eigen::Index n_features)
      : mean_(vector::Zero(n_features))
      , m2_(vector::Zero(n_features)) {
    // nop
  }

  // -- learning ----------------------------------------------------------------------------------

  /// Adds `x` to the running statistics; refuses (and ignores) a record of the wrong size,
  /// with a value that is not finite, or one that would overflow the statistics.
  caf::error learn(const vector& x) {
    if (auto err = check_features(x, mean_.size(), "standard_scaler::learn"))
      return err;
    const double count = count_ + 1.0;
    // first pass: would any statistic overflow? (then nothing is written)
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      double delta = x[j] - mean_[j];
      double mean = mean_[j] + delta / count;
      if (!std::isfinite(mean) || !std::isfinite(m2_[j] + delta * (x[j] - mean)))
        return make_error(errc::bad_input, "standard_scaler::learn: x[" + std::to_string(j) +
                                               "] is so large that the running variance would "
                                               "overflow; the scaler is unchanged");
    }
    // second pass: the same arithmetic, written
    count_ = count;
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      double delta = x[j] - mean_[j];
      mean_[j] += delta / count_;
      m2_[j] += delta * (x[j] - mean_[j]);
    }
    return caf::error{};
  }

  // -- transforming ------------------------------------------------------------------------------

  /// Writes the standardized `x` into `out` (resized when needed; no allocation once sized);
  /// errc::shape_mismatch for a wrong size, errc::bad_input for a value that is not finite or
  /// a result that overflows.
  caf::error transform(const vector& x, vector& out) const {
    if (auto err = check_features(x, mean_.size(), "standard_scaler::transform"))
      return err;
    out.resize(x.size());
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      double sd = count_ > 0.0 ? std::sqrt(m2_[j] / count_) : 0.0;
      out[j] = sd > 0.0 ? (x[j] - mean_[j]) / sd : x[j] - mean_[j];
    }
    return check_transformed(out, "standard_scaler::transform");
  }

  /// Returns the standardized `x`, or an empty vector when transform(x, out) refuses x.
  [[nodiscard]] vector transform(const vector& x) const { return transform_or_empty(*this, x); }

  /// Learns `x`, then writes its standardized value into `out`: the online order, in which
  /// the first record of a stream is already scaled with itself included.
  caf::error learn_transform(const vector& x, vector& out) {
    return learn_then_transform(*this, x, out);
  }

  // -- properties --------------------------------------------------------------------------------

  /// The number of features.
  [[nodiscard]] Eigen::Index n_features() const noexcept { return mean_.size(); }

  /// The number of records learned.
  [[nodiscard]] double count() const noexcept { return count_; }

  /// The running mean per feature.
  [[nodiscard]] const vector& mean() const noexcept { return mean_; }

  /// The running (population) variance per feature; zeros before the first record.
  [[nodiscard]] vector variance() const {
    return count_ > 0.0 ? vector(m2_ / count_) : vector(vector::Zero(m2_.size()));
  }

  /// Saves or loads all state. A loaded state whose numbers of means and spreads differ, or with
  /// a count or value that is not finite, throws (errc::corrupt_file from `from_binary` and
  /// `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& count_& mean_& m2_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// Refuses a loaded state that would read out of bounds or holds a value that is not finite.
  void check_loaded() const {
    if (mean_.size() != m2_.size())
      throw_corrupt_archive("standard_scaler: " + std::to_string(mean_.size()) + " means but " +
                            std::to_string(m2_.size()) + " spreads (one per feature each)");
    if (!(count_ >= 0.0) || !std::isfinite(count_))
      throw_corrupt_archive("standard_scaler: the record count is not finite and >= 0");
    if (!mean_.allFinite() || !m2_.allFinite())
      throw_corrupt_archive("standard_scaler: a mean or spread is not finite");
  }

  /// The number of records learned.
  double count_ = 0.0;
  /// The running mean per feature.
  vector mean_;
  /// The running sum of squared deviations per feature (Welford's M2).
  vector m2_;
};

} // namespace eddy::ml
