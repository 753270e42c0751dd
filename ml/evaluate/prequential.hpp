// Prequential (test-then-train) evaluation with delayed labels: holds each prediction under its
// record id until the label arrives, then scores it into a cumulative and a rolling metrics
// object. The metrics live in their own headers, each with its alias of this evaluator:
// binary_metrics.hpp (binary_prequential), confusion_matrix.hpp (multiclass_prequential) and
// regression_metrics.hpp (regression_prequential); metrics.hpp includes all of them.
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

// unordered_map.hpp uses library_version_type without including it (Boost 1.74)
#include <boost/serialization/library_version_type.hpp>
#include <boost/serialization/unordered_map.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <unordered_map>
#include <utility>

namespace eddy::ml {

namespace detail {

/// Divides, giving `otherwise` for an empty denominator (the metrics' zero_division rule).
[[nodiscard]] inline double ratio(double num, double den, double otherwise = 0.0) noexcept {
  return den > 0.0 ? num / den : otherwise;
}

/// F1 from precision and recall; 0 when both are 0.
[[nodiscard]] inline double f1_of(double p, double r) noexcept {
  return p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
}

} // namespace detail

/// Test-then-train evaluation with delayed labels: keeps each prediction under its record id
/// until the label arrives, then scores it into a cumulative and a rolling `Metrics`.
/// `Metrics` needs `update(Label, Prediction)` and `serialize`.
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

} // namespace eddy::ml
