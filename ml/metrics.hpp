// Prequential (test-then-train) evaluation: classification and regression metrics, each either
// cumulative or over a rolling window of the last N scored records, and an evaluator that holds
// predictions until their labels arrive (delayed labels).
//
//   eddy::ml::binary_prequential eval(eddy::ml::binary_metrics{},          // cumulative
//                                     eddy::ml::binary_metrics{0.5, 2000}); // last 2000
//   eval.predicted(id, model.predict_proba(x)[1]);   // at prediction time
//   ...
//   eval.labelled(id, y);                             // when the label arrives, maybe later
//   std::cout << eval.cumulative().f1() << ' ' << eval.rolling().roc_auc() << '\n';
//
// Undefined figures (ROC AUC with one class only, R² of a constant target) are NaN; precision,
// recall and F1 with an empty denominator are 0, as scikit-learn's zero_division=0.
#pragma once

#include <boost/serialization/deque.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/unordered_map.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace eddy::ml {

namespace detail {

/// Divides, giving `otherwise` for an empty denominator.
inline double ratio(double num, double den, double otherwise = 0.0) noexcept {
  return den > 0.0 ? num / den : otherwise;
}

/// F1 from precision and recall.
inline double f1_of(double p, double r) noexcept {
  return p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
}

} // namespace detail

/// Binary classification metrics from labels in {0, 1} and scores P(class 1) in [0, 1]:
/// confusion counts at a threshold, accuracy, precision, recall, F1, log loss and ROC AUC.
class binary_metrics {
public:
  /// Scores >= `threshold` count as predicted positive; `window` = 0 keeps every record,
  /// otherwise only the last `window` ones. Defaults: 0.5, cumulative.
  explicit binary_metrics(double threshold = 0.5, std::size_t window = 0)
      : threshold_(threshold)
      , window_(window) {
    // nop
  }

  /// Scores one record: true label `y` (0 or 1) and predicted probability `p` of class 1; a
  /// record with another label or a p outside [0, 1] (NaN included) is only counted in ignored().
  void update(int y, double p) {
    if ((y != 0 && y != 1) || !(p >= 0.0 && p <= 1.0)) {
      ++ignored_;
      return;
    }
    add(y, p, +1);
    if (window_ > 0) {
      recent_.emplace_back(y, p);
      if (recent_.size() > window_) {
        add(recent_.front().first, recent_.front().second, -1);
        recent_.pop_front();
      }
    }
  }

  /// The number of records scored (within the window, if any).
  [[nodiscard]] int64_t count() const noexcept { return tp_ + fp_ + tn_ + fn_; }
  /// The number of records refused by update (invalid label or probability).
  [[nodiscard]] int64_t ignored() const noexcept { return ignored_; }
  /// True positives.
  [[nodiscard]] int64_t tp() const noexcept { return tp_; }
  /// False positives.
  [[nodiscard]] int64_t fp() const noexcept { return fp_; }
  /// True negatives.
  [[nodiscard]] int64_t tn() const noexcept { return tn_; }
  /// False negatives.
  [[nodiscard]] int64_t fn() const noexcept { return fn_; }

  /// (tp + tn) / count.
  [[nodiscard]] double accuracy() const noexcept {
    return detail::ratio(double(tp_ + tn_), double(count()));
  }
  /// tp / (tp + fp).
  [[nodiscard]] double precision() const noexcept {
    return detail::ratio(double(tp_), double(tp_ + fp_));
  }
  /// tp / (tp + fn).
  [[nodiscard]] double recall() const noexcept {
    return detail::ratio(double(tp_), double(tp_ + fn_));
  }
  /// The harmonic mean of precision and recall.
  [[nodiscard]] double f1() const noexcept { return detail::f1_of(precision(), recall()); }
  /// The mean negative log-likelihood, probabilities clipped to [1e-15, 1 - 1e-15].
  [[nodiscard]] double log_loss() const noexcept {
    return detail::ratio(log_loss_sum_, double(count()), std::nan(""));
  }

  /// The area under the ROC curve (ties count one half); NaN until both classes were seen.
  [[nodiscard]] double roc_auc() const {
    double positives = double(tp_ + fn_);
    double negatives = double(tn_ + fp_);
    if (positives == 0.0 || negatives == 0.0)
      return std::nan("");
    double negatives_below = 0.0;
    double area = 0.0;
    for (const auto& [score, counts] : by_score_) {
      area += double(counts.first) * (negatives_below + 0.5 * double(counts.second));
      negatives_below += double(counts.second);
    }
    return area / (positives * negatives);
  }

  /// Saves or loads all state.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& threshold_& window_& tp_& fp_& tn_& fn_& log_loss_sum_& by_score_& recent_;
  }

private:
  void add(int y, double p, int64_t sign) {
    bool positive = p >= threshold_;
    (y == 1 ? (positive ? tp_ : fn_) : (positive ? fp_ : tn_)) += sign;
    double q = std::clamp(p, 1e-15, 1.0 - 1e-15);
    log_loss_sum_ += double(sign) * -(y == 1 ? std::log(q) : std::log(1.0 - q));
    auto& counts = by_score_[p];
    (y == 1 ? counts.first : counts.second) += sign;
    if (counts.first == 0 && counts.second == 0)
      by_score_.erase(p);
  }

  /// The decision threshold.
  double threshold_;
  /// The window length, 0 for cumulative.
  std::size_t window_;
  /// Confusion counts.
  int64_t tp_ = 0, fp_ = 0, tn_ = 0, fn_ = 0;
  /// Records refused by update.
  int64_t ignored_ = 0;
  /// The sum of per-record log losses.
  double log_loss_sum_ = 0.0;
  /// (positives, negatives) per distinct score, for the ROC AUC.
  std::map<double, std::pair<int64_t, int64_t>> by_score_;
  /// The records in the window, oldest first (empty when cumulative).
  std::deque<std::pair<int, double>> recent_;
};

/// Multi-class metrics from a confusion matrix: accuracy, per-class precision, recall, F1.
class confusion_matrix {
public:
  /// A matrix for labels 0 .. n_classes - 1; `window` = 0 keeps every record. Default: 2.
  explicit confusion_matrix(int n_classes = 2, std::size_t window = 0)
      : n_(std::max(n_classes, 1))
      , window_(window)
      , counts_(std::size_t(n_ * n_), 0) {
    // nop
  }

  /// Scores one record; labels outside [0, n_classes) are ignored.
  void update(int y, int predicted) {
    if (y < 0 || y >= n_ || predicted < 0 || predicted >= n_)
      return;
    ++counts_[std::size_t(y * n_ + predicted)];
    if (window_ > 0) {
      recent_.emplace_back(y, predicted);
      if (recent_.size() > window_) {
        --counts_[std::size_t(recent_.front().first * n_ + recent_.front().second)];
        recent_.pop_front();
      }
    }
  }

  /// The number of records with true label `y` predicted as `predicted`.
  [[nodiscard]] int64_t at(int y, int predicted) const {
    return counts_[std::size_t(y * n_ + predicted)];
  }
  /// The number of classes.
  [[nodiscard]] int n_classes() const noexcept { return n_; }
  /// The number of records scored.
  [[nodiscard]] int64_t count() const {
    return sum_if([](int, int) { return true; });
  }
  /// The share of correct predictions.
  [[nodiscard]] double accuracy() const {
    return detail::ratio(double(sum_if([](int y, int p) { return y == p; })), double(count()));
  }
  /// The precision of class `k`.
  [[nodiscard]] double precision(int k) const {
    return detail::ratio(double(at(k, k)), double(sum_if([k](int, int p) { return p == k; })));
  }
  /// The recall of class `k`.
  [[nodiscard]] double recall(int k) const {
    return detail::ratio(double(at(k, k)), double(sum_if([k](int y, int) { return y == k; })));
  }
  /// The F1 score of class `k`.
  [[nodiscard]] double f1(int k) const { return detail::f1_of(precision(k), recall(k)); }
  /// The unweighted mean of the per-class F1 scores.
  [[nodiscard]] double macro_f1() const {
    double sum = 0.0;
    for (int k = 0; k < n_; ++k)
      sum += f1(k);
    return sum / n_;
  }

  /// Saves or loads all state.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& n_& window_& counts_& recent_;
  }

private:
  template <class Pred>
  int64_t sum_if(Pred pred) const {
    int64_t sum = 0;
    for (int y = 0; y < n_; ++y)
      for (int p = 0; p < n_; ++p)
        sum += pred(y, p) ? at(y, p) : 0;
    return sum;
  }

  /// The number of classes.
  int n_;
  /// The window length, 0 for cumulative.
  std::size_t window_;
  /// Row-major counts: true label by predicted label.
  std::vector<int64_t> counts_;
  /// The records in the window, oldest first.
  std::deque<std::pair<int, int>> recent_;
};

/// Regression metrics: RMSE, MAE and R², cumulative or over the last `window` records.
class regression_metrics {
public:
  /// `window` = 0 keeps every record. Default: cumulative.
  explicit regression_metrics(std::size_t window = 0)
      : window_(window) {
    // nop
  }

  /// Scores one record: true value `y` and prediction `predicted`; ignores a non-finite one.
  void update(double y, double predicted) {
    if (!std::isfinite(y) || !std::isfinite(predicted))
      return;
    add(y, predicted, 1.0);
    if (window_ > 0) {
      recent_.emplace_back(y, predicted);
      if (recent_.size() > window_) {
        add(recent_.front().first, recent_.front().second, -1.0);
        recent_.pop_front();
      }
    }
  }

  /// The number of records scored.
  [[nodiscard]] int64_t count() const noexcept { return n_; }
  /// The root mean squared error.
  [[nodiscard]] double rmse() const noexcept {
    return std::sqrt(std::max(0.0, detail::ratio(sse_, double(n_), std::nan(""))));
  }
  /// The mean absolute error.
  [[nodiscard]] double mae() const noexcept {
    return detail::ratio(sae_, double(n_), std::nan(""));
  }
  /// The coefficient of determination 1 - SSE / SST; NaN while the target is constant.
  [[nodiscard]] double r2() const noexcept {
    double sst = sum_y2_ - sum_y_ * sum_y_ / double(n_);
    return n_ > 0 && sst > 0.0 ? 1.0 - sse_ / sst : std::nan("");
  }

  /// Saves or loads all state.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& window_& n_& sse_& sae_& sum_y_& sum_y2_& recent_;
  }

private:
  void add(double y, double predicted, double sign) {
    double e = y - predicted;
    n_ += sign > 0.0 ? 1 : -1;
    sse_ += sign * e * e;
    sae_ += sign * std::abs(e);
    sum_y_ += sign * y;
    sum_y2_ += sign * y * y;
  }

  /// The window length, 0 for cumulative.
  std::size_t window_;
  /// The number of records scored.
  int64_t n_ = 0;
  /// Sums of squared and absolute errors, of targets and of squared targets.
  double sse_ = 0.0, sae_ = 0.0, sum_y_ = 0.0, sum_y2_ = 0.0;
  /// The records in the window, oldest first.
  std::deque<std::pair<double, double>> recent_;
};

/// Test-then-train evaluation with delayed labels: keeps each prediction under its record id
/// until the label arrives, then scores it into a cumulative and a rolling `Metrics`.
template <class Metrics, class Prediction>
class prequential {
public:
  /// Evaluates into `cumulative` and `rolling` (give the second one a window).
  prequential(Metrics cumulative, Metrics rolling)
      : cumulative_(std::move(cumulative))
      , rolling_(std::move(rolling)) {
    // nop
  }

  /// Records the prediction made for record `id`, to be scored when its label arrives.
  void predicted(uint64_t id, Prediction prediction) { pending_[id] = prediction; }

  /// Scores the pending prediction of record `id` against label `y`; false when there is none.
  template <class Label>
  bool labelled(uint64_t id, Label y) {
    auto i = pending_.find(id);
    if (i == pending_.end())
      return false;
    score(y, i->second);
    pending_.erase(i);
    return true;
  }

  /// Scores a prediction whose label is known at once.
  template <class Label>
  void score(Label y, Prediction prediction) {
    cumulative_.update(y, prediction);
    rolling_.update(y, prediction);
  }

  /// Forgets pending predictions of records whose id is below `id` (labels that never came).
  std::size_t drop_pending_before(uint64_t id) {
    auto before = pending_.size();
    for (auto i = pending_.begin(); i != pending_.end();)
      i = i->first < id ? pending_.erase(i) : std::next(i);
    return before - pending_.size();
  }

  /// The number of predictions waiting for their label.
  [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }
  /// The metrics over every scored record.
  [[nodiscard]] const Metrics& cumulative() const noexcept { return cumulative_; }
  /// The metrics over the rolling window.
  [[nodiscard]] const Metrics& rolling() const noexcept { return rolling_; }

  /// Saves or loads all state.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cumulative_& rolling_& pending_;
  }

private:
  /// Metrics over every scored record.
  Metrics cumulative_;
  /// Metrics over the last records.
  Metrics rolling_;
  /// Predictions waiting for their label, by record id.
  std::unordered_map<uint64_t, Prediction> pending_;
};

/// Binary classifiers: the prediction is P(class 1).
using binary_prequential = prequential<binary_metrics, double>;

/// Multi-class classifiers: the prediction is a class.
using multiclass_prequential = prequential<confusion_matrix, int>;

/// Regressors: the prediction is a value.
using regression_prequential = prequential<regression_metrics, double>;

} // namespace eddy::ml
