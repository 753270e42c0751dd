// Binary classification metrics from labels in {0, 1} and scores P(class 1): confusion counts at
// a threshold, accuracy, precision, recall, F1, log loss and the exact ROC AUC, cumulative or
// over a rolling window of the last N scored records.
//
//   eddy::ml::binary_metrics all;                  // every record
//   eddy::ml::binary_metrics last{0.5, 2000};      // the last 2000 records
//   all.update(y, model.predict_proba(x)[1]);
//   std::cout << all.f1() << ' ' << last.roc_auc() << '\n';
//
// Cost: every figure but the ROC AUC is O(1). The ROC AUC is exact (ties count one half, as
// scikit-learn's roc_auc_score). Cumulative, update is O(log d) and keeps one map node (~64
// bytes) per distinct score, and roc_auc() walks them all, O(d) for d distinct scores: over a
// long stream of continuous scores d grows with the stream, so ask a cumulative roc_auc() rarely
// (at the end, not every few thousand records) or read the rolling one live. With a window,
// update is O(1) and allocates nothing once the window is full, and roc_auc() sorts the window's
// scores, O(W log W): read it every few hundred records or less, not after every one.
#pragma once

#include <eddy/ml/evaluate/prequential.hpp>

#include <boost/serialization/deque.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/version.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

namespace eddy::ml {

/// Binary classification metrics from labels in {0, 1} and scores P(class 1) in [0, 1].
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
    } else {
      auto& counts = by_score_[p];
      ++(y == 1 ? counts.first : counts.second);
    }
  }

  /// The number of records scored (within the window, if any).
  [[nodiscard]] int64_t count() const noexcept { return tp_ + fp_ + tn_ + fn_; }
  /// The number of records refused by update (invalid label or probability), ever.
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
  /// O(distinct scores) per call: see the cost note at the top of this header.
  [[nodiscard]] double roc_auc() const {
    double positives = double(tp_ + fn_);
    double negatives = double(tn_ + fp_);
    if (positives == 0.0 || negatives == 0.0)
      return std::nan("");
    double negatives_below = 0.0;
    double area = 0.0;
    // (positives, negatives) of one distinct score, in increasing order of scores.
    auto add_score = [&](double pos, double neg) {
      area += pos * (negatives_below + 0.5 * neg);
      negatives_below += neg;
    };
    if (window_ == 0) {
      for (const auto& [score, counts] : by_score_)
        add_score(double(counts.first), double(counts.second));
    } else {
      std::vector<std::pair<double, int>> sorted;
      sorted.reserve(recent_.size());
      for (const auto& [y, p] : recent_)
        sorted.emplace_back(p, y);
      std::sort(sorted.begin(), sorted.end());
      for (size_t i = 0; i < sorted.size();) {
        int64_t pos = 0, neg = 0;
        size_t j = i;
        for (; j < sorted.size() && sorted[j].first == sorted[i].first; ++j)
          ++(sorted[j].second == 1 ? pos : neg);
        add_score(double(pos), double(neg));
        i = j;
      }
    }
    return area / (positives * negatives);
  }

  /// Saves or loads all state. Class version 1 added ignored(); a version 0 snapshot loads
  /// with ignored() = 0.
  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    ar& threshold_& window_& tp_& fp_& tn_& fn_& log_loss_sum_& by_score_& recent_;
    if (version >= 1)
      ar& ignored_;
    else
      ignored_ = 0;
    // Snapshots of older builds kept the scores of a window in the map too; the window alone
    // holds them now.
    if (Archive::is_loading::value && window_ > 0)
      by_score_.clear();
  }

private:
  void add(int y, double p, int64_t sign) {
    bool positive = p >= threshold_;
    (y == 1 ? (positive ? tp_ : fn_) : (positive ? fp_ : tn_)) += sign;
    double q = std::clamp(p, 1e-15, 1.0 - 1e-15);
    log_loss_sum_ += double(sign) * -(y == 1 ? std::log(q) : std::log(1.0 - q));
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
  /// (positives, negatives) per distinct score, for the cumulative ROC AUC (empty with a
  /// window, whose records are in recent_).
  std::map<double, std::pair<int64_t, int64_t>> by_score_;
  /// The records in the window, oldest first (empty when cumulative).
  std::deque<std::pair<int, double>> recent_;
};

/// Prequential evaluation of binary classifiers: the prediction is P(class 1).
using binary_prequential = prequential<binary_metrics, double>;

} // namespace eddy::ml

BOOST_CLASS_VERSION(eddy::ml::binary_metrics, 1)
