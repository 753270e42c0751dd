// The records of the sensor examples: one reading of a TelosB mote (data/sensors/README.md).
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>

namespace sensors {

/// One row of data/sensors/single_hop.csv.
struct reading {
  int64_t reading = 0; // sequence number within the mote; x 5 s is the event time
  int mote_id = 0;
  int indoor = 0;
  double humidity = 0;
  double temperature = 0;
  int label = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reading& x) {
  return f(caf::meta::type_name("reading"), x.reading, x.mote_id, x.indoor, x.humidity,
           x.temperature, x.label);
}

/// Running statistics of one mote.
struct mote_stats {
  int mote_id = 0;
  int64_t count = 0;
  double temperature_mean = 0;
  double temperature_m2 = 0; // sum of squared deviations (Welford)
  double temperature_min = 0;
  double temperature_max = 0;
  double humidity_mean = 0;
  int64_t anomalies = 0;
  int64_t last_reading = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mote_stats& x) {
  return f(caf::meta::type_name("mote_stats"), x.mote_id, x.count, x.temperature_mean,
           x.temperature_m2, x.temperature_min, x.temperature_max, x.humidity_mean, x.anomalies,
           x.last_reading);
}

/// Adds one reading to a mote's statistics.
inline void update(mote_stats& s, const reading& r) {
  s.mote_id = r.mote_id;
  if (s.count == 0)
    s.temperature_min = s.temperature_max = r.temperature;
  ++s.count;
  auto d = r.temperature - s.temperature_mean;
  s.temperature_mean += d / s.count;
  s.temperature_m2 += d * (r.temperature - s.temperature_mean);
  s.temperature_min = r.temperature < s.temperature_min ? r.temperature : s.temperature_min;
  s.temperature_max = r.temperature > s.temperature_max ? r.temperature : s.temperature_max;
  s.humidity_mean += (r.humidity - s.humidity_mean) / s.count;
  s.anomalies += r.label;
  s.last_reading = r.reading;
}

} // namespace sensors
