// Regression metrics: RMSE, MAE and R², cumulative or over a rolling window of the last N scored
// records.
//
//   eddy::ml::regression_metrics all;               // every record
//   eddy::ml::regression_metrics last{2000};        // the last 2000 records
//   all.update(y, model.predict(x));
//   std::cout << all.rmse() << ' ' << all.r2() << '\n';
//
// The spread of the targets (the denominator of R²) is kept with Welford's update, not as
// sum(y²) - sum(y)²/n, which cancels catastrophically when the targets are large next to their
// spread (e.g. 1e9 + noise). With a window, values leave by the reverse update and every sum is
// recomputed exactly from the window once per `window` records, so rounding never piles up.
// A record whose error or spread would overflow (|y| near 1e154 or beyond) is refused and
// counted in ignored(), like a non-finite one. All updates are O(1) amortized.
#pragma once

#include <eddy/ml/evaluate/prequential.hpp>

#include <boost/serialization/deque.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/version.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

namespace eddy::ml {

/// Regression metrics: RMSE, MAE and R², cumulative or over the last `window` records.
class regression_metrics {
public:
  /// `window` = 0 keeps every record. Default: cumulative.
  explicit regression_metrics(std::size_t window = 0)
      : window_(window) {
    // nop
  }

  /// Scores one record: true value `y` and prediction `predicted`; a non-finite one, or one so
  /// large that the sums would overflow, is only counted in ignored().
  void update(double y, double predicted) {
    if (!std::isfinite(y) || !std::isfinite(predicted) || !add(y, predicted)) {
      ++ignored_;
      return;
    }
    if (window_ > 0) {
      recent_.emplace_back(y, predicted);
      if (recent_.size() > window_) {
        remove(recent_.front().first, recent_.front().second);
        recent_.pop_front();
        if (++removed_ % window_ == 0)
          recompute();
      }
    }
  }

  /// The number of records scored (within the window, if any).
  [[nodiscard]] int64_t count() const noexcept { return n_; }
  /// The number of records refused by update, ever.
  [[nodiscard]] int64_t ignored() const noexcept { return ignored_; }
  /// The root mean squared error; NaN before the first record.
  [[nodiscard]] double rmse() const noexcept {
    return n_ > 0 ? std::sqrt(std::max(0.0, sse_ / double(n_))) : std::nan("");
  }
  /// The mean absolute error; NaN before the first record.
  [[nodiscard]] double mae() const noexcept {
    return detail::ratio(sae_, double(n_), std::nan(""));
  }
  /// The coefficient of determination 1 - SSE / SST; NaN while the target is constant.
  [[nodiscard]] double r2() const noexcept {
    return n_ > 0 && m2_y_ > 0.0 ? 1.0 - sse_ / m2_y_ : std::nan("");
  }

  /// Saves or loads all state. Class version 1 keeps the targets' mean and M2 instead of their
  /// sums, and ignored(); a version 0 snapshot loads with its sums converted.
  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    if (version >= 1) {
      ar& window_& n_& sse_& sae_& mean_y_& m2_y_& recent_& removed_& ignored_;
      return;
    }
    double sum_y = 0.0, sum_y2 = 0.0;
    ar& window_& n_& sse_& sae_& sum_y& sum_y2& recent_;
    mean_y_ = n_ > 0 ? sum_y / double(n_) : 0.0;
    m2_y_ = n_ > 0 ? std::max(0.0, sum_y2 - sum_y * mean_y_) : 0.0;
    removed_ = 0;
    ignored_ = 0;
  }

private:
  /// Adds a finite record unless a sum would overflow; returns whether it was added.
  bool add(double y, double predicted) noexcept {
    double e = y - predicted;
    double n = double(n_ + 1);
    double delta = y - mean_y_;
    double mean = mean_y_ + delta / n;
    double sse = sse_ + e * e;
    double sae = sae_ + std::abs(e);
    double m2 = m2_y_ + delta * (y - mean);
    if (!std::isfinite(sse) || !std::isfinite(sae) || !std::isfinite(m2) || !std::isfinite(mean))
      return false;
    ++n_;
    sse_ = sse;
    sae_ = sae;
    mean_y_ = mean;
    m2_y_ = m2;
    return true;
  }

  /// Removes a record added before (Welford's update in reverse).
  void remove(double y, double predicted) noexcept {
    double e = y - predicted;
    if (--n_ == 0) {
      sse_ = sae_ = mean_y_ = m2_y_ = 0.0;
      return;
    }
    sse_ = std::max(0.0, sse_ - e * e);
    sae_ = std::max(0.0, sae_ - std::abs(e));
    double mean = mean_y_ - (y - mean_y_) / double(n_);
    m2_y_ = std::max(0.0, m2_y_ - (y - mean_y_) * (y - mean));
    mean_y_ = mean;
  }

  /// Recomputes every sum exactly from the window (two passes for the spread).
  void recompute() noexcept {
    double sse = 0.0, sae = 0.0, sum = 0.0;
    for (const auto& [y, p] : recent_) {
      sse += (y - p) * (y - p);
      sae += std::abs(y - p);
      sum += y;
    }
    double mean = sum / double(recent_.size());
    double m2 = 0.0;
    for (const auto& r : recent_)
      m2 += (r.first - mean) * (r.first - mean);
    if (!std::isfinite(sse) || !std::isfinite(sae) || !std::isfinite(sum) || !std::isfinite(m2))
      return; // the running values stay (finite, by add's check)
    n_ = static_cast<int64_t>(recent_.size());
    sse_ = sse;
    sae_ = sae;
    mean_y_ = mean;
    m2_y_ = m2;
  }

  /// The window length, 0 for cumulative.
  std::size_t window_;
  /// The number of records scored.
  int64_t n_ = 0;
  /// Sums of squared and of absolute errors.
  double sse_ = 0.0, sae_ = 0.0;
  /// The mean of the targets, and their sum of squared deviations (Welford's M2).
  double mean_y_ = 0.0, m2_y_ = 0.0;
  /// Records refused by update.
  int64_t ignored_ = 0;
  /// The number of records that left the window, for the periodic exact recomputation.
  uint64_t removed_ = 0;
  /// The records in the window, oldest first.
  std::deque<std::pair<double, double>> recent_;
};

/// Prequential evaluation of regressors: the prediction is a value.
using regression_prequential = prequential<regression_metrics, double>;

} // namespace eddy::ml

BOOST_CLASS_VERSION(eddy::ml::regression_metrics, 1)
