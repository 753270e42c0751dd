// The reader of the sensor data set data/sensors/single_hop.csv, shared by its two worked
// examples: the anomaly pipeline (sensor_features.hpp) and the train/test split of the forest
// benchmark (sensor_split.hpp). Every number is checked before it is converted, never cast
// blindly: a reading or mote that no integer holds, a label other than 0 or 1, or a NaN or
// infinite value is refused with the line it is on.
//
//   auto rows = eddy::examples::read_sensor_csv("data/sensors/single_hop.csv");   // sorted
//   auto in_file_order = eddy::examples::read_sensor_rows("data/sensors/single_hop.csv");
//   if (!rows) std::cerr << eddy::describe(rows.error());   // "... line 7: the label is not 0 or
//   1"
#pragma once

#include <eddy/ml/errc.hpp>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace eddy::examples {

using ml::errc;
using ml::make_error;

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

/// So that readings can travel between the operators of a job.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sensor_reading& x) {
  return f(caf::meta::type_name("eddy.examples.sensor_reading"), x.reading, x.mote_id, x.indoor,
           x.humidity, x.temperature, x.label);
}

/// Reads a sensor CSV (header reading,mote_id,indoor,humidity,temperature,label) and returns its
/// rows in file order; errc::io_error, or errc::bad_input with the line. The reading must be a
/// whole number in [0, 2^53], the mote_id a whole number in [0, INT_MAX], the label 0 or 1 and
/// every value finite; a row with another value (e.g. 1e20, which no integer type holds, or nan)
/// is refused, never cast. `where` names the caller in the sentences.
[[nodiscard]] inline caf::expected<std::vector<sensor_reading>>
read_sensor_rows(const std::string& path, const char* where = "read_sensor_csv") {
  std::ifstream in(path);
  if (!in)
    return make_error(errc::io_error, std::string{where} + ": cannot open " + path);
  std::string line;
  std::getline(in, line);
  if (line.rfind("reading,mote_id,indoor,humidity,temperature,label", 0) != 0)
    return make_error(errc::bad_input, std::string{where} + ": " + path + " lacks the header line");
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
      bool row_end = *end == '\0' || (*end == '\r' && end[1] == '\0');
      if (end == p || !std::isfinite(v[i]) || (i < 5 && *end != ',') || (i == 5 && !row_end))
        break; // a seventh field or trailing text is refused too

      p = end + 1;
    }
    auto at = [&] { return std::string{where} + ": " + path + " line " + std::to_string(number); };
    if (i < 6)
      return make_error(errc::bad_input, at() + " is not exactly six finite numbers");
    auto whole_in = [](double x, double low, double high) {
      return x >= low && x <= high && std::floor(x) == x;
    };
    if (!whole_in(v[0], 0.0, 9007199254740992.0)) // 2^53: every whole double up to it is exact
      return make_error(errc::bad_input, at() + ": the reading is not a whole number in [0, 2^53]");
    if (!whole_in(v[1], 0.0, double(std::numeric_limits<int>::max())))
      return make_error(errc::bad_input, at() + ": the mote_id is not a whole number in [0, "
                                                "INT_MAX]");
    if (v[5] != 0.0 && v[5] != 1.0)
      return make_error(errc::bad_input, at() + ": the label is not 0 or 1");
    rows.push_back({static_cast<int64_t>(v[0]), static_cast<int>(v[1]), v[2], v[3], v[4],
                    static_cast<int>(v[5])});
  }
  if (in.bad())
    return make_error(errc::io_error, std::string{where} + ": cannot read " + path);
  return rows;
}

/// Reads a sensor CSV as read_sensor_rows does and returns its rows ordered by reading, then
/// mote_id.
[[nodiscard]] inline caf::expected<std::vector<sensor_reading>>
read_sensor_csv(const std::string& path) {
  auto rows = read_sensor_rows(path);
  if (!rows)
    return rows;
  std::stable_sort(rows->begin(), rows->end(), [](const auto& a, const auto& b) {
    return std::pair{a.reading, a.mote_id} < std::pair{b.reading, b.mote_id};
  });
  return rows;
}

} // namespace eddy::examples
