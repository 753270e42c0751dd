// Online logistic regression: binary (one weight vector, sigmoid) or multinomial (one weight
// vector per class, softmax), trained one record at a time with SGD, AdaGrad or FTRL-proximal,
// with L1 and L2 penalties.
//
//   auto model = eddy::ml::logistic_regression::make(16);          // binary, sklearn defaults
//   if (!model) return model.error();
//   if (auto err = model->learn(x, 1); err) std::cerr << eddy::describe(err);
//   double p = model->predict_proba(x)[1];                          // P(class 1)
//
// With the default configuration (SGD, learning_rate::optimal, l2 = 1e-4, intercept) one update
// is the same update as scikit-learn's `SGDClassifier(loss="log_loss").partial_fit` on one row.
// The update allocates nothing.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>

#include <caf/expected.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace eddy::ml {

/// The settings of a logistic_regression; make() says which value is out of range.
struct logistic_regression_config {
  /// Number of classes; 2 gives a binary model, more a multinomial (softmax) one. Default: 2.
  int n_classes = 2;
  /// How gradients become steps. Default: optimizer::sgd.
  optimizer method = optimizer::sgd;
  /// The SGD step-size schedule (SGD only). Default: learning_rate::optimal.
  learning_rate schedule = learning_rate::optimal;
  /// Base step size for constant and inverse-scaling SGD, and for AdaGrad. Default: 0.01.
  double eta0 = 0.01;
  /// Exponent of inverse-scaling SGD. Default: 0.5.
  double power_t = 0.5;
  /// L1 penalty strength. Default: 0.
  double l1 = 0.0;
  /// L2 penalty strength (scikit-learn's alpha). Default: 1e-4.
  double l2 = 1e-4;
  /// FTRL-proximal alpha (per-coordinate step scale). Default: 0.1.
  double ftrl_alpha = 0.1;
  /// FTRL-proximal beta (smoothing of the per-coordinate step). Default: 1.
  double ftrl_beta = 1.0;
  /// Learn an unpenalized intercept per weight vector. Default: true.
  bool fit_intercept = true;

  /// Saves or loads every setting.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& n_classes& method& schedule& eta0& power_t& l1& l2& ftrl_alpha& ftrl_beta;
    serialize_flag(ar, fit_intercept, "logistic_regression: fit_intercept");
  }
};

/// Online binary or multinomial logistic regression.
class logistic_regression {
public:
  /// Names this learner in model files.
  static constexpr const char* model_kind = "eddy.ml.logistic_regression";

  /// Row-major weights, one row per weight vector, so that each row is contiguous.
  using weight_matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  // -- constructors ------------------------------------------------------------------------------

  /// An empty model with no features, to be filled by deserialization.
  logistic_regression() = default;

  /// Makes a model for `n_features` features, or says which setting is out of range.
  [[nodiscard]] static caf::expected<logistic_regression>
  make(Eigen::Index n_features, logistic_regression_config cfg = {}) {
    if (auto err = validate(n_features, cfg))
      return err;
    logistic_regression result;
    result.cfg_ = cfg;
    result.n_features_ = n_features;
    result.allocate();
    return result;
  }

  /// The error `make` returns for these settings, or none.
  [[nodiscard]] static caf::error validate(Eigen::Index n_features,
                                           const logistic_regression_config& cfg) {
    auto bad = [](std::string what) {
      return make_error(errc::invalid_argument, "logistic_regression: " + std::move(what));
    };
    if (n_features < 1)
      return bad("n_features must be at least 1");
    if (cfg.n_classes < 2)
      return bad("n_classes must be at least 2");
    if (cfg.method != optimizer::sgd && cfg.method != optimizer::adagrad &&
        cfg.method != optimizer::ftrl)
      return bad("the optimizer must be sgd, adagrad or ftrl");
    if (cfg.schedule != learning_rate::constant && cfg.schedule != learning_rate::optimal &&
        cfg.schedule != learning_rate::inverse_scaling)
      return bad("the learning rate must be constant, optimal or inverse_scaling");
    if (!(cfg.eta0 > 0.0) || !std::isfinite(cfg.eta0))
      return bad("eta0 must be finite and > 0");
    if (!(cfg.l1 >= 0.0) || !(cfg.l2 >= 0.0) || !std::isfinite(cfg.l1 + cfg.l2))
      return bad("l1 and l2 must be finite and >= 0");
    if (cfg.method == optimizer::sgd && cfg.schedule == learning_rate::optimal &&
        !(cfg.l1 + cfg.l2 > 0.0))
      return bad("learning_rate::optimal needs l1 + l2 > 0 (it scales the step by 1 / alpha)");
    if (!(cfg.power_t >= 0.0) || !(cfg.ftrl_alpha > 0.0) || !(cfg.ftrl_beta >= 0.0))
      return bad("power_t and ftrl_beta must be >= 0 and ftrl_alpha > 0");
    return caf::error{};
  }

  // -- learning ----------------------------------------------------------------------------------

  /// Learns one record `x` with label `y` in [0, n_classes); leaves the model unchanged and
  /// returns the reason when x has the wrong size or a non-finite value, y is out of range or
  /// the weight is negative or not finite, or the update would overflow the model.
  caf::error learn(const vector& x, int y, double weight = 1.0) {
    constexpr const char* where = "logistic_regression::learn";
    if (n_features_ == 0)
      return not_made_error(where);
    if (auto err = check_features(x, n_features_, where))
      return err;
    if (auto err = check_label(y, cfg_.n_classes, where))
      return err;
    if (auto err = check_weight(weight, where))
      return err;
    if (cfg_.n_classes == 2 && cfg_.method == optimizer::sgd) {
      // the hot path: checks that the update stays finite before writing it, no copies
      double g = (sigmoid(weights_.row(0).dot(x) + intercepts_[0]) - y) * weight;
      double eta = cfg_.schedule == learning_rate::optimal
                       ? 1.0 / (alpha_ * (t0_ + t_ - 1.0)) // sgd_step_size, hoisted
                       : sgd_step_size(cfg_.schedule, cfg_.eta0, alpha_, cfg_.power_t, t_);
      double shrink = cfg_.l2 > 0.0 ? std::max(0.0, 1.0 - eta * cfg_.l2) : 1.0;
      double b = cfg_.fit_intercept ? intercepts_[0] - eta * g : intercepts_[0];
      auto w = weights_.row(0);
      if (!std::isfinite(b) || !(shrink * w - (eta * g) * x.transpose()).allFinite())
        return overflow_error(where);
      w = shrink * w - (eta * g) * x.transpose();
      if (cfg_.l1 > 0.0)
        for (Eigen::Index j = 0; j < n_features_; ++j)
          w[j] = soft_threshold(w[j], eta * cfg_.l1);
      intercepts_[0] = b;
    } else {
      // other paths: update, and restore the saved state if anything became non-finite
      saved_weights_ = weights_;
      saved_intercepts_ = intercepts_;
      saved_accum_ = accum_;
      saved_z_ = z_;
      if (cfg_.n_classes == 2) {
        step(0, (sigmoid(weights_.row(0).dot(x) + intercepts_[0]) - y) * weight, x);
      } else {
        scores(x, scratch_);
        for (Eigen::Index k = 0; k < weights_.rows(); ++k)
          step(k, (scratch_[k] - (k == y ? 1.0 : 0.0)) * weight, x);
      }
      if (!weights_.allFinite() || !intercepts_.allFinite() || !accum_.allFinite() ||
          !z_.allFinite()) {
        weights_ = saved_weights_;
        intercepts_ = saved_intercepts_;
        accum_ = saved_accum_;
        z_ = saved_z_;
        return overflow_error(where);
      }
    }
    t_ += 1.0;
    return caf::error{};
  }

  /// Learns every row of `X` in order; on any bad row or label nothing is learned.
  caf::error learn_batch(const matrix& X, const labels& y) {
    constexpr const char* where = "logistic_regression::learn_batch";
    return learn_rows(*this, X, y, n_features_, where,
                      [&](int label) { return check_label(label, cfg_.n_classes, where); });
  }

  // -- prediction --------------------------------------------------------------------------------

  /// Returns the class probabilities of `x` (size 2 for a binary model); an empty vector when
  /// x has the wrong size. x must be finite (see check_features).
  [[nodiscard]] vector predict_proba(const vector& x) const {
    if (x.size() != n_features_ || n_features_ == 0)
      return vector{};
    vector result(cfg_.n_classes);
    if (cfg_.n_classes == 2) {
      double p = sigmoid(weights_.row(0).dot(x) + intercepts_[0]);
      result << 1.0 - p, p;
    } else {
      scores(x, result);
    }
    return result;
  }

  /// Returns P(class 1 | x) of a binary model, as predict_proba(x)[1] but without allocating;
  /// NaN when x has the wrong size or the model is not binary.
  [[nodiscard]] double proba_of_one(const vector& x) const {
    if (x.size() != n_features_ || n_features_ == 0 || cfg_.n_classes != 2)
      return std::nan("");
    return sigmoid(weights_.row(0).dot(x) + intercepts_[0]);
  }

  /// Returns the most probable class of `x`, or -1 when x has the wrong size.
  [[nodiscard]] int predict(const vector& x) const {
    if (x.size() != n_features_ || n_features_ == 0)
      return -1;
    if (cfg_.n_classes == 2)
      return decision_function(x) > 0.0 ? 1 : 0;
    Eigen::Index best = 0;
    (weights_ * x + intercepts_).maxCoeff(&best);
    return static_cast<int>(best);
  }

  /// Returns w . x + b of a binary model (the log-odds of class 1); NaN when x has the wrong
  /// size.
  [[nodiscard]] double decision_function(const vector& x) const {
    if (x.size() != n_features_ || n_features_ == 0)
      return std::nan("");
    return weights_.row(0).dot(x) + intercepts_[0];
  }

  // -- properties --------------------------------------------------------------------------------

  /// The number of features each record must have.
  [[nodiscard]] Eigen::Index n_features() const noexcept { return n_features_; }

  /// The number of classes.
  [[nodiscard]] int n_classes() const noexcept { return cfg_.n_classes; }

  /// The settings the model was made with.
  [[nodiscard]] const logistic_regression_config& config() const noexcept { return cfg_; }

  /// The weights: one row for a binary model, one row per class otherwise.
  [[nodiscard]] const weight_matrix& weights() const noexcept { return weights_; }

  /// The intercepts, one per row of weights().
  [[nodiscard]] const vector& intercepts() const noexcept { return intercepts_; }

  /// The number of records learned so far.
  [[nodiscard]] double n_updates() const noexcept { return t_ - 1.0; }

  /// The average of `models` (parameter mixing, for replicas trained on parts of a stream):
  /// weights, intercepts and the optimizer's sums averaged, the updates summed. The models must
  /// have the same number of features and classes and the same optimizer; otherwise, or with no
  /// model, errc::invalid_argument. The average of one model is that model.
  [[nodiscard]] static caf::expected<logistic_regression>
  average(const std::vector<const logistic_regression*>& models) {
    if (models.empty())
      return make_error(errc::invalid_argument, "logistic_regression::average: no model");
    const auto& first = *models.front();
    for (const auto* m : models)
      if (m->n_features_ != first.n_features_ || m->cfg_.n_classes != first.cfg_.n_classes ||
          m->cfg_.method != first.cfg_.method)
        return make_error(errc::invalid_argument,
                          "logistic_regression::average: the models differ in features, classes "
                          "or optimizer");
    logistic_regression out = first;
    const double k = double(models.size());
    double updates = 0.0;
    for (size_t i = 0; i < models.size(); ++i) {
      const auto& m = *models[i];
      if (i > 0) {
        out.weights_ += m.weights_;
        out.intercepts_ += m.intercepts_;
        out.accum_ += m.accum_;
        out.z_ += m.z_;
      }
      updates += m.t_ - 1.0;
    }
    out.weights_ /= k;
    out.intercepts_ /= k;
    out.accum_ /= k;
    out.z_ /= k;
    out.t_ = 1.0 + updates;
    return out;
  }

  /// True when two models have the same settings and exactly the same state.
  [[nodiscard]] bool same_state(const logistic_regression& other) const {
    return n_features_ == other.n_features_ && cfg_.n_classes == other.cfg_.n_classes &&
           t_ == other.t_ && weights_ == other.weights_ && intercepts_ == other.intercepts_ &&
           accum_ == other.accum_ && z_ == other.z_;
  }

  /// Saves or loads all state, optimizer accumulators included. A loaded state whose sizes
  /// disagree with its settings, or that holds a value that is not finite, throws
  /// (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& n_features_& weights_& intercepts_& accum_& z_& t_;
    if constexpr (Archive::is_loading::value) {
      check_loaded();
      derive();
    }
  }

private:
  static double sigmoid(double z) noexcept {
    if (z >= 0.0)
      return 1.0 / (1.0 + std::exp(-z));
    double e = std::exp(z);
    return e / (1.0 + e);
  }

  /// Refuses a loaded state that would read out of bounds or holds a value that is not finite.
  void check_loaded() const {
    auto shape = [](const weight_matrix& m) {
      return std::to_string(m.rows()) + " x " + std::to_string(m.cols());
    };
    if (n_features_ == 0) {
      if (weights_.size() != 0 || intercepts_.size() != 0 || accum_.size() != 0 || z_.size() != 0)
        throw_corrupt_archive("logistic_regression: a model of no features holds weights");
      return;
    }
    if (auto err = validate(n_features_, cfg_))
      throw_corrupt_archive(eddy::describe(err));
    const Eigen::Index rows = cfg_.n_classes == 2 ? 1 : cfg_.n_classes;
    if (weights_.rows() != rows || weights_.cols() != n_features_)
      throw_corrupt_archive("logistic_regression: the weights are " + shape(weights_) +
                            ", expected " + std::to_string(rows) + " x " +
                            std::to_string(n_features_) + " for " + std::to_string(cfg_.n_classes) +
                            " classes and " + std::to_string(n_features_) + " features");
    if (intercepts_.size() != rows)
      throw_corrupt_archive("logistic_regression: " + std::to_string(intercepts_.size()) +
                            " intercepts for " + std::to_string(rows) + " weight vectors");
    const bool has_accum = cfg_.method != optimizer::sgd;
    if (has_accum ? accum_.rows() != rows || accum_.cols() != n_features_ + 1 : accum_.size() != 0)
      throw_corrupt_archive("logistic_regression: the optimizer's sums of squared gradients are " +
                            shape(accum_) + ", expected " +
                            (has_accum
                                 ? std::to_string(rows) + " x " + std::to_string(n_features_ + 1)
                                 : std::string{"none for SGD"}));
    const bool has_z = cfg_.method == optimizer::ftrl;
    if (has_z ? z_.rows() != rows || z_.cols() != n_features_ + 1 : z_.size() != 0)
      throw_corrupt_archive("logistic_regression: FTRL's z is " + shape(z_) + ", expected " +
                            (has_z ? std::to_string(rows) + " x " + std::to_string(n_features_ + 1)
                                   : std::string{"none for another optimizer"}));
    if (!weights_.allFinite() || !intercepts_.allFinite() || !accum_.allFinite() ||
        !z_.allFinite() || (accum_.size() > 0 && accum_.minCoeff() < 0.0))
      throw_corrupt_archive("logistic_regression: a weight, intercept or optimizer sum is not "
                            "finite (or a sum of squares is negative)");
    if (!(t_ >= 1.0) || !std::isfinite(t_))
      throw_corrupt_archive("logistic_regression: the update counter is not finite and >= 1");
  }

  /// Computes the values derived from the settings (not state, so not serialized).
  void derive() {
    alpha_ = cfg_.l1 + cfg_.l2;
    t0_ = alpha_ > 0.0 ? 1.0 / (std::sqrt(1.0 / std::sqrt(alpha_)) * alpha_) : 0.0;
    scratch_.setZero(weights_.rows());
  }

  void allocate() {
    Eigen::Index rows = cfg_.n_classes == 2 ? 1 : cfg_.n_classes;
    weights_.setZero(rows, n_features_);
    intercepts_.setZero(rows);
    derive();
    if (cfg_.method != optimizer::sgd) {
      accum_.setZero(rows, n_features_ + 1); // last column: the intercept's coordinate
      if (cfg_.method == optimizer::ftrl)
        z_.setZero(rows, n_features_ + 1);
    }
  }

  /// Writes the softmax of the multinomial scores of `x` into `out` (size n_classes).
  void scores(const vector& x, vector& out) const {
    out.noalias() = weights_ * x;
    out += intercepts_;
    out.array() -= out.maxCoeff();
    out = out.array().exp();
    out /= out.sum();
  }

  /// Moves row `k` against the gradient g * x of the loss (g already includes the weight).
  void step(Eigen::Index k, double g, const vector& x) {
    auto w = weights_.row(k);
    const Eigen::Index n = n_features_;
    switch (cfg_.method) {
    case optimizer::sgd: {
      double eta = sgd_step_size(cfg_.schedule, cfg_.eta0, cfg_.l1 + cfg_.l2, cfg_.power_t, t_);
      double shrink = cfg_.l2 > 0.0 ? std::max(0.0, 1.0 - eta * cfg_.l2) : 1.0;
      w = shrink * w - (eta * g) * x.transpose();
      if (cfg_.l1 > 0.0)
        for (Eigen::Index j = 0; j < n; ++j)
          w[j] = soft_threshold(w[j], eta * cfg_.l1);
      if (cfg_.fit_intercept)
        intercepts_[k] -= eta * g;
      break;
    }
    case optimizer::adagrad: {
      auto acc = accum_.row(k);
      for (Eigen::Index j = 0; j < n; ++j) {
        double grad = g * x[j] + cfg_.l2 * w[j];
        acc[j] += grad * grad;
        double eta = cfg_.eta0 / (std::sqrt(acc[j]) + 1e-8);
        w[j] = soft_threshold(w[j] - eta * grad, eta * cfg_.l1);
      }
      if (cfg_.fit_intercept) {
        acc[n] += g * g;
        intercepts_[k] -= cfg_.eta0 / (std::sqrt(acc[n]) + 1e-8) * g;
      }
      break;
    }
    case optimizer::ftrl: {
      for (Eigen::Index j = 0; j < n; ++j)
        w[j] = ftrl_coordinate(k, j, g * x[j], w[j], cfg_.l1, cfg_.l2);
      if (cfg_.fit_intercept)
        intercepts_[k] = ftrl_coordinate(k, n, g, intercepts_[k], 0.0, 0.0);
      break;
    }
    }
  }

  /// One FTRL-proximal update of coordinate (k, j) with gradient `grad`; returns the new weight.
  double ftrl_coordinate(Eigen::Index k, Eigen::Index j, double grad, double w, double l1,
                         double l2) {
    double& n = accum_(k, j);
    double& z = z_(k, j);
    double sigma = (std::sqrt(n + grad * grad) - std::sqrt(n)) / cfg_.ftrl_alpha;
    z += grad - sigma * w;
    n += grad * grad;
    if (std::abs(z) <= l1)
      return 0.0;
    double sign = z < 0.0 ? -1.0 : 1.0;
    return -(z - sign * l1) / ((cfg_.ftrl_beta + std::sqrt(n)) / cfg_.ftrl_alpha + l2);
  }

  /// The settings.
  logistic_regression_config cfg_;
  /// The number of features per record.
  Eigen::Index n_features_ = 0;
  /// One row of weights per weight vector.
  weight_matrix weights_;
  /// One intercept per weight vector.
  vector intercepts_;
  /// AdaGrad sums of squared gradients, or FTRL n; last column for the intercept.
  weight_matrix accum_;
  /// FTRL z; last column for the intercept.
  weight_matrix z_;
  /// The update counter t of the step-size schedule, starting at 1.
  double t_ = 1.0;
  /// Scratch for the multinomial class probabilities (not state).
  vector scratch_;
  /// l1 + l2, the alpha of learning_rate::optimal (derived from the settings).
  double alpha_ = 0.0;
  /// t0 of learning_rate::optimal (derived from the settings).
  double t0_ = 0.0;
  /// Copies of the state taken before a multinomial, AdaGrad or FTRL update (not state).
  weight_matrix saved_weights_, saved_accum_, saved_z_;
  /// A copy of the intercepts taken before such an update (not state).
  vector saved_intercepts_;
};

} // namespace eddy::ml
