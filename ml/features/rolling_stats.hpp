// Statistics over the last W values of a stream: mean, standard deviation, min, max and the
// last value minus the mean, each update O(1) amortized.
//
//   eddy::ml::rolling_stats temperature(12);   // the last 12 readings
//   if (auto err = temperature.push(21.5)) ...  // errc::bad_input: NaN, inf or |v| > 1e150
//   double z = temperature.last_minus_mean() / (temperature.std() + 1e-9);
//
// Mean and variance follow a sliding Welford update and are recomputed exactly from the window
// once every W pushes, so rounding errors never pile up; min and max come from monotonic
// queues. Before the first push every statistic is 0. Values must be finite and within
// ±max_magnitude (1e150), so that the squared deviations of any window up to 10^7 values stay
// finite; push refuses any other value and leaves the window as it was.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <boost/serialization/deque.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// Mean, standard deviation, min, max and last-minus-mean over a sliding window of values.
class rolling_stats {
public:
  /// Names this state in model files.
  static constexpr const char* model_kind = "eddy.ml.rolling_stats";

  /// The largest magnitude push accepts.
  static constexpr double max_magnitude = 1e150;

  /// A window of one value; replaced by deserialization.
  rolling_stats()
      : rolling_stats(1) {
    // nop
  }

  /// A window over the last `window` values (at least 1).
  explicit rolling_stats(std::size_t window)
      : buffer_(std::max<std::size_t>(window, 1), 0.0) {
    // nop
  }

  /// Whether push accepts `value`: finite and within ±max_magnitude.
  [[nodiscard]] static bool accepts(double value) noexcept {
    return std::abs(value) <= max_magnitude; // false for NaN too
  }

  /// Adds `value`, dropping the oldest value once the window is full; refuses (errc::bad_input,
  /// window unchanged) a value that accepts() does not.
  caf::error push(double value) {
    if (!accepts(value))
      return refused(value);
    const auto window = buffer_.size();
    const auto slot = static_cast<std::size_t>(seq_ % window);
    if (count_ < window) {
      ++count_;
      double delta = value - mean_;
      mean_ += delta / static_cast<double>(count_);
      m2_ += delta * (value - mean_);
    } else {
      double old = buffer_[slot];
      double old_mean = mean_;
      mean_ += (value - old) / static_cast<double>(window);
      m2_ += (value - old) * (value - mean_ + old - old_mean);
    }
    buffer_[slot] = value;
    while (!min_.empty() && min_.back().second >= value)
      min_.pop_back();
    min_.emplace_back(seq_, value);
    while (!max_.empty() && max_.back().second <= value)
      max_.pop_back();
    max_.emplace_back(seq_, value);
    ++seq_;
    // the window now holds sequence numbers [seq_ - W, seq_ - 1]
    while (min_.front().first + window < seq_)
      min_.pop_front();
    while (max_.front().first + window < seq_)
      max_.pop_front();
    if (count_ == window && seq_ % window == 0)
      recompute();
    last_ = value;
    return caf::error{};
  }

  /// The number of values in the window.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }

  /// The window length W.
  [[nodiscard]] std::size_t window() const noexcept { return buffer_.size(); }

  /// True once W values have been pushed.
  [[nodiscard]] bool full() const noexcept { return count_ == buffer_.size(); }

  /// The mean of the window.
  [[nodiscard]] double mean() const noexcept { return mean_; }

  /// The population variance of the window.
  [[nodiscard]] double variance() const noexcept {
    return count_ > 0 ? std::max(0.0, m2_ / static_cast<double>(count_)) : 0.0;
  }

  /// The population standard deviation of the window.
  [[nodiscard]] double std() const noexcept { return std::sqrt(variance()); }

  /// The smallest value in the window.
  [[nodiscard]] double min() const noexcept { return min_.empty() ? 0.0 : min_.front().second; }

  /// The largest value in the window.
  [[nodiscard]] double max() const noexcept { return max_.empty() ? 0.0 : max_.front().second; }

  /// The newest value minus the mean of the window.
  [[nodiscard]] double last_minus_mean() const noexcept { return count_ > 0 ? last_ - mean_ : 0.0; }

  /// Saves or loads all state. A loaded state that push could not have made (an empty window, a
  /// count that disagrees with the sequence number, min / max candidates outside the window or
  /// out of order, a value push refuses) throws (errc::corrupt_file from `from_binary` and
  /// `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    // The queues are written as std::deque, the format of every snapshot and model file so far.
    std::deque<candidate> lows(min_.begin(), min_.end());
    std::deque<candidate> highs(max_.begin(), max_.end());
    ar& buffer_& count_& seq_& mean_& m2_& last_& lows& highs;
    if constexpr (Archive::is_loading::value) {
      min_.assign(lows.begin(), lows.end());
      max_.assign(highs.begin(), highs.end());
      check_loaded();
    }
  }

private:
  /// A (sequence number, value) pair of a monotonic queue.
  using candidate = std::pair<uint64_t, double>;

  /// A double-ended queue of candidates on a vector whose consumed prefix is dropped when the
  /// vector is full: unlike std::deque it moves without allocating (noexcept), which keyed state
  /// needs of the values it keeps (a rolling_stats per key).
  class candidates {
  public:
    [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
    [[nodiscard]] const candidate& front() const noexcept { return items_[head_]; }
    [[nodiscard]] const candidate& back() const noexcept { return items_.back(); }
    [[nodiscard]] const candidate& operator[](std::size_t i) const noexcept {
      return items_[head_ + i];
    }
    using const_iterator = std::vector<candidate>::const_iterator;
    [[nodiscard]] const_iterator begin() const noexcept {
      return items_.begin() + static_cast<std::ptrdiff_t>(head_);
    }
    [[nodiscard]] const_iterator end() const noexcept { return items_.end(); }
    void pop_front() noexcept { ++head_; }
    void pop_back() noexcept { items_.pop_back(); }
    void emplace_back(uint64_t seq, double value) {
      if (head_ > 0 && items_.size() == items_.capacity()) {
        items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
      items_.emplace_back(seq, value);
    }
    template <class Iterator>
    void assign(Iterator first, Iterator last) {
      items_.assign(first, last);
      head_ = 0;
    }

  private:
    std::vector<candidate> items_;
    std::size_t head_ = 0;
  };

  /// Refuses a loaded state that would divide by zero, read out of bounds or break the queues.
  void check_loaded() const {
    auto refuse = [](const std::string& why) { throw_corrupt_archive("rolling_stats: " + why); };
    const auto window = buffer_.size();
    if (window == 0)
      refuse("a window of no values");
    if (count_ != std::min<uint64_t>(seq_, window))
      refuse(std::to_string(count_) + " values in a window of " + std::to_string(window) +
             " after " + std::to_string(seq_) + " pushes");
    for (double v : buffer_)
      if (!accepts(v))
        refuse("the window holds a value push refuses");
    if (!std::isfinite(mean_) || !std::isfinite(m2_) || !accepts(last_))
      refuse("the mean, spread or last value is not finite");
    if (count_ > 0 && last_ != buffer_[static_cast<std::size_t>((seq_ - 1) % window)])
      refuse("the last value is not the newest value of the window");
    check_candidates(min_, "minimum", [](double a, double b) { return a < b; });
    check_candidates(max_, "maximum", [](double a, double b) { return a > b; });
  }

  /// Refuses min or max candidates that are not the window's values at their sequence numbers,
  /// in order of sequence number and strictly ordered by `before`, ending with the newest value.
  template <class Before>
  void check_candidates(const candidates& queue, const char* name, Before before) const {
    auto refuse = [name](const std::string& why) {
      throw_corrupt_archive(std::string{"rolling_stats: the "} + name + " candidates " + why);
    };
    if (count_ == 0) {
      if (!queue.empty())
        refuse("are not empty in an empty window");
      return;
    }
    if (queue.empty() || queue.back().first != seq_ - 1)
      refuse("do not end with the newest value");
    const auto window = buffer_.size();
    for (std::size_t i = 0; i < queue.size(); ++i) {
      const auto [seq, value] = queue[i];
      if (seq >= seq_ || seq_ - seq > window ||
          buffer_[static_cast<std::size_t>(seq % window)] != value)
        refuse("hold a value that is not in the window");
      if (i > 0 && (queue[i - 1].first >= seq || !before(queue[i - 1].second, value)))
        refuse("are out of order");
    }
  }

  [[nodiscard, gnu::cold, gnu::noinline]] static caf::error refused(double value) {
    const char* what = std::isnan(value)   ? "NaN"
                       : std::isinf(value) ? "infinite"
                                           : "beyond ±1e150 (its square would overflow)";
    return make_error(errc::bad_input, std::string{"rolling_stats::push: the value is "} + what +
                                           "; the window is unchanged");
  }

  /// Recomputes mean and M2 exactly from the (full) window with two passes.
  void recompute() {
    double sum = 0.0;
    for (double v : buffer_)
      sum += v;
    mean_ = sum / static_cast<double>(count_);
    m2_ = 0.0;
    for (double v : buffer_)
      m2_ += (v - mean_) * (v - mean_);
  }

  /// The last W values, as a ring indexed by sequence number modulo W.
  std::vector<double> buffer_;
  /// The number of values in the window (at most W).
  std::size_t count_ = 0;
  /// The sequence number of the next value.
  uint64_t seq_ = 0;
  /// The running mean of the window.
  double mean_ = 0.0;
  /// The running sum of squared deviations of the window.
  double m2_ = 0.0;
  /// The newest value.
  double last_ = 0.0;
  /// Candidates for the minimum: (sequence number, value), values increasing.
  candidates min_;
  /// Candidates for the maximum: (sequence number, value), values decreasing.
  candidates max_;
};

} // namespace eddy::ml
