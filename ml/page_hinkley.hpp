// The Page-Hinkley test (Page 1954), a cumulative-sum drift detector for a change in the mean.
//
// It accumulates the deviations of each value from the running mean (minus a tolerance `delta`)
// and signals a drift when the sum rises more than `threshold` above its minimum. The default
// mode watches for increases, which is what a rising error rate looks like.
//
//   eddy::ml::page_hinkley_config cfg;
//   cfg.threshold = 25;   // react faster, alarm more often
//   eddy::ml::page_hinkley detector{cfg};
//   for (double err : errors)
//     if (detector.update(err))
//       std::cout << "drift\n";
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace eddy::ml {

/// Which direction of change a `page_hinkley` detector watches for.
enum class page_hinkley_mode : std::uint8_t {
  /// An increase of the mean (e.g. a rising error rate).
  up,
  /// A decrease of the mean.
  down,
  /// Either direction.
  both,
};

/// Configuration of a `page_hinkley` detector.
struct page_hinkley_config {
  /// Values seen before a drift can be signalled. Default: 30.
  std::size_t min_instances = 30;
  /// Tolerated change per value. Default: 0.005.
  double delta = 0.005;
  /// The rise of the cumulative sum above its minimum that signals a drift (MOA's lambda).
  /// Default: 50.
  double threshold = 50;
  /// Forgetting factor applied to the cumulative sum. Default: 1 - 1e-4.
  double alpha = 1 - 1e-4;
  /// The direction watched. Default: up.
  page_hinkley_mode mode = page_hinkley_mode::up;
};

/// The Page-Hinkley drift detector; restarts itself after each detected drift. Not thread-safe.
class page_hinkley {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// Creates a detector that has seen nothing.
  explicit page_hinkley(page_hinkley_config cfg = {})
      : cfg_(cfg) {}

  // -- updates ----------------------------------------------------------------------------------

  /// Adds `x`; returns true when it signals a drift. Non-finite values are ignored.
  bool update(double x) {
    if (drift_)
      reset();
    if (!std::isfinite(x)) {
      ++ignored_;
      return false;
    }
    ++count_;
    mean_ += (x - mean_) / static_cast<double>(count_);
    sum_up_ = cfg_.alpha * sum_up_ + (x - mean_ - cfg_.delta);
    sum_down_ = cfg_.alpha * sum_down_ + (mean_ - x - cfg_.delta);
    min_up_ = std::min(min_up_, sum_up_);
    min_down_ = std::min(min_down_, sum_down_);
    if (count_ < cfg_.min_instances)
      return false;
    const bool up = sum_up_ - min_up_ > cfg_.threshold;
    const bool down = sum_down_ - min_down_ > cfg_.threshold;
    switch (cfg_.mode) {
    case page_hinkley_mode::up:
      drift_ = up;
      break;
    case page_hinkley_mode::down:
      drift_ = down;
      break;
    case page_hinkley_mode::both:
      drift_ = up || down;
      break;
    }
    return drift_;
  }

  /// Forgets everything seen (keeps the configuration and the count of ignored values).
  void reset() {
    count_ = 0;
    mean_ = sum_up_ = sum_down_ = min_up_ = min_down_ = 0;
    drift_ = false;
  }

  // -- properties -------------------------------------------------------------------------------

  /// True when the last `update` signalled a drift.
  [[nodiscard]] bool drift_detected() const noexcept { return drift_; }

  /// The running mean since the last reset.
  [[nodiscard]] double mean() const noexcept { return mean_; }

  /// The number of non-finite values ignored so far.
  [[nodiscard]] std::uint64_t ignored() const noexcept { return ignored_; }

  /// Saves or loads the whole state with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_.min_instances& cfg_.delta& cfg_.threshold& cfg_.alpha& cfg_.mode;
    ar& count_& mean_& sum_up_& sum_down_& min_up_& min_down_& ignored_& drift_;
  }

private:
  // -- member variables -------------------------------------------------------------------------

  /// The configuration.
  page_hinkley_config cfg_;
  /// Values since the last reset.
  std::uint64_t count_ = 0;
  /// Running mean since the last reset.
  double mean_ = 0;
  /// Cumulative sum for increases, and its minimum.
  double sum_up_ = 0, min_up_ = 0;
  /// Cumulative sum for decreases, and its minimum.
  double sum_down_ = 0, min_down_ = 0;
  /// Non-finite values ignored.
  std::uint64_t ignored_ = 0;
  /// Whether the last update signalled a drift.
  bool drift_ = false;
};

} // namespace eddy::ml
