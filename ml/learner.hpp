// The interface every eddy/ml learner follows, and the input checks they share.
//
// Learners are plain C++ classes in eddy::ml (no actors). Each one validates its input and
// returns a caf::error instead of throwing; on bad input the model is left exactly as it was.
//
//   Classifiers (labels are 0 .. n_classes - 1):
//     caf::error learn(const vector& x, int y, double weight = 1.0);
//     caf::error learn_batch(const matrix& X, const labels& y);     // one record per row
//     int        predict(const vector& x) const;
//     vector     predict_proba(const vector& x) const;              // binary: size 2
//   Regressors:
//     caf::error learn(const vector& x, double y, double weight = 1.0);
//     double     predict(const vector& x) const;
//   Every learner and transformer:
//     template <class Archive> void serialize(Archive&, unsigned);  // all state, incl. RNG
//     static constexpr const char* model_kind = "...";              // names it in model files
//
//   if (auto err = eddy::ml::check_features(x, 16, "logistic_regression::learn"))
//     return err;   // "logistic_regression::learn: x has 15 features, expected 16"
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace eddy::ml {

/// How a linear learner turns gradients into steps.
enum class optimizer : uint8_t {
  /// Plain stochastic gradient descent with a step-size schedule (see learning_rate).
  sgd,
  /// AdaGrad: a per-coordinate step eta0 / sqrt(sum of squared gradients).
  adagrad,
  /// FTRL-proximal (McMahan et al. 2013), the usual choice for sparse, L1-regularized models.
  ftrl,
};

/// How the SGD step size changes with the update count t (1, 2, ...).
enum class learning_rate : uint8_t {
  /// eta = eta0.
  constant,
  /// eta = 1 / (alpha * (t0 + t - 1)), alpha = l1 + l2 and t0 = 1 / (alpha * sqrt(1 / sqrt(alpha)))
  /// as in scikit-learn's SGDClassifier / SGDRegressor `learning_rate="optimal"` (Bottou).
  optimal,
  /// eta = eta0 / t^power_t.
  inverse_scaling,
};

/// The SGD step size of update `t` (counted from 1) under `schedule`.
[[nodiscard]] inline double sgd_step_size(learning_rate schedule, double eta0, double alpha,
                                          double power_t, double t) noexcept {
  switch (schedule) {
  case learning_rate::optimal: {
    double typw = std::sqrt(1.0 / std::sqrt(alpha));
    double t0 = 1.0 / (typw * alpha);
    return 1.0 / (alpha * (t0 + t - 1.0));
  }
  case learning_rate::inverse_scaling:
    return eta0 / std::pow(t, power_t);
  case learning_rate::constant:
    break;
  }
  return eta0;
}

/// Soft-thresholds `w` by `threshold`: the proximal step of an L1 penalty.
[[nodiscard]] inline double soft_threshold(double w, double threshold) noexcept {
  if (w > threshold)
    return w - threshold;
  if (w < -threshold)
    return w + threshold;
  return 0.0;
}

namespace detail {

// The sentences of failed checks are built out of line and marked cold, so that the checks add
// only a compare and a predictable branch to a learner's hot path.

/// Builds the sentence for a vector that failed check_features.
[[nodiscard, gnu::cold, gnu::noinline]] inline caf::error
bad_features(const vector& x, Eigen::Index n, const char* where) {
  if (x.size() != n)
    return make_error(errc::shape_mismatch, std::string{where} + ": x has " +
                                                std::to_string(x.size()) + " features, expected " +
                                                std::to_string(n));
  for (Eigen::Index i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]))
      return make_error(errc::bad_input, std::string{where} + ": x[" + std::to_string(i) + "] is " +
                                             (std::isnan(x[i]) ? "NaN" : "infinite") +
                                             "; clean or impute the record first");
  return caf::error{};
}

/// Builds the sentence for a bad sample weight.
[[nodiscard, gnu::cold, gnu::noinline]] inline caf::error bad_weight(double weight,
                                                                     const char* where) {
  return make_error(errc::bad_input, std::string{where} + ": weight " + std::to_string(weight) +
                                         " must be finite and >= 0");
}

/// Builds the sentence for a label out of range.
[[nodiscard, gnu::cold, gnu::noinline]] inline caf::error bad_label(int y, int n_classes,
                                                                    const char* where) {
  return make_error(errc::bad_input, std::string{where} + ": label " + std::to_string(y) +
                                         " is outside [0, " + std::to_string(n_classes) + ")");
}

} // namespace detail

/// Checks that `x` has `n` features, all finite; `where` names the caller in the sentence.
[[nodiscard]] inline caf::error check_features(const vector& x, Eigen::Index n, const char* where) {
  if (x.size() == n && x.allFinite())
    return caf::error{};
  return detail::bad_features(x, n, where);
}

/// Checks that a sample weight is finite and not negative.
[[nodiscard]] inline caf::error check_weight(double weight, const char* where) {
  if (std::isfinite(weight) && weight >= 0.0)
    return caf::error{};
  return detail::bad_weight(weight, where);
}

/// Checks that a regression target is finite.
[[nodiscard]] inline caf::error check_target(double y, const char* where) {
  if (std::isfinite(y))
    return caf::error{};
  return make_error(errc::bad_input, std::string{where} + ": the target y is not finite");
}

/// Checks that a class label lies in [0, n_classes).
[[nodiscard]] inline caf::error check_label(int y, int n_classes, const char* where) {
  if (y >= 0 && y < n_classes)
    return caf::error{};
  return detail::bad_label(y, n_classes, where);
}

/// The error of an update that would overflow (finite but huge values, or a step size that
/// diverges); the learner refuses the update and keeps its previous, finite state.
[[nodiscard, gnu::cold, gnu::noinline]] inline caf::error overflow_error(const char* where) {
  return make_error(errc::bad_input, std::string{where} +
                                         ": the update would overflow to a non-finite model "
                                         "(features too large for the step size?); the model "
                                         "is unchanged; scale the features or lower eta0");
}

/// The error of a learner used before make() or loading gave it its shape.
[[nodiscard, gnu::cold, gnu::noinline]] inline caf::error not_made_error(const char* where) {
  return make_error(errc::not_fitted, std::string{where} +
                                          ": the model has no features; make it with make() "
                                          "or load it");
}

/// Checks the result of a transformer's `transform`: errc::bad_input when a finite `x` scaled to
/// a value that is not finite (x far outside the ranges learned so far).
[[nodiscard]] inline caf::error check_transformed(const vector& out, const char* where) {
  if (out.allFinite())
    return caf::error{};
  return make_error(errc::bad_input, std::string{where} + ": x is too large to scale (overflow)");
}

/// The `transform(x)` of a transformer: what `transformer.transform(x, out)` writes, or an empty
/// vector when it refuses `x`.
template <class Transformer>
[[nodiscard]] vector transform_or_empty(const Transformer& transformer, const vector& x) {
  vector out;
  if (transformer.transform(x, out))
    return vector{};
  return out;
}

/// The `learn_transform(x, out)` of a transformer: learns `x`, then writes its transformed value
/// into `out`; on an error from `learn` nothing is written.
template <class Transformer>
caf::error learn_then_transform(Transformer& transformer, const vector& x, vector& out) {
  if (auto err = transformer.learn(x))
    return err;
  return transformer.transform(x, out);
}

/// Checks a batch: as many labels as rows, and every row valid as a single record.
template <class Targets>
[[nodiscard]] caf::error check_batch(const matrix& X, const Targets& y, Eigen::Index n,
                                     const char* where) {
  if (X.rows() != y.size())
    return make_error(errc::shape_mismatch, std::string{where} + ": X has " +
                                                std::to_string(X.rows()) + " rows but y has " +
                                                std::to_string(y.size()) + " labels");
  if (X.rows() > 0 && X.cols() != n)
    return make_error(errc::shape_mismatch, std::string{where} + ": X has " +
                                                std::to_string(X.cols()) + " columns, expected " +
                                                std::to_string(n));
  if (!X.allFinite())
    return make_error(errc::bad_input,
                      std::string{where} + ": X holds a NaN or infinite value; nothing learned");
  return caf::error{};
}

/// Learns every row of `X` with its label, after checking the whole batch: on bad input the
/// learner is left unchanged. `Learner::learn(x, y)` must accept one row and its label, and
/// `check_one(y[i])` returns the error for a label or target the learner refuses.
template <class Learner, class Targets, class CheckTarget>
[[nodiscard]] caf::error learn_rows(Learner& learner, const matrix& X, const Targets& y,
                                    Eigen::Index n, const char* where, CheckTarget check_one) {
  if (auto err = check_batch(X, y, n, where))
    return err;
  for (Eigen::Index i = 0; i < y.size(); ++i)
    if (auto err = check_one(y[i]))
      return err;
  vector row(X.cols());
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    for (Eigen::Index j = 0; j < X.cols(); ++j) // no resize: GCC 12 -Wuse-after-free false alarm
      row[j] = X(i, j);
    if (auto err = learner.learn(row, y[i]))
      return err; // unreachable after the checks above; kept so no error is dropped
  }
  return caf::error{};
}

} // namespace eddy::ml
