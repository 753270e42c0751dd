// Online imputation of missing values: replaces NaN and infinite entries by the running mean of
// the feature's finite values, or by a constant.
//
//   auto imp = eddy::ml::imputer::make(16);                       // strategy: mean
//   eddy::ml::vector clean;
//   if (auto err = imp->learn_transform(x, clean)) ...             // clean has no NaN
//   auto zero = eddy::ml::imputer::make(16, eddy::ml::impute_strategy::constant, 0.0);
//
// Before a feature has any finite value, the mean strategy uses `fill_value` too. NaN and
// infinite entries are the missing values this transformer exists for: learn skips them. A
// finite value beyond ±max_magnitude (half the largest double, ~9e307) is not a missing value
// but a bad one: learn refuses the whole record with errc::bad_input and leaves the imputer as
// it was (within that bound the running mean can never overflow).
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>

#include <caf/expected.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace eddy::ml {

/// How an imputer fills a missing value.
enum class impute_strategy : uint8_t {
  /// The running mean of the feature's finite values.
  mean,
  /// A constant.
  constant,
};

/// Replaces missing (NaN or infinite) entries of feature vectors.
class imputer {
public:
  /// Names this transformer in model files.
  static constexpr const char* model_kind = "eddy.ml.imputer";

  /// The largest magnitude of a finite value learn accepts: half the largest double.
  static constexpr double max_magnitude = std::numeric_limits<double>::max() / 2;

  /// An empty imputer with no features, to be filled by deserialization.
  imputer() = default;

  /// Makes an imputer for `n_features` features. Defaults: mean, fill value 0.
  [[nodiscard]] static caf::expected<imputer> make(Eigen::Index n_features,
                                                   impute_strategy strategy = impute_strategy::mean,
                                                   double fill_value = 0.0) {
    if (n_features < 1 || !(std::abs(fill_value) <= max_magnitude))
      return make_error(errc::invalid_argument,
                        "imputer: needs at least 1 feature and a finite fill value within "
                        "±max_magnitude");
    if (strategy != impute_strategy::mean && strategy != impute_strategy::constant)
      return make_error(errc::invalid_argument, "imputer: the strategy must be mean or constant");
    imputer result;
    result.strategy_ = strategy;
    result.fill_value_ = fill_value;
    result.counts_.setZero(n_features);
    result.means_.setZero(n_features);
    return result;
  }

  /// Adds the finite entries of `x` to the running means (mean strategy); missing (NaN or
  /// infinite) entries are skipped. Refuses, learning nothing, a record of the wrong size or
  /// with a finite value beyond ±max_magnitude.
  caf::error learn(const vector& x) {
    if (auto err = check_size(x, "learn"))
      return err;
    for (Eigen::Index j = 0; j < x.size(); ++j)
      if (std::isfinite(x[j]) && std::abs(x[j]) > max_magnitude)
        return make_error(errc::bad_input, "imputer::learn: x[" + std::to_string(j) +
                                               "] is finite but beyond ±max_magnitude (~9e307); "
                                               "the imputer is unchanged");
    if (strategy_ == impute_strategy::mean)
      for (Eigen::Index j = 0; j < x.size(); ++j)
        if (std::isfinite(x[j])) {
          // |x[j]| and |means_[j]| <= max / 2, so the difference and the mean stay finite
          counts_[j] += 1.0;
          means_[j] += (x[j] - means_[j]) / counts_[j];
        }
    return caf::error{};
  }

  /// Writes `x` with its missing entries filled into `out`.
  caf::error transform(const vector& x, vector& out) const {
    if (auto err = check_size(x, "transform"))
      return err;
    out.resize(x.size());
    for (Eigen::Index j = 0; j < x.size(); ++j)
      out[j] = std::isfinite(x[j]) ? x[j] : fill(j);
    return caf::error{};
  }

  /// Returns `x` with its missing entries filled, or an empty vector when x has the wrong size.
  [[nodiscard]] vector transform(const vector& x) const { return transform_or_empty(*this, x); }

  /// Learns `x`, then writes it with its missing entries filled into `out`.
  caf::error learn_transform(const vector& x, vector& out) {
    return learn_then_transform(*this, x, out);
  }

  /// The value that replaces a missing entry of feature `j`.
  [[nodiscard]] double fill(Eigen::Index j) const {
    return strategy_ == impute_strategy::mean && counts_[j] > 0.0 ? means_[j] : fill_value_;
  }

  /// The number of features.
  [[nodiscard]] Eigen::Index n_features() const noexcept { return means_.size(); }

  /// Saves or loads all state. A loaded state whose numbers of counts and means differ, with an
  /// unknown strategy, or with a value learn could not have made throws (errc::corrupt_file from
  /// `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& strategy_& fill_value_& counts_& means_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// Refuses a loaded state that would read out of bounds or fill in a value learn refuses.
  void check_loaded() const {
    if (counts_.size() != means_.size())
      throw_corrupt_archive("imputer: " + std::to_string(counts_.size()) + " counts but " +
                            std::to_string(means_.size()) + " means (one per feature each)");
    if (strategy_ != impute_strategy::mean && strategy_ != impute_strategy::constant)
      throw_corrupt_archive("imputer: the strategy " + std::to_string(int(strategy_)) +
                            " is neither mean nor constant");
    if (!(std::abs(fill_value_) <= max_magnitude))
      throw_corrupt_archive("imputer: the fill value is not within ±max_magnitude");
    for (Eigen::Index j = 0; j < means_.size(); ++j)
      if (!(counts_[j] >= 0.0) || !std::isfinite(counts_[j]) ||
          !(std::abs(means_[j]) <= max_magnitude))
        throw_corrupt_archive("imputer: feature " + std::to_string(j) +
                              " has a count or mean that is not finite (or a negative count)");
  }

  caf::error check_size(const vector& x, const char* what) const {
    if (x.size() == means_.size())
      return caf::error{};
    return make_error(errc::shape_mismatch, std::string{"imputer::"} + what + ": x has " +
                                                std::to_string(x.size()) + " features, expected " +
                                                std::to_string(means_.size()));
  }

  /// How missing values are filled.
  impute_strategy strategy_ = impute_strategy::mean;
  /// The constant, and the mean strategy's value before any finite value was seen.
  double fill_value_ = 0.0;
  /// The number of finite values seen per feature.
  vector counts_;
  /// The running mean of the finite values per feature.
  vector means_;
};

} // namespace eddy::ml
