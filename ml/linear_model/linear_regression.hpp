// Online linear regression (squared loss) trained one record at a time with SGD or AdaGrad and
// an L2 penalty.
//
//   auto model = eddy::ml::linear_regression::make(8);   // scikit-learn SGDRegressor defaults
//   if (!model) return model.error();
//   if (auto err = model->learn(x, 21.5); err) std::cerr << eddy::describe(err);
//   double y_hat = model->predict(x);
//
// With the default configuration (SGD, learning_rate::inverse_scaling, eta0 = 0.01,
// power_t = 0.25, l2 = 1e-4, intercept) one update is the update of scikit-learn's
// `SGDRegressor().partial_fit` on one row. The update allocates nothing.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>

#include <caf/expected.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace eddy::ml {

/// The settings of a linear_regression; make() says which value is out of range.
struct linear_regression_config {
  /// optimizer::sgd or optimizer::adagrad. Default: optimizer::sgd.
  optimizer method = optimizer::sgd;
  /// The SGD step-size schedule. Default: learning_rate::inverse_scaling.
  learning_rate schedule = learning_rate::inverse_scaling;
  /// Base step size (constant and inverse-scaling SGD, AdaGrad). Default: 0.01.
  double eta0 = 0.01;
  /// Exponent of inverse-scaling SGD. Default: 0.25.
  double power_t = 0.25;
  /// L2 penalty strength (scikit-learn's alpha). Default: 1e-4.
  double l2 = 1e-4;
  /// Learn an unpenalized intercept. Default: true.
  bool fit_intercept = true;

  /// Saves or loads every setting.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& method& schedule& eta0& power_t& l2;
    serialize_flag(ar, fit_intercept, "linear_regression: fit_intercept");
  }
};

/// Online linear regression with squared loss.
class linear_regression {
public:
  /// Names this learner in model files.
  static constexpr const char* model_kind = "eddy.ml.linear_regression";

  // -- constructors ------------------------------------------------------------------------------

  /// An empty model with no features, to be filled by deserialization.
  linear_regression() = default;

  /// Makes a model for `n_features` features, or says which setting is out of range.
  [[nodiscard]] static caf::expected<linear_regression> make(Eigen::Index n_features,
                                                             linear_regression_config cfg = {}) {
    if (n_features < 1)
      return make_error(errc::invalid_argument, "linear_regression: n_features must be at least 1");
    if (auto err = validate(cfg))
      return err;
    linear_regression result;
    result.cfg_ = cfg;
    result.weights_.setZero(n_features);
    if (cfg.method == optimizer::adagrad)
      result.accum_.setZero(n_features + 1); // last entry: the intercept's coordinate
    return result;
  }

  /// The error `make` returns for `cfg`, or none.
  [[nodiscard]] static caf::error validate(const linear_regression_config& cfg) {
    auto bad = [](std::string what) {
      return make_error(errc::invalid_argument, "linear_regression: " + std::move(what));
    };
    if (cfg.method != optimizer::sgd && cfg.method != optimizer::adagrad)
      return bad("the optimizer must be sgd or adagrad (ftrl is for logistic_regression)");
    if (cfg.schedule != learning_rate::constant && cfg.schedule != learning_rate::optimal &&
        cfg.schedule != learning_rate::inverse_scaling)
      return bad("the learning rate must be constant, optimal or inverse_scaling");
    if (!(cfg.eta0 > 0.0) || !std::isfinite(cfg.eta0))
      return bad("eta0 must be finite and > 0");
    if (!(cfg.l2 >= 0.0) || !std::isfinite(cfg.l2) || !(cfg.power_t >= 0.0))
      return bad("l2 and power_t must be finite and >= 0");
    if (cfg.method == optimizer::sgd && cfg.schedule == learning_rate::optimal && !(cfg.l2 > 0.0))
      return bad("learning_rate::optimal needs l2 > 0 (it scales the step by 1 / alpha)");
    return caf::error{};
  }

  // -- learning ----------------------------------------------------------------------------------

  /// Learns one record `x` with target `y`; leaves the model unchanged and returns the reason
  /// when x has the wrong size or a non-finite value, y or the weight is not valid, or the
  /// update would overflow the model (a diverging step size).
  caf::error learn(const vector& x, double y, double weight = 1.0) {
    constexpr const char* where = "linear_regression::learn";
    if (weights_.size() == 0)
      return not_made_error(where);
    if (auto err = check_features(x, weights_.size(), where))
      return err;
    if (auto err = check_target(y, where))
      return err;
    if (auto err = check_weight(weight, where))
      return err;
    double g = (weights_.dot(x) + intercept_ - y) * weight;
    if (!std::isfinite(g))
      return overflow_error(where);
    if (cfg_.method == optimizer::sgd) {
      double eta = sgd_step_size(cfg_.schedule, cfg_.eta0, cfg_.l2, cfg_.power_t, t_);
      double shrink = cfg_.l2 > 0.0 ? std::max(0.0, 1.0 - eta * cfg_.l2) : 1.0;
      double b = cfg_.fit_intercept ? intercept_ - eta * g : intercept_;
      if (!std::isfinite(b) || !(shrink * weights_ - (eta * g) * x).allFinite())
        return overflow_error(where); // checked before writing: the model stays as it was
      weights_ = shrink * weights_ - (eta * g) * x;
      intercept_ = b;
    } else {
      saved_weights_ = weights_;
      saved_accum_ = accum_;
      const Eigen::Index n = weights_.size();
      for (Eigen::Index j = 0; j < n; ++j) {
        double grad = g * x[j] + cfg_.l2 * weights_[j];
        accum_[j] += grad * grad;
        weights_[j] -= cfg_.eta0 / (std::sqrt(accum_[j]) + 1e-8) * grad;
      }
      double b = intercept_;
      if (cfg_.fit_intercept) {
        accum_[n] += g * g;
        b -= cfg_.eta0 / (std::sqrt(accum_[n]) + 1e-8) * g;
      }
      if (!std::isfinite(b) || !weights_.allFinite() || !accum_.allFinite()) {
        weights_ = saved_weights_;
        accum_ = saved_accum_;
        return overflow_error(where);
      }
      intercept_ = b;
    }
    t_ += 1.0;
    return caf::error{};
  }

  /// Learns every row of `X` in order; on any bad row or target nothing is learned.
  caf::error learn_batch(const matrix& X, const vector& y) {
    constexpr const char* where = "linear_regression::learn_batch";
    return learn_rows(*this, X, y, weights_.size(), where,
                      [](double target) { return check_target(target, where); });
  }

  // -- prediction --------------------------------------------------------------------------------

  /// Returns w . x + b; NaN when x has the wrong size. x must be finite (see check_features).
  [[nodiscard]] double predict(const vector& x) const {
    if (x.size() != weights_.size())
      return std::nan("");
    return weights_.dot(x) + intercept_;
  }

  // -- properties --------------------------------------------------------------------------------

  /// The number of features each record must have.
  [[nodiscard]] Eigen::Index n_features() const noexcept { return weights_.size(); }

  /// The settings the model was made with.
  [[nodiscard]] const linear_regression_config& config() const noexcept { return cfg_; }

  /// The weights.
  [[nodiscard]] const vector& weights() const noexcept { return weights_; }

  /// The intercept.
  [[nodiscard]] double intercept() const noexcept { return intercept_; }

  /// The number of records learned so far.
  [[nodiscard]] double n_updates() const noexcept { return t_ - 1.0; }

  /// True when two models have exactly the same state.
  [[nodiscard]] bool same_state(const linear_regression& other) const {
    return weights_ == other.weights_ && intercept_ == other.intercept_ && t_ == other.t_ &&
           accum_ == other.accum_;
  }

  /// Saves or loads all state, optimizer accumulators included. A loaded state whose sizes
  /// disagree with its settings, or that holds a value that is not finite, throws
  /// (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& weights_& intercept_& accum_& t_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// Refuses a loaded state that would read out of bounds or holds a value that is not finite.
  void check_loaded() const {
    if (auto err = validate(cfg_))
      throw_corrupt_archive(eddy::describe(err));
    const Eigen::Index n = weights_.size();
    const Eigen::Index expected = n > 0 && cfg_.method == optimizer::adagrad ? n + 1 : 0;
    if (accum_.size() != expected)
      throw_corrupt_archive("linear_regression: " + std::to_string(accum_.size()) +
                            " sums of squared gradients for " + std::to_string(n) +
                            " weights, expected " + std::to_string(expected));
    if (!weights_.allFinite() || !std::isfinite(intercept_) || !accum_.allFinite() ||
        (accum_.size() > 0 && accum_.minCoeff() < 0.0))
      throw_corrupt_archive("linear_regression: a weight, the intercept or an optimizer sum is "
                            "not finite (or a sum of squares is negative)");
    if (!(t_ >= 1.0) || !std::isfinite(t_))
      throw_corrupt_archive("linear_regression: the update counter is not finite and >= 1");
  }

  /// The settings.
  linear_regression_config cfg_;
  /// The weights.
  vector weights_;
  /// The intercept.
  double intercept_ = 0.0;
  /// AdaGrad sums of squared gradients; last entry for the intercept.
  vector accum_;
  /// The update counter t of the step-size schedule, starting at 1.
  double t_ = 1.0;
  /// Copies of the state taken before an AdaGrad update (not state).
  vector saved_weights_, saved_accum_;
};

} // namespace eddy::ml
