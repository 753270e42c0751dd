// The train/test split of the sensor data set used to compare eddy's batch random forest with
// scikit-learn's (bench/ml/sklearn_forest.py computes the same in Python; read it for the
// reasons): per row the indoor flag, humidity, temperature and their change since the mote's
// previous reading; test rows are those with reading % 10 < 3. Shared by the trees benchmark and
// the random forest's quality test, like sensor_features.hpp is a worked example for one data
// set, not a general component.
//
//   auto data = eddy::examples::read_sensor_split("data/sensors/single_hop.csv");
//   auto forest = eddy::ml::random_forest::make(cfg);
//   forest->fit(data->train_x, data->train_y);
//   double f1 = eddy::examples::f1_of_class(*forest, data->test_x, data->test_y, 1);
#pragma once

#include <eddy/examples/ml/sensor_csv.hpp>
#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/input_limits.hpp>

#include <caf/expected.hpp>

#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace eddy::examples {

using ml::errc;
using ml::labels;
using ml::make_error;
using ml::matrix;
using ml::max_input_magnitude;

/// Features and labels of the training and test rows.
struct sensor_split {
  /// Training rows (reading % 10 >= 3), five features each.
  matrix train_x;
  /// Test rows (reading % 10 < 3).
  matrix test_x;
  /// Labels of the training rows.
  labels train_y;
  /// Labels of the test rows.
  labels test_y;
};

/// Reads single_hop.csv (in file order) into the split. Rows are read and checked by
/// read_sensor_rows (sensor_csv.hpp): a reading, mote or label no integer holds, or a NaN or
/// infinite value, is refused with errc::bad_input and its line, never cast. An indoor flag,
/// humidity or temperature beyond ±max_input_magnitude (1e100) is refused the same way, so that
/// the changes since the previous reading stay finite.
[[nodiscard]] inline caf::expected<sensor_split> read_sensor_split(const std::string& path) {
  constexpr const char* where = "read_sensor_split";
  auto readings = read_sensor_rows(path, where);
  if (!readings)
    return std::move(readings.error());
  std::vector<std::vector<double>> rows[2];
  std::vector<int> ys[2];
  std::unordered_map<int, std::pair<double, double>> previous;
  for (const auto& r : *readings) {
    if (!(std::abs(r.indoor) <= max_input_magnitude) ||
        !(std::abs(r.humidity) <= max_input_magnitude) ||
        !(std::abs(r.temperature) <= max_input_magnitude))
      return make_error(errc::bad_input, std::string{where} + ": " + path + ": reading " +
                                             std::to_string(r.reading) + " of mote " +
                                             std::to_string(r.mote_id) +
                                             " has a value beyond +-1e100");
    auto last =
        previous.count(r.mote_id) ? previous[r.mote_id] : std::make_pair(r.humidity, r.temperature);
    previous[r.mote_id] = {r.humidity, r.temperature};
    const int side = r.reading % 10 < 3 ? 1 : 0;
    rows[side].push_back({r.indoor, r.humidity, r.temperature, r.humidity - last.first,
                          r.temperature - last.second});
    ys[side].push_back(r.label);
  }
  sensor_split s;
  for (int side : {0, 1}) {
    matrix x(static_cast<Eigen::Index>(rows[side].size()), 5);
    labels y(static_cast<Eigen::Index>(rows[side].size()));
    for (size_t i = 0; i < rows[side].size(); ++i) {
      for (int f = 0; f < 5; ++f)
        x(static_cast<Eigen::Index>(i), f) = rows[side][i][static_cast<size_t>(f)];
      y[static_cast<Eigen::Index>(i)] = ys[side][i];
    }
    (side == 0 ? s.train_x : s.test_x) = std::move(x);
    (side == 0 ? s.train_y : s.test_y) = std::move(y);
  }
  return s;
}

/// F1 of class `cls` of `model`'s predictions on the rows of `x`.
template <class Model>
[[nodiscard]] double f1_of_class(const Model& model, const matrix& x, const labels& y, int cls) {
  double tp = 0, fp = 0, fn = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const int p = model.predict(x.row(i).transpose());
    tp += p == cls && y[i] == cls;
    fp += p == cls && y[i] != cls;
    fn += p != cls && y[i] == cls;
  }
  return 2 * tp / (2 * tp + fp + fn);
}

} // namespace eddy::examples
