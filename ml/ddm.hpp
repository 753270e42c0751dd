// DDM, the drift detection method of Gama et al. (2004), for a stream of prediction errors.
//
// DDM models the error count as binomial: with error rate p and deviation s = sqrt(p(1-p)/n) it
// remembers the smallest p + s seen and warns when p + s exceeds p_min + 2 s_min, and signals a
// drift past p_min + 3 s_min. Feed it 1 for a wrong prediction and 0 for a right one.
//
//   eddy::ml::ddm detector;
//   for (bool wrong : mistakes)
//     if (detector.update(wrong ? 1.0 : 0.0))
//       model = fresh_model();
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace eddy::ml {

/// Configuration of a `ddm` detector.
struct ddm_config {
  /// Errors seen before a warning or drift can be signalled. Default: 30.
  std::size_t min_instances = 30;
  /// Standard deviations above the minimum that raise a warning. Default: 2.
  double warning_level = 2.0;
  /// Standard deviations above the minimum that signal a drift. Default: 3.
  double drift_level = 3.0;
};

/// The DDM drift detector; restarts itself after each detected drift. Not thread-safe.
class ddm {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// Creates a detector that has seen nothing.
  explicit ddm(ddm_config cfg = {})
      : cfg_(cfg) {}

  // -- updates ----------------------------------------------------------------------------------

  /// Adds an error indicator `x` (values are clamped to [0, 1]); returns true on a drift.
  /// Non-finite values are ignored.
  bool update(double x) {
    if (drift_)
      reset();
    if (!std::isfinite(x)) {
      ++ignored_;
      return false;
    }
    x = x < 0 ? 0 : (x > 1 ? 1 : x);
    ++count_;
    p_ += (x - p_) / static_cast<double>(count_);
    const double s = std::sqrt(p_ * (1 - p_) / static_cast<double>(count_));
    warning_ = false;
    if (count_ < cfg_.min_instances)
      return false;
    if (p_ + s <= p_min_ + s_min_) {
      p_min_ = p_;
      s_min_ = s;
    }
    if (p_ + s > p_min_ + cfg_.drift_level * s_min_)
      drift_ = true;
    else if (p_ + s > p_min_ + cfg_.warning_level * s_min_)
      warning_ = true;
    return drift_;
  }

  /// Forgets everything seen (keeps the configuration and the count of ignored values).
  void reset() {
    count_ = 0;
    p_ = 0;
    p_min_ = s_min_ = std::numeric_limits<double>::max() / 4;
    drift_ = warning_ = false;
  }

  // -- properties -------------------------------------------------------------------------------

  /// True when the last `update` signalled a drift.
  [[nodiscard]] bool drift_detected() const noexcept { return drift_; }

  /// True when the last `update` is in the warning zone (and not a drift).
  [[nodiscard]] bool warning_detected() const noexcept { return warning_; }

  /// The error rate since the last reset.
  [[nodiscard]] double error_rate() const noexcept { return p_; }

  /// The number of non-finite values ignored so far.
  [[nodiscard]] std::uint64_t ignored() const noexcept { return ignored_; }

  /// Saves or loads the whole state with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_.min_instances& cfg_.warning_level& cfg_.drift_level;
    ar& count_& p_& p_min_& s_min_& ignored_& drift_& warning_;
  }

private:
  // -- member variables -------------------------------------------------------------------------

  /// The configuration.
  ddm_config cfg_;
  /// Errors since the last reset.
  std::uint64_t count_ = 0;
  /// The error rate since the last reset.
  double p_ = 0;
  /// The error rate and deviation where p + s was smallest.
  double p_min_ = std::numeric_limits<double>::max() / 4,
         s_min_ = std::numeric_limits<double>::max() / 4;
  /// Non-finite values ignored.
  std::uint64_t ignored_ = 0;
  /// Whether the last update signalled a drift, or a warning.
  bool drift_ = false, warning_ = false;
};

} // namespace eddy::ml
