// Input checks shared by eddy/ml's trees, ensembles and clusterers: every bad record becomes an
// error value with a sentence, before it can touch a model.
//
//   if (auto err = eddy::ml::internal::check_features("learn", x, n_features_))
//     return err;   // "learn: x has 3 features, expected 4" or "learn: x[2] is NaN"
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>

#include <boost/serialization/array_wrapper.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace eddy::ml::internal {

/// Names a non-finite value for an error sentence.
[[nodiscard]] inline const char* describe_non_finite(double v) {
  if (std::isnan(v))
    return "NaN";
  return v > 0 ? "+infinity" : "-infinity";
}

/// Checks that `x` has `expected` features, all finite; `where` starts the sentence.
[[nodiscard]] inline caf::error check_features(const char* where, const vector& x,
                                               std::size_t expected) {
  if (static_cast<std::size_t>(x.size()) != expected)
    return make_error(errc::shape_mismatch, std::string{where} + ": x has " +
                                                std::to_string(x.size()) + " features, expected " +
                                                std::to_string(expected));
  for (Eigen::Index i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]))
      return make_error(errc::bad_input, std::string{where} + ": x[" + std::to_string(i) + "] is " +
                                             describe_non_finite(x[i]));
  return {};
}

/// Checks that the class label `y` lies in [0, n_classes).
[[nodiscard]] inline caf::error check_label(const char* where, int y, std::size_t n_classes) {
  if (y < 0 || static_cast<std::size_t>(y) >= n_classes)
    return make_error(errc::bad_input, std::string{where} + ": label " + std::to_string(y) +
                                           " is outside [0, " + std::to_string(n_classes) + ")");
  return {};
}

/// Checks that a record weight is finite and not negative.
[[nodiscard]] inline caf::error check_weight(const char* where, double weight) {
  if (!std::isfinite(weight) || weight < 0)
    return make_error(errc::bad_input, std::string{where} + ": weight " + std::to_string(weight) +
                                           " must be finite and >= 0");
  return {};
}

/// Checks a whole batch: `X` has one row per label and `expected` finite columns.
[[nodiscard]] inline caf::error check_batch(const char* where, const matrix& X, const labels& y,
                                            std::size_t expected, std::size_t n_classes) {
  if (X.rows() != y.size())
    return make_error(errc::shape_mismatch, std::string{where} + ": X has " +
                                                std::to_string(X.rows()) + " rows but y has " +
                                                std::to_string(y.size()) + " labels");
  if (static_cast<std::size_t>(X.cols()) != expected)
    return make_error(errc::shape_mismatch, std::string{where} + ": X has " +
                                                std::to_string(X.cols()) + " columns, expected " +
                                                std::to_string(expected));
  for (Eigen::Index r = 0; r < X.rows(); ++r) {
    for (Eigen::Index c = 0; c < X.cols(); ++c)
      if (!std::isfinite(X(r, c)))
        return make_error(errc::bad_input, std::string{where} + ": X(" + std::to_string(r) + ", " +
                                               std::to_string(c) + ") is " +
                                               describe_non_finite(X(r, c)));
    if (auto err = check_label(where, y[r], n_classes))
      return err;
  }
  return {};
}

/// Saves or loads an Eigen vector (length, then the doubles) with a Boost archive.
template <class Archive>
void serialize_vector(Archive& ar, vector& v) {
  std::int64_t n = v.size();
  ar& n;
  if constexpr (Archive::is_loading::value)
    v.resize(static_cast<Eigen::Index>(n));
  if (n > 0)
    ar& boost::serialization::make_array(v.data(), static_cast<std::size_t>(n));
}

} // namespace eddy::ml::internal
