// The reference pipeline for the sensor data set data/sensors/single_hop.csv: CSV reader,
// per-mote window features, standardization and a test-then-train run of a logistic
// regression. It is public so that the example (examples/ml/sensor_anomaly.cpp), the quality
// test (tests/ml/sensor_features_test.cpp) and the scikit-learn comparison
// (bench/ml/sklearn_reference.py, which computes the same features in Python) all run the
// same code; it is a worked example of the library for one data set, not a general component.
//
//   auto readings = eddy::ml::read_sensor_csv("data/sensors/single_hop.csv");  // sorted
//   auto model = eddy::ml::logistic_regression::make(eddy::ml::sensor_features::n_features);
//   auto eval = eddy::ml::run_sensor_anomaly(*readings, *model);   // test-then-train
//   std::cout << eval->cumulative().f1() << '\n';
//
// Readings are ordered by reading, then mote_id. Per mote, the last 12 readings (the current
// one included) give 13 features: indoor flag, temperature, humidity, then for temperature and
// for humidity the window's mean, standard deviation (population), min, max and
// last-minus-mean. A standard_scaler learns each feature vector, then scales it.
#pragma once

#include <eddy/ml/binary_metrics.hpp>
#include <eddy/ml/errc.hpp>
#include <eddy/ml/logistic_regression.hpp>
#include <eddy/ml/rolling_stats.hpp>
#include <eddy/ml/standard_scaler.hpp>

#include <caf/expected.hpp>

#include <boost/serialization/map.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// One row of single_hop.csv.
struct sensor_reading {
  /// Sequence number within the mote.
  int64_t reading = 0;
  /// The mote, 1 to 4.
  int mote_id = 0;
  /// 1 indoor, 0 outdoor.
  double indoor = 0.0;
  /// Relative humidity, %.
  double humidity = 0.0;
  /// Temperature, °C.
  double temperature = 0.0;
  /// 1 for an anomaly, 0 otherwise.
  int label = 0;
};

/// Reads a sensor CSV (header reading,mote_id,indoor,humidity,temperature,label) and returns its
/// rows ordered by reading, then mote_id; errc::io_error or errc::bad_input with the line. The
/// reading must be a whole number in [0, 2^53], the mote_id a whole number in [0, INT_MAX] and
/// the label 0 or 1; a row with another value (e.g. 1e20, which no integer type holds) is
/// refused, never cast.
[[nodiscard]] inline caf::expected<std::vector<sensor_reading>>
read_sensor_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return make_error(errc::io_error, "read_sensor_csv: cannot open " + path);
  std::string line;
  std::getline(in, line);
  if (line.rfind("reading,mote_id,indoor,humidity,temperature,label", 0) != 0)
    return make_error(errc::bad_input, "read_sensor_csv: " + path + " lacks the header line");
  std::vector<sensor_reading> rows;
  for (int64_t number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r")
      continue;
    double v[6];
    const char* p = line.c_str();
    int i = 0;
    for (; i < 6; ++i) {
      char* end = nullptr;
      v[i] = std::strtod(p, &end);
      if (end == p || !std::isfinite(v[i]) || (i < 5 && *end != ','))
        break;
      p = end + 1;
    }
    auto where = [&] { return "read_sensor_csv: " + path + " line " + std::to_string(number); };
    if (i < 6)
      return make_error(errc::bad_input, where() + " is not six numbers");
    auto whole_in = [](double x, double low, double high) {
      return x >= low && x <= high && std::floor(x) == x;
    };
    if (!whole_in(v[0], 0.0, 9007199254740992.0)) // 2^53: every whole double up to it is exact
      return make_error(errc::bad_input, where() + ": the reading is not a whole number in [0, "
                                                   "2^53]");
    if (!whole_in(v[1], 0.0, double(std::numeric_limits<int>::max())))
      return make_error(errc::bad_input, where() + ": the mote_id is not a whole number in [0, "
                                                   "INT_MAX]");
    if (v[5] != 0.0 && v[5] != 1.0)
      return make_error(errc::bad_input, where() + ": the label is not 0 or 1");
    rows.push_back({static_cast<int64_t>(v[0]), static_cast<int>(v[1]), v[2], v[3], v[4],
                    static_cast<int>(v[5])});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::pair{a.reading, a.mote_id} < std::pair{b.reading, b.mote_id};
  });
  return rows;
}

/// Turns sensor readings into standardized feature vectors, keeping a window per mote.
class sensor_features {
public:
  /// Names this state in model files.
  static constexpr const char* model_kind = "eddy.ml.sensor_features";

  /// The number of features per reading.
  static constexpr Eigen::Index n_features = 13;

  /// Features over the last `window` readings of each mote. Default: 12.
  explicit sensor_features(std::size_t window = 12)
      : window_(window)
      , scaler_(n_features) {
    // nop
  }

  /// Writes the raw (unscaled) features of `r` into `out`, after adding r to its mote's window;
  /// refuses (errc::bad_input) a reading with a value that is not finite, or a temperature or
  /// humidity the windows do not accept (beyond ±rolling_stats::max_magnitude), and then leaves
  /// the windows unchanged.
  caf::error raw(const sensor_reading& r, vector& out) {
    if (!std::isfinite(r.indoor) || !rolling_stats::accepts(r.humidity) ||
        !rolling_stats::accepts(r.temperature))
      return make_error(errc::bad_input, "sensor_features: reading " + std::to_string(r.reading) +
                                             " of mote " + std::to_string(r.mote_id) +
                                             " has a value that is not finite or out of range");
    auto [i, added] = motes_.try_emplace(r.mote_id, rolling_stats{window_}, rolling_stats{window_});
    auto& [temperature, humidity] = i->second;
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

  /// Saves or loads all state.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& window_& motes_& scaler_;
  }

private:
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
/// learns. Calls `progress(records_done, eval)` every `every` records (0: never).
template <class Progress>
[[nodiscard]] caf::expected<binary_prequential>
run_sensor_anomaly(const std::vector<sensor_reading>& readings, logistic_regression& model,
                   Progress progress, std::size_t every = 2000) {
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
[[nodiscard]] inline caf::expected<binary_prequential>
run_sensor_anomaly(const std::vector<sensor_reading>& readings, logistic_regression& model) {
  return run_sensor_anomaly(
      readings, model, [](std::size_t, const binary_prequential&) {}, 0);
}

} // namespace eddy::ml
