// The Page-Hinkley test (Page 1954), a cumulative-sum drift detector for a change in the mean.
//
// It accumulates the deviations of each value from the running mean (minus a tolerance `delta`)
// and signals a drift when the sum rises more than `threshold` above its minimum. The default
// mode watches for increases, which is what a rising error rate looks like.
//
//   eddy::ml::page_hinkley_config cfg;
//   cfg.threshold = 25;   // react faster, alarm more often
//   auto detector = eddy::ml::page_hinkley::make(cfg);   // caf::expected
//   if (!detector) return detector.error();
//   for (double err : errors)
//     if (detector->update(err))
//       std::cout << "drift\n";
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <caf/expected.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

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
  /// Tolerated change per value, finite and >= 0. Default: 0.005.
  double delta = 0.005;
  /// The rise of the cumulative sum above its minimum that signals a drift (MOA's lambda),
  /// finite and > 0. Default: 50.
  double threshold = 50;
  /// Forgetting factor applied to the cumulative sum, in (0, 1]. Default: 1 - 1e-4.
  double alpha = 1 - 1e-4;
  /// The direction watched. Default: up.
  page_hinkley_mode mode = page_hinkley_mode::up;
};

/// The Page-Hinkley drift detector; restarts itself after each detected drift. Not thread-safe.
class page_hinkley {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// Creates a detector with the default configuration that has seen nothing.
  page_hinkley() = default;

  /// Creates a detector that has seen nothing, or says which setting is out of range.
  [[nodiscard]] static caf::expected<page_hinkley> make(page_hinkley_config cfg) {
    if (auto err = validate(cfg))
      return err;
    page_hinkley result;
    result.cfg_ = cfg;
    return result;
  }

  /// The error `make` returns for `cfg`, or none.
  [[nodiscard]] static caf::error validate(const page_hinkley_config& cfg) {
    auto bad = [](const char* what) {
      return make_error(errc::invalid_argument, std::string{"page_hinkley: "} + what);
    };
    if (!(cfg.delta >= 0) || !std::isfinite(cfg.delta))
      return bad("delta must be finite and >= 0");
    if (!(cfg.threshold > 0) || !std::isfinite(cfg.threshold))
      return bad("threshold must be finite and > 0");
    if (!(cfg.alpha > 0 && cfg.alpha <= 1))
      return bad("alpha must lie in (0, 1]");
    if (static_cast<std::uint8_t>(cfg.mode) > 2)
      return bad("mode must be up, down or both");
    return caf::error{};
  }

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

  /// The configuration.
  [[nodiscard]] const page_hinkley_config& config() const noexcept { return cfg_; }

  /// Saves or loads the whole state with a Boost archive; loaded settings out of range throw
  /// (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_.min_instances& cfg_.delta& cfg_.threshold& cfg_.alpha& cfg_.mode;
    ar& count_& mean_& sum_up_& sum_down_& min_up_& min_down_& ignored_;
    serialize_flag(ar, drift_, "page_hinkley: drift_detected");
    if constexpr (Archive::is_loading::value)
      if (validate(cfg_))
        throw_corrupt_archive("page_hinkley: settings out of range");
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
