// ADWIN, the adaptive windowing drift detector of Bifet and Gavaldà (2007).
//
// ADWIN keeps a window of recent values compressed into an exponential histogram of buckets and
// drops its oldest part whenever two sub-windows have means that differ by more than a bound set
// by `delta`. Feed it a learner's error indicator (1 = wrong) or any bounded value.
//
//   eddy::ml::adwin detector;   // delta 0.002; see adwin_config
//   eddy::ml::adwin_config cfg;
//   cfg.delta = 0.01;
//   auto sensitive = eddy::ml::adwin::make(cfg);   // caf::expected: says what is out of range
//   for (double err : errors)
//     if (detector.update(err))
//       std::cout << "drift, mean now " << detector.mean() << '\n';
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace eddy::ml {

/// Which cuts of an `adwin` window count as a drift.
enum class adwin_mode : std::uint8_t {
  /// Any cut: the mean rose or fell (the classic detector).
  both,
  /// Only cuts after which the mean rose (MOA's ADWINChangeDetector; right for error rates, where
  /// a falling error means the learner improves).
  up,
  /// Only cuts after which the mean fell.
  down,
};

/// Configuration of an `adwin` detector.
struct adwin_config {
  /// Confidence of a cut, in (0, 1): smaller means fewer false alarms and later detections.
  /// Default: 0.002.
  double delta = 0.002;
  /// Checks for a cut every `clock` updates, >= 1. Default: 32.
  std::size_t clock = 32;
  /// Buckets of one size kept before two are merged (MOA's M), >= 1. Default: 5.
  std::size_t max_buckets = 5;
  /// Each side of a cut holds at least this many values, >= 1. Default: 5.
  std::size_t min_window_length = 5;
  /// No check before the window holds this many values. Default: 10.
  std::size_t grace_period = 10;
  /// Which cuts count as a drift (the window is cut either way). Default: both.
  adwin_mode mode = adwin_mode::both;

  friend bool operator==(const adwin_config& a, const adwin_config& b) noexcept {
    return a.delta == b.delta && a.clock == b.clock && a.max_buckets == b.max_buckets &&
           a.min_window_length == b.min_window_length && a.grace_period == b.grace_period &&
           a.mode == b.mode;
  }
  friend bool operator!=(const adwin_config& a, const adwin_config& b) noexcept {
    return !(a == b);
  }
};

/// The ADWIN drift detector; not thread-safe.
class adwin {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// Creates an empty detector with the default configuration.
  adwin() = default;

  /// Creates an empty detector, or says which setting is out of range.
  [[nodiscard]] static caf::expected<adwin> make(adwin_config cfg) {
    if (auto err = validate(cfg))
      return err;
    adwin result;
    result.cfg_ = cfg;
    return result;
  }

  /// The error `make` returns for `cfg`, or none.
  [[nodiscard]] static caf::error validate(const adwin_config& cfg) {
    auto bad = [](const char* what) {
      return make_error(errc::invalid_argument, std::string{"adwin: "} + what);
    };
    if (!(cfg.delta > 0 && cfg.delta < 1))
      return bad("delta must lie in (0, 1)");
    if (cfg.clock < 1)
      return bad("clock must be at least 1");
    if (cfg.max_buckets < 1)
      return bad("max_buckets must be at least 1");
    if (cfg.min_window_length < 1)
      return bad("min_window_length must be at least 1");
    if (static_cast<std::uint8_t>(cfg.mode) > 2)
      return bad("mode must be both, up or down");
    return caf::error{};
  }

  // -- updates ----------------------------------------------------------------------------------

  /// Adds `x` to the window; returns true when this update cut the window (a drift).
  /// Non-finite values are ignored (and counted in `ignored()`).
  bool update(double x) {
    drift_ = false;
    if (!std::isfinite(x)) {
      ++ignored_;
      return false;
    }
    insert(x);
    ++ticks_;
    if (ticks_ % cfg_.clock == 0 && width_ > cfg_.grace_period) {
      const double before = mean();
      drift_ = detect_cut();
      if (drift_ && cfg_.mode != adwin_mode::both)
        drift_ = cfg_.mode == adwin_mode::up ? mean() > before : mean() < before;
    }
    return drift_;
  }

  /// Forgets every value.
  void reset() {
    rows_.clear();
    width_ = 0;
    total_ = variance_ = 0;
    drift_ = false;
  }

  // -- properties -------------------------------------------------------------------------------

  /// True when the last `update` detected a drift.
  [[nodiscard]] bool drift_detected() const noexcept { return drift_; }

  /// The mean of the values in the window (0 when empty).
  [[nodiscard]] double mean() const noexcept { return width_ > 0 ? total_ / width_ : 0.0; }

  /// The number of values in the window.
  [[nodiscard]] double width() const noexcept { return width_; }

  /// The (population) variance of the values in the window.
  [[nodiscard]] double variance() const noexcept { return width_ > 0 ? variance_ / width_ : 0.0; }

  /// The number of non-finite values ignored so far.
  [[nodiscard]] std::uint64_t ignored() const noexcept { return ignored_; }

  /// Bytes held by this detector (object plus buckets).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    std::size_t bytes = sizeof(*this) + rows_.capacity() * sizeof(std::vector<bucket>);
    for (const auto& row : rows_)
      bytes += row.capacity() * sizeof(bucket);
    return bytes;
  }

  /// The configuration.
  [[nodiscard]] const adwin_config& config() const noexcept { return cfg_; }

  /// Saves or loads the whole state with a Boost archive; loaded settings out of range throw
  /// (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_.delta& cfg_.clock& cfg_.max_buckets& cfg_.min_window_length;
    ar& cfg_.grace_period& cfg_.mode& rows_& width_& total_& variance_& ticks_& ignored_;
    serialize_flag(ar, drift_, "adwin: drift_detected");
    if constexpr (Archive::is_loading::value)
      if (validate(cfg_))
        throw_corrupt_archive("adwin: settings out of range");
  }

private:
  /// A bucket of 2^row values: their sum and their sum of squared deviations.
  struct bucket {
    /// Sum of the bucket's values.
    double total = 0;
    /// Sum of their squared deviations from their mean.
    double variance = 0;

    /// Saves or loads the bucket with a Boost archive.
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& total& variance;
    }
  };

  static double bucket_size(std::size_t row) { return std::ldexp(1.0, static_cast<int>(row)); }

  void insert(double x) {
    if (rows_.empty())
      rows_.emplace_back();
    rows_[0].push_back(bucket{x, 0.0});
    if (width_ > 0) {
      const double old_mean = total_ / width_;
      variance_ += width_ * (x - old_mean) * (x - old_mean) / (width_ + 1);
    }
    width_ += 1;
    total_ += x;
    compress();
  }

  /// Merges the two oldest buckets of every overfull row into one of the next row.
  void compress() {
    for (std::size_t row = 0; row < rows_.size(); ++row) {
      if (rows_[row].size() <= cfg_.max_buckets)
        break;
      if (row + 1 == rows_.size())
        rows_.emplace_back();
      const bucket a = rows_[row][0];
      const bucket b = rows_[row][1];
      const double n = bucket_size(row);
      const double diff = a.total / n - b.total / n;
      rows_[row].erase(rows_[row].begin(), rows_[row].begin() + 2);
      rows_[row + 1].push_back(
          bucket{a.total + b.total, a.variance + b.variance + n * diff * diff / 2});
    }
  }

  /// Drops the oldest bucket. The window W splits into the bucket (n values) and the rest
  /// (W - n): M2(W) = M2(bucket) + M2(rest) + n (W - n) / W (mean(bucket) - mean(rest))^2, so
  /// the correction uses the mean and width of the remaining window, as MOA's deleteElement.
  void drop_oldest() {
    while (!rows_.empty() && rows_.back().empty())
      rows_.pop_back();
    if (rows_.empty())
      return;
    const std::size_t row = rows_.size() - 1;
    const bucket b = rows_[row].front();
    const double n = bucket_size(row);
    width_ -= n;
    total_ -= b.total;
    if (width_ > 0) {
      const double diff = b.total / n - total_ / width_;
      variance_ -= b.variance + n * width_ * diff * diff / (n + width_);
    }
    if (variance_ < 0 || width_ <= 0)
      variance_ = 0;
    rows_[row].erase(rows_[row].begin());
    while (!rows_.empty() && rows_.back().empty())
      rows_.pop_back();
  }

  /// Tests every cut point from oldest to newest, dropping old buckets while a cut holds.
  bool detect_cut() {
    bool detected = false;
    for (bool cut = true; cut && width_ > cfg_.grace_period;) {
      cut = false;
      double n0 = 0, n1 = width_, u0 = 0, u1 = total_;
      const double min_len = static_cast<double>(cfg_.min_window_length);
      for (std::size_t r = rows_.size(); r-- > 0 && !cut;) {
        for (std::size_t k = 0; k < rows_[r].size(); ++k) {
          const double n = bucket_size(r);
          n0 += n;
          n1 -= n;
          u0 += rows_[r][k].total;
          u1 -= rows_[r][k].total;
          if (n1 < min_len)
            break;
          if (n0 >= min_len && cut_holds(n0, n1, u0 / n0 - u1 / n1)) {
            cut = detected = true;
            drop_oldest();
            break;
          }
        }
      }
    }
    return detected;
  }

  bool cut_holds(double n0, double n1, double mean_diff) const {
    const double min_len = static_cast<double>(cfg_.min_window_length);
    const double log_term = std::log(2.0 * std::log(width_) / cfg_.delta);
    const double m = 1.0 / (n0 - min_len + 1) + 1.0 / (n1 - min_len + 1);
    const double eps = std::sqrt(2.0 * m * variance() * log_term) + 2.0 / 3.0 * log_term * m;
    return std::abs(mean_diff) > eps;
  }

  // -- member variables -------------------------------------------------------------------------

  /// The configuration.
  adwin_config cfg_;
  /// rows_[i] holds buckets of 2^i values, oldest first; higher rows hold older values.
  std::vector<std::vector<bucket>> rows_;
  /// Values in the window.
  double width_ = 0;
  /// Sum of the values in the window.
  double total_ = 0;
  /// Sum of squared deviations from the mean in the window.
  double variance_ = 0;
  /// Finite updates seen so far (drives the clock).
  std::uint64_t ticks_ = 0;
  /// Non-finite values ignored.
  std::uint64_t ignored_ = 0;
  /// Whether the last update detected a drift.
  bool drift_ = false;
};

} // namespace eddy::ml
