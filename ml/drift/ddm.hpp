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
//
//   eddy::ml::ddm_config cfg;
//   cfg.drift_level = 4;
//   auto patient = eddy::ml::ddm::make(cfg);   // caf::expected: says what is out of range
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <caf/expected.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace eddy::ml {

/// Configuration of a `ddm` detector.
struct ddm_config {
  /// Errors seen before a warning or drift can be signalled. Default: 30.
  std::size_t min_instances = 30;
  /// Standard deviations above the minimum that raise a warning, finite and > 0. Default: 2.
  double warning_level = 2.0;
  /// Standard deviations above the minimum that signal a drift, finite and >= warning_level.
  /// Default: 3.
  double drift_level = 3.0;
};

/// The DDM drift detector; restarts itself after each detected drift. Not thread-safe.
class ddm {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// Creates a detector with the default configuration that has seen nothing.
  ddm() = default;

  /// Creates a detector that has seen nothing, or says which setting is out of range.
  [[nodiscard]] static caf::expected<ddm> make(ddm_config cfg) {
    if (auto err = validate(cfg))
      return err;
    ddm result;
    result.cfg_ = cfg;
    return result;
  }

  /// The error `make` returns for `cfg`, or none.
  [[nodiscard]] static caf::error validate(const ddm_config& cfg) {
    auto bad = [](const char* what) {
      return make_error(errc::invalid_argument, std::string{"ddm: "} + what);
    };
    if (!(cfg.warning_level > 0) || !std::isfinite(cfg.warning_level))
      return bad("warning_level must be finite and > 0");
    if (!(cfg.drift_level >= cfg.warning_level) || !std::isfinite(cfg.drift_level))
      return bad("drift_level must be finite and >= warning_level");
    return caf::error{};
  }

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

  /// The configuration.
  [[nodiscard]] const ddm_config& config() const noexcept { return cfg_; }

  /// Saves or loads the whole state with a Boost archive; loaded settings out of range throw
  /// (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_.min_instances& cfg_.warning_level& cfg_.drift_level;
    ar& count_& p_& p_min_& s_min_& ignored_;
    serialize_flag(ar, drift_, "ddm: drift_detected");
    serialize_flag(ar, warning_, "ddm: warning_detected");
    if constexpr (Archive::is_loading::value)
      if (validate(cfg_))
        throw_corrupt_archive("ddm: settings out of range");
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
