// Input limits of eddy/ml's trees, ensembles, k-means and matrix factorization, beyond the
// finiteness checks of learner.hpp.
//
// These learners keep sums of squares (Gaussian estimators, k-means sums and distances, SGD
// products of factors); a finite but huge value such as 1e300 would overflow them to infinity or
// NaN. They refuse values beyond max_input_magnitude with errc::bad_input and stay unchanged, so a
// stream with such records mixed in trains the same model as its good records alone.
//
//   if (auto err = eddy::ml::check_magnitude(x, "hoeffding_tree::learn"))
//     return err;   // "hoeffding_tree::learn: x[2] = 1e+200 is beyond +-1e+100; rescale it"
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>

namespace eddy::ml {

/// The largest magnitude of a feature, weight or rating these learners accept: squares and sums
/// of 1e18 such values stay far below DBL_MAX (~1.8e308).
inline constexpr double max_input_magnitude = 1e100;

/// The largest record weight the trees and ensembles accept (a Poisson weight of the adaptive
/// random forest multiplies it by up to ~30).
inline constexpr double max_weight = 1e50;

/// The largest number of classes `decision_tree` and `random_forest` accept (labels 0 .. 1023):
/// every node stores one proportion per class.
inline constexpr int max_batch_classes = 1024;

namespace detail {

/// Formats `v` in the %g style for an error sentence.
[[nodiscard]] inline std::string format_g(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

/// Builds the sentence for a value beyond max_input_magnitude.
[[nodiscard, gnu::cold, gnu::noinline]] inline caf::error too_large(const std::string& what,
                                                                    double v, const char* where) {
  return make_error(errc::bad_input, std::string{where} + ": " + what + " = " + format_g(v) +
                                         " is beyond +-" + format_g(max_input_magnitude) +
                                         "; rescale it (nothing learned)");
}

} // namespace detail

/// Checks that every value of `x` (already known finite) lies within +-max_input_magnitude.
[[nodiscard]] inline caf::error check_magnitude(const vector& x, const char* where) {
  for (Eigen::Index i = 0; i < x.size(); ++i)
    if (std::abs(x[i]) > max_input_magnitude)
      return detail::too_large("x[" + std::to_string(i) + "]", x[i], where);
  return caf::error{};
}

/// Checks that every value of `X` (already known finite) lies within +-max_input_magnitude.
[[nodiscard]] inline caf::error check_magnitude(const matrix& X, const char* where) {
  for (Eigen::Index c = 0; c < X.cols(); ++c)
    for (Eigen::Index r = 0; r < X.rows(); ++r)
      if (std::abs(X(r, c)) > max_input_magnitude)
        return detail::too_large("X(" + std::to_string(r) + ", " + std::to_string(c) + ")", X(r, c),
                                 where);
  return caf::error{};
}

/// Checks that a single value (a weight or rating, already known finite) lies within
/// +-max_input_magnitude; `what` names it in the sentence.
[[nodiscard]] inline caf::error check_magnitude(double v, const char* what, const char* where) {
  if (std::abs(v) <= max_input_magnitude)
    return caf::error{};
  return detail::too_large(what, v, where);
}

/// Checks that a record weight (already known finite and >= 0) is at most max_weight.
[[nodiscard]] inline caf::error check_weight_limit(double weight, const char* where) {
  if (weight <= max_weight)
    return caf::error{};
  return make_error(errc::bad_input, std::string{where} + ": weight " + detail::format_g(weight) +
                                         " is beyond " + detail::format_g(max_weight) +
                                         "; rescale the weights (nothing learned)");
}

/// Checks one record of a classifier with bounded inputs (the Hoeffding tree and the adaptive
/// random forest): `n` finite features within +-max_input_magnitude, a label in [0, n_classes), a
/// weight in [0, max_weight].
[[nodiscard]] inline caf::error check_bounded_record(const vector& x, int y, double weight,
                                                     std::size_t n, std::size_t n_classes,
                                                     const char* where) {
  if (auto err = check_features(x, static_cast<Eigen::Index>(n), where))
    return err;
  if (auto err = check_magnitude(x, where))
    return err;
  if (auto err = check_label(y, static_cast<int>(n_classes), where))
    return err;
  if (auto err = check_weight(weight, where))
    return err;
  return check_weight_limit(weight, where);
}

/// Checks a batch as check_bounded_record checks each of its rows (weight 1).
[[nodiscard]] inline caf::error check_bounded_rows(const matrix& X, const labels& y, std::size_t n,
                                                   std::size_t n_classes, const char* where) {
  if (auto err = check_batch(X, y, static_cast<Eigen::Index>(n), where))
    return err;
  if (auto err = check_magnitude(X, where))
    return err;
  for (Eigen::Index i = 0; i < y.size(); ++i)
    if (auto err = check_label(y[i], static_cast<int>(n_classes), where))
      return err;
  return caf::error{};
}

/// Learns every row of `X` with its label and weight 1 through `learn_one(row, label)`, after
/// check_bounded_rows passed the whole batch: from a bad batch nothing is learned. For the
/// learners that check a batch once and then learn its rows unchecked (the Hoeffding tree and
/// the adaptive random forest).
template <class LearnOne>
[[nodiscard]] caf::error learn_bounded_rows(const matrix& X, const labels& y, std::size_t n,
                                            std::size_t n_classes, const char* where,
                                            LearnOne learn_one) {
  if (auto err = check_bounded_rows(X, y, n, n_classes, where))
    return err;
  vector row(X.cols());
  for (Eigen::Index r = 0; r < X.rows(); ++r) {
    for (Eigen::Index j = 0; j < X.cols(); ++j)
      row[j] = X(r, j);
    learn_one(row, y[r]);
  }
  return caf::error{};
}

/// Checks the labels of a batch for `decision_tree` / `random_forest`: each in
/// [0, max_batch_classes).
[[nodiscard]] inline caf::error check_batch_labels(const labels& y, const char* where) {
  for (Eigen::Index i = 0; i < y.size(); ++i)
    if (y[i] < 0 || y[i] >= max_batch_classes)
      return make_error(errc::bad_input, std::string{where} + ": label y[" + std::to_string(i) +
                                             "] = " + std::to_string(y[i]) + " is outside [0, " +
                                             std::to_string(max_batch_classes) +
                                             "); map the labels to 0 .. k - 1 first");
  return caf::error{};
}

} // namespace eddy::ml
