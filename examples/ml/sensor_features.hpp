// The reference pipeline for the sensor data set data/sensors/single_hop.csv: per-mote window
// features, standardization and a test-then-train run of a logistic regression, on the rows of
// the CSV reader (sensor_csv.hpp, included). It is shared so that the example
// (examples/ml/sensor_anomaly.cpp), the quality test (tests/examples/ml/sensor_features_test.cpp)
// and the scikit-learn comparison (bench/ml/sklearn_reference.py, which computes the same features
// in Python) all run the same code; it is a worked example of the library for one data set, not a
// general component.
//
//   auto readings = eddy::examples::read_sensor_csv("data/sensors/single_hop.csv");  // sorted
//   auto model = eddy::ml::logistic_regression::make(eddy::examples::sensor_features::n_features);
//   auto eval = eddy::examples::run_sensor_anomaly(*readings, *model);   // test-then-train
//   std::cout << eval->cumulative().f1() << '\n';
//
// Readings are ordered by reading, then mote_id. Per mote, the last 12 readings (the current
// one included) give 13 features: indoor flag, temperature, humidity, then for temperature and
// for humidity the window's mean, standard deviation (population), min, max and
// last-minus-mean. A standard_scaler learns each feature vector, then scales it.
#pragma once

#include <eddy/examples/ml/sensor_csv.hpp>
#include <eddy/ml/errc.hpp>
#include <eddy/ml/features/rolling_stats.hpp>
#include <eddy/ml/features/standard_scaler.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>

#include <caf/expected.hpp>

#include <boost/serialization/map.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace eddy::examples {

using ml::binary_metrics;
using ml::binary_prequential;
using ml::errc;
using ml::logistic_regression;
using ml::make_error;
using ml::rolling_stats;
using ml::standard_scaler;
using ml::throw_corrupt_archive;
using ml::vector;

/// Turns sensor readings into standardized feature vectors, keeping a window per mote.
class sensor_features {
public:
  /// Names this state in model files.
  static constexpr const char* model_kind = "eddy.ml.sensor_features";

  /// The number of features per reading.
  static constexpr Eigen::Index n_features = 13;

  /// The readings per mote window by default.
  static constexpr std::size_t default_window = 12;

  /// Features over the last `window` readings of each mote. Default: 12.
  explicit sensor_features(std::size_t window = default_window)
      : window_(window)
      , scaler_(n_features) {
    // nop
  }

  /// Writes the raw (unscaled) features of `r` into `out`, after adding r to its mote's window;
  /// refuses (errc::bad_input) a reading with a value that is not finite, or a temperature or
  /// humidity the windows do not accept (beyond ±rolling_stats::max_magnitude), and then leaves
  /// the windows unchanged.
  caf::error raw(const sensor_reading& r, vector& out) {
    if (!accepts(r))
      return refusal(r);
    auto [i, added] = motes_.try_emplace(r.mote_id, rolling_stats{window_}, rolling_stats{window_});
    return raw(r, i->second.first, i->second.second, out);
  }

  /// The raw features of `r` from its mote's windows `temperature` and `humidity`, which learn r
  /// first: the step `raw` takes per reading, for a job that keeps the windows in keyed state.
  /// A reading `accepts` refuses is refused (errc::bad_input) and the windows stay unchanged.
  static caf::error raw(const sensor_reading& r, rolling_stats& temperature,
                        rolling_stats& humidity, vector& out) {
    if (!accepts(r))
      return refusal(r);
    if (auto err = temperature.push(r.temperature))
      return err; // unreachable after the check above
    if (auto err = humidity.push(r.humidity))
      return err; // unreachable after the check above
    out.resize(n_features);
    out << r.indoor, r.temperature, r.humidity, temperature.mean(), temperature.std(),
        temperature.min(), temperature.max(), temperature.last_minus_mean(), humidity.mean(),
        humidity.std(), humidity.min(), humidity.max(), humidity.last_minus_mean();
    return caf::error{};
  }

  /// Writes the standardized features of `r` into `out` (windows and scaler learn r first). A
  /// reading raw() refuses changes nothing; one the scaler refuses (its statistics would
  /// overflow, which needs values near the windows' 1e150 limit) has entered the windows.
  caf::error next(const sensor_reading& r, vector& out) {
    if (auto err = raw(r, raw_))
      return err;
    return scaler_.learn_transform(raw_, out);
  }

  /// The feature names, in order.
  [[nodiscard]] static std::vector<std::string> names() {
    return {"indoor",     "temperature", "humidity", "t_mean", "t_std", "t_min",     "t_max",
            "t_last_dev", "h_mean",      "h_std",    "h_min",  "h_max", "h_last_dev"};
  }

  /// Saves or loads all state. A loaded state whose scaler does not take n_features features, or
  /// whose windows are not `window` long, throws (errc::corrupt_file from `from_binary` and
  /// `load_model`); the windows and the scaler check their own state.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& window_& motes_& scaler_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

  /// True when the windows take `r`: its values are finite and within
  /// ±rolling_stats::max_magnitude.
  [[nodiscard]] static bool accepts(const sensor_reading& r) {
    return std::isfinite(r.indoor) && rolling_stats::accepts(r.humidity) &&
           rolling_stats::accepts(r.temperature);
  }

private:
  /// The error for a reading `accepts` refuses.
  static caf::error refusal(const sensor_reading& r) {
    return make_error(errc::bad_input, "sensor_features: reading " + std::to_string(r.reading) +
                                           " of mote " + std::to_string(r.mote_id) +
                                           " has a value that is not finite or out of range");
  }

  /// Refuses a loaded state whose parts disagree with each other.
  void check_loaded() const {
    if (scaler_.n_features() != n_features)
      throw_corrupt_archive("sensor_features: the scaler takes " +
                            std::to_string(scaler_.n_features()) + " features, expected " +
                            std::to_string(n_features));
    const auto length = std::max<std::size_t>(window_, 1); // as rolling_stats makes it
    for (const auto& [mote, windows] : motes_)
      if (windows.first.window() != length || windows.second.window() != length)
        throw_corrupt_archive("sensor_features: the windows of mote " + std::to_string(mote) +
                              " are not " + std::to_string(length) + " readings long");
  }

  /// The window length per mote.
  std::size_t window_;
  /// Per mote: the windows of temperature and humidity.
  std::map<int, std::pair<rolling_stats, rolling_stats>> motes_;
  /// Online standardization of the raw features.
  standard_scaler scaler_;
  /// Scratch for the raw features (not state).
  vector raw_;
};

/// Runs the anomaly classifier test-then-train over `readings`: for each one, features, then
/// P(anomaly) is scored into the returned evaluation (rolling window: 2000), then the model
/// learns. Calls `progress(records_done, eval)` every `every` records (0: never). `Model` is any
/// binary eddy/ml classifier (logistic_regression, mlp_classifier, ...).
template <class Model, class Progress>
[[nodiscard]] caf::expected<binary_prequential>
run_sensor_anomaly(const std::vector<sensor_reading>& readings, Model& model, Progress progress,
                   std::size_t every = 2000) {
  if (model.n_features() != sensor_features::n_features || model.n_classes() != 2)
    return make_error(errc::invalid_argument, "run_sensor_anomaly: the model must be binary "
                                              "with sensor_features::n_features features");
  sensor_features features;
  binary_prequential eval{binary_metrics{}, binary_metrics{0.5, 2000}};
  vector x;
  for (std::size_t i = 0; i < readings.size(); ++i) {
    if (auto err = features.next(readings[i], x))
      return err;
    eval.score(readings[i].label, model.predict_proba(x)[1]);
    if (auto err = model.learn(x, readings[i].label))
      return err;
    if (every > 0 && (i + 1) % every == 0)
      progress(i + 1, eval);
  }
  return eval;
}

/// run_sensor_anomaly without progress reports.
template <class Model>
[[nodiscard]] caf::expected<binary_prequential>
run_sensor_anomaly(const std::vector<sensor_reading>& readings, Model& model) {
  return run_sensor_anomaly(
      readings, model, [](std::size_t, const binary_prequential&) {}, 0);
}

} // namespace eddy::examples
