// Multi-class classification metrics from a confusion matrix: accuracy, per-class precision,
// recall and F1, macro F1, cumulative or over a rolling window of the last N scored records.
//
//   auto m = eddy::ml::confusion_matrix::make(3);        // labels 0, 1, 2; every record
//   m->update(y, model.predict(x));
//   std::cout << m->accuracy() << ' ' << m->f1(2) << ' ' << m->macro_f1() << '\n';
//   eddy::ml::multiclass_prequential eval{eddy::ml::confusion_matrix{3},
//                                         eddy::ml::confusion_matrix{3, 2000}};
//
// Labels outside [0, n_classes) are not counted (see ignored()). Asking about such a class is
// answered, not undefined: at() gives 0 and precision, recall and F1 give NaN. Memory is
// n_classes² counters (at most max_classes² = 16 M, 128 MB).
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/evaluate/prequential.hpp>

#include <caf/expected.hpp>

#include <boost/archive/archive_exception.hpp>
#include <boost/serialization/deque.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// Multi-class metrics from a confusion matrix.
class confusion_matrix {
public:
  /// The largest number of classes a matrix holds.
  static constexpr int max_classes = 4096;

  /// A matrix for labels 0 .. n_classes - 1 (clamped to [1, max_classes]; make() refuses
  /// instead); `window` = 0 keeps every record. Defaults: 2 classes, cumulative.
  explicit confusion_matrix(int n_classes = 2, std::size_t window = 0)
      : n_(std::clamp(n_classes, 1, max_classes))
      , window_(window)
      , counts_(cells(n_), 0) {
    // nop
  }

  /// A matrix for labels 0 .. n_classes - 1, or errc::invalid_argument when n_classes is
  /// outside [1, max_classes]. Default window: 0 (cumulative).
  [[nodiscard]] static caf::expected<confusion_matrix> make(int n_classes, std::size_t window = 0) {
    if (n_classes < 1 || n_classes > max_classes)
      return make_error(errc::invalid_argument, "confusion_matrix: n_classes " +
                                                    std::to_string(n_classes) + " is outside [1, " +
                                                    std::to_string(max_classes) + "]");
    return confusion_matrix{n_classes, window};
  }

  /// Scores one record; a record with a label outside [0, n_classes) is only counted in
  /// ignored().
  void update(int y, int predicted) {
    if (!valid(y) || !valid(predicted)) {
      ++ignored_;
      return;
    }
    ++counts_[index(y, predicted)];
    if (window_ > 0) {
      recent_.emplace_back(y, predicted);
      if (recent_.size() > window_) {
        --counts_[index(recent_.front().first, recent_.front().second)];
        recent_.pop_front();
      }
    }
  }

  /// The number of records with true label `y` predicted as `predicted`; 0 when either is
  /// outside [0, n_classes).
  [[nodiscard]] int64_t at(int y, int predicted) const noexcept {
    return valid(y) && valid(predicted) ? counts_[index(y, predicted)] : 0;
  }
  /// The number of classes.
  [[nodiscard]] int n_classes() const noexcept { return n_; }
  /// The number of records scored (within the window, if any).
  [[nodiscard]] int64_t count() const noexcept {
    int64_t sum = 0;
    for (auto c : counts_)
      sum += c;
    return sum;
  }
  /// The number of records refused by update (a label out of range), ever.
  [[nodiscard]] int64_t ignored() const noexcept { return ignored_; }
  /// The share of correct predictions.
  [[nodiscard]] double accuracy() const noexcept {
    int64_t correct = 0;
    for (int k = 0; k < n_; ++k)
      correct += counts_[index(k, k)];
    return detail::ratio(double(correct), double(count()));
  }
  /// The precision of class `k`; NaN when k is outside [0, n_classes).
  [[nodiscard]] double precision(int k) const noexcept {
    if (!valid(k))
      return std::nan("");
    int64_t predicted_k = 0;
    for (int y = 0; y < n_; ++y)
      predicted_k += counts_[index(y, k)];
    return detail::ratio(double(counts_[index(k, k)]), double(predicted_k));
  }
  /// The recall of class `k`; NaN when k is outside [0, n_classes).
  [[nodiscard]] double recall(int k) const noexcept {
    if (!valid(k))
      return std::nan("");
    int64_t labelled_k = 0;
    for (int p = 0; p < n_; ++p)
      labelled_k += counts_[index(k, p)];
    return detail::ratio(double(counts_[index(k, k)]), double(labelled_k));
  }
  /// The F1 score of class `k`; NaN when k is outside [0, n_classes).
  [[nodiscard]] double f1(int k) const noexcept {
    return valid(k) ? detail::f1_of(precision(k), recall(k)) : std::nan("");
  }
  /// The unweighted mean of the per-class F1 scores.
  [[nodiscard]] double macro_f1() const noexcept {
    double sum = 0.0;
    for (int k = 0; k < n_; ++k)
      sum += f1(k);
    return sum / n_;
  }

  /// Saves or loads all state; a loaded shape that does not match its counts is refused
  /// (errc::corrupt_file from from_binary). Class version 1 added ignored().
  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    ar& n_& window_& counts_& recent_;
    if (version >= 1)
      ar& ignored_;
    else
      ignored_ = 0;
    bool fits = n_ >= 1 && n_ <= max_classes && counts_.size() == cells(n_) &&
                std::all_of(recent_.begin(), recent_.end(),
                            [this](const auto& r) { return valid(r.first) && valid(r.second); });
    if (!fits)
      throw boost::archive::archive_exception(boost::archive::archive_exception::other_exception,
                                              "confusion_matrix: counts do not fit n_classes");
  }

private:
  /// The number of counters of an n-class matrix, computed without int overflow.
  static std::size_t cells(int n) noexcept { return std::size_t(n) * std::size_t(n); }

  /// Whether `k` is a class of this matrix.
  [[nodiscard]] bool valid(int k) const noexcept { return k >= 0 && k < n_; }

  /// The row-major index of (y, p), both valid, computed in size_t.
  [[nodiscard]] std::size_t index(int y, int p) const noexcept {
    return std::size_t(y) * std::size_t(n_) + std::size_t(p);
  }

  /// The number of classes.
  int n_;
  /// The window length, 0 for cumulative.
  std::size_t window_;
  /// Row-major counts: true label by predicted label.
  std::vector<int64_t> counts_;
  /// Records refused by update.
  int64_t ignored_ = 0;
  /// The records in the window, oldest first.
  std::deque<std::pair<int, int>> recent_;
};

/// Prequential evaluation of multi-class classifiers: the prediction is a class.
using multiclass_prequential = prequential<confusion_matrix, int>;

} // namespace eddy::ml

BOOST_CLASS_VERSION(eddy::ml::confusion_matrix, 1)
