// Online Gaussian naive Bayes: per class, a weighted running mean and variance of every feature;
// predicts with Bayes' rule assuming independent normal features.
//
//   auto model = eddy::ml::gaussian_naive_bayes::make(4, 3);   // 4 features, classes 0..2
//   if (!model) return model.error();
//   if (auto err = model->learn(x, 2); err) std::cerr << eddy::describe(err);
//   eddy::ml::vector p = model->predict_proba(x);               // size 3
//
// As scikit-learn's GaussianNB, every variance gets var_smoothing times the largest feature
// variance seen so far added, so that a class seen once still has a density. Learning a record
// is O(features) and exact in any order: the same records give the same model as a batch fit.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>

#include <caf/expected.hpp>

#include <cmath>
#include <limits>
#include <string>

namespace eddy::ml {

/// Online Gaussian naive Bayes classifier.
class gaussian_naive_bayes {
public:
  /// 2π, to double precision (M_PI is POSIX, not standard C++17).
  static constexpr double two_pi = 6.283185307179586476925286766559005768;

  /// Names this learner in model files.
  static constexpr const char* model_kind = "eddy.ml.gaussian_naive_bayes";

  // -- constructors ------------------------------------------------------------------------------

  /// An empty model with no features, to be filled by deserialization.
  gaussian_naive_bayes() = default;

  /// Makes a model for `n_features` features and classes 0 .. n_classes - 1;
  /// `var_smoothing` defaults to scikit-learn's 1e-9.
  [[nodiscard]] static caf::expected<gaussian_naive_bayes>
  make(Eigen::Index n_features, int n_classes = 2, double var_smoothing = 1e-9) {
    if (n_features < 1 || n_classes < 2)
      return make_error(errc::invalid_argument,
                        "gaussian_naive_bayes: needs at least 1 feature and 2 classes");
    if (!(var_smoothing >= 0.0) || !std::isfinite(var_smoothing))
      return make_error(errc::invalid_argument,
                        "gaussian_naive_bayes: var_smoothing must be finite and >= 0");
    gaussian_naive_bayes result;
    result.var_smoothing_ = var_smoothing;
    result.weights_.setZero(n_classes);
    result.means_.setZero(n_classes, n_features);
    result.m2_.setZero(n_classes, n_features);
    result.all_mean_.setZero(n_features);
    result.all_m2_.setZero(n_features);
    return result;
  }

  // -- learning ----------------------------------------------------------------------------------

  /// Learns record `x` of class `y` with a sample weight; leaves the model unchanged and returns
  /// the reason when x has the wrong size or a non-finite value, or y or the weight is invalid.
  caf::error learn(const vector& x, int y, double weight = 1.0) {
    constexpr const char* where = "gaussian_naive_bayes::learn";
    if (auto err = check_features(x, means_.cols(), where))
      return err;
    if (auto err = check_label(y, n_classes(), where))
      return err;
    if (auto err = check_weight(weight, where))
      return err;
    if (weight == 0.0)
      return caf::error{};
    // weighted Welford (West 1979), per class and over all records; saved first, so that an
    // update overflowing on huge but finite values can be undone
    saved_mean_ = means_.row(y).transpose();
    saved_m2_ = m2_.row(y).transpose();
    saved_all_mean_ = all_mean_;
    saved_all_m2_ = all_m2_;
    double saved_weight = weights_[y];
    double saved_all_weight = all_weight_;
    weights_[y] += weight;
    auto mean = means_.row(y);
    auto m2 = m2_.row(y);
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      double delta = x[j] - mean[j];
      mean[j] += weight / weights_[y] * delta;
      m2[j] += weight * delta * (x[j] - mean[j]);
    }
    all_weight_ += weight;
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      double delta = x[j] - all_mean_[j];
      all_mean_[j] += weight / all_weight_ * delta;
      all_m2_[j] += weight * delta * (x[j] - all_mean_[j]);
    }
    if (!mean.allFinite() || !m2.allFinite() || !all_mean_.allFinite() || !all_m2_.allFinite() ||
        !std::isfinite(all_weight_)) {
      means_.row(y) = saved_mean_.transpose();
      m2_.row(y) = saved_m2_.transpose();
      all_mean_ = saved_all_mean_;
      all_m2_ = saved_all_m2_;
      weights_[y] = saved_weight;
      all_weight_ = saved_all_weight;
      return overflow_error(where);
    }
    return caf::error{};
  }

  /// Learns every row of `X` in order; on any bad row or label nothing is learned.
  caf::error learn_batch(const matrix& X, const labels& y) {
    constexpr const char* where = "gaussian_naive_bayes::learn_batch";
    return learn_rows(*this, X, y, means_.cols(), where,
                      [&](int label) { return check_label(label, n_classes(), where); });
  }

  // -- prediction --------------------------------------------------------------------------------

  /// Returns the class probabilities of `x` (size n_classes): 0 for classes never seen, uniform
  /// over the seen classes before any evidence; an empty vector when x has the wrong size.
  [[nodiscard]] vector predict_proba(const vector& x) const {
    if (x.size() != means_.cols() || means_.size() == 0)
      return vector{};
    const double minus_inf = -std::numeric_limits<double>::infinity();
    double epsilon = all_weight_ > 0.0 ? var_smoothing_ * (all_m2_ / all_weight_).maxCoeff() : 0.0;
    if (!(epsilon > 0.0))
      epsilon = 1e-9; // every feature constant so far
    vector log_p(n_classes());
    for (int k = 0; k < n_classes(); ++k) {
      if (weights_[k] <= 0.0) {
        log_p[k] = minus_inf;
        continue;
      }
      double sum = std::log(weights_[k] / all_weight_);
      for (Eigen::Index j = 0; j < x.size(); ++j) {
        double var = m2_(k, j) / weights_[k] + epsilon;
        double d = x[j] - means_(k, j);
        sum -= 0.5 * (std::log(two_pi * var) + d * d / var);
      }
      log_p[k] = sum;
    }
    double top = log_p.maxCoeff();
    if (top == minus_inf) { // nothing learned, or x infinitely far from every class
      for (int k = 0; k < n_classes(); ++k)
        log_p[k] = weights_[k] > 0.0 || all_weight_ == 0.0 ? 0.0 : minus_inf;
      top = 0.0;
    }
    vector p(n_classes());
    for (int k = 0; k < n_classes(); ++k)
      p[k] = std::exp(log_p[k] - top); // std::exp: exactly 0 for classes never seen
    return p / p.sum();
  }

  /// Returns the most probable class of `x`, or -1 when x has the wrong size.
  [[nodiscard]] int predict(const vector& x) const {
    auto p = predict_proba(x);
    if (p.size() == 0)
      return -1;
    Eigen::Index best = 0;
    p.maxCoeff(&best);
    return static_cast<int>(best);
  }

  // -- properties --------------------------------------------------------------------------------

  /// The number of features each record must have.
  [[nodiscard]] Eigen::Index n_features() const noexcept { return means_.cols(); }

  /// The number of classes.
  [[nodiscard]] int n_classes() const noexcept { return static_cast<int>(weights_.size()); }

  /// The total sample weight learned per class.
  [[nodiscard]] const vector& class_weights() const noexcept { return weights_; }

  /// The mean of each feature per class (one row per class).
  [[nodiscard]] const matrix& means() const noexcept { return means_; }

  /// The (population) variance of each feature per class, without smoothing.
  [[nodiscard]] matrix variances() const {
    matrix v = m2_;
    for (int k = 0; k < n_classes(); ++k)
      v.row(k) /= weights_[k] > 0.0 ? weights_[k] : 1.0;
    return v;
  }

  /// True when two models have exactly the same state.
  [[nodiscard]] bool same_state(const gaussian_naive_bayes& other) const {
    return weights_ == other.weights_ && means_ == other.means_ && m2_ == other.m2_ &&
           all_weight_ == other.all_weight_ && all_mean_ == other.all_mean_ &&
           all_m2_ == other.all_m2_;
  }

  /// Saves or loads all state. A loaded state whose sizes disagree (class weights, means and
  /// spreads of other numbers of classes or features) or that holds a value that is not finite
  /// throws (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& var_smoothing_& weights_& means_& m2_& all_weight_& all_mean_& all_m2_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// Refuses a loaded state that would read out of bounds or holds a value that is not finite.
  void check_loaded() const {
    auto refuse = [](const std::string& why) {
      throw_corrupt_archive("gaussian_naive_bayes: " + why);
    };
    auto shape = [](const matrix& m) {
      return std::to_string(m.rows()) + " x " + std::to_string(m.cols());
    };
    if (!(var_smoothing_ >= 0.0) || !std::isfinite(var_smoothing_))
      refuse("var_smoothing is not finite and >= 0");
    const Eigen::Index k = weights_.size(), d = means_.cols();
    if (k == 0) {
      if (means_.size() != 0 || m2_.size() != 0 || all_mean_.size() != 0 || all_m2_.size() != 0 ||
          all_weight_ != 0.0)
        refuse("a model of no classes holds statistics");
      return;
    }
    if (k < 2 || d < 1)
      refuse(std::to_string(k) + " classes and " + std::to_string(d) +
             " features; a model has at least 2 classes and 1 feature");
    if (means_.rows() != k || m2_.rows() != k || m2_.cols() != d)
      refuse(std::to_string(k) + " class weights but means " + shape(means_) + " and spreads " +
             shape(m2_) + ", expected " + std::to_string(k) + " x " + std::to_string(d));
    if (all_mean_.size() != d || all_m2_.size() != d)
      refuse(std::to_string(all_mean_.size()) + " overall means and " +
             std::to_string(all_m2_.size()) + " overall spreads for " + std::to_string(d) +
             " features");
    if (!weights_.allFinite() || weights_.minCoeff() < 0.0 || !(all_weight_ >= 0.0) ||
        !std::isfinite(all_weight_))
      refuse("a class weight is negative or not finite");
    if (!means_.allFinite() || !m2_.allFinite() || !all_mean_.allFinite() || !all_m2_.allFinite())
      refuse("a mean or spread is not finite");
  }

  /// The share of the largest variance added to every variance.
  double var_smoothing_ = 1e-9;
  /// The total sample weight per class.
  vector weights_;
  /// The running mean per class (rows) and feature (columns).
  matrix means_;
  /// The running weighted sum of squared deviations per class and feature.
  matrix m2_;
  /// The total sample weight of every record.
  double all_weight_ = 0.0;
  /// The running mean of every record, per feature.
  vector all_mean_;
  /// The running weighted sum of squared deviations of every record, per feature.
  vector all_m2_;
  /// Copies of the rows an update changes, to undo it (not state).
  vector saved_mean_, saved_m2_, saved_all_mean_, saved_all_m2_;
};

} // namespace eddy::ml
