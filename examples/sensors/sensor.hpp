// The records of the sensor examples: one reading of a TelosB mote (data/sensors/README.md).
#pragma once

#include <caf/meta/type_name.hpp>

#include <cmath>
#include <cstdint>
#include <tuple>

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

/// Every field, to compare statistics exactly (two runs must give the very same doubles).
inline auto fields(const mote_stats& x) {
  return std::tie(x.mote_id, x.count, x.temperature_mean, x.temperature_m2, x.temperature_min,
                  x.temperature_max, x.humidity_mean, x.anomalies, x.last_reading);
}
inline bool operator==(const mote_stats& x, const mote_stats& y) {
  return fields(x) == fields(y);
}
inline bool operator<(const mote_stats& x, const mote_stats& y) {
  return fields(x) < fields(y);
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

namespace sensors {

/// What a minute of one mote's readings adds up to: enough for mean, deviation, extremes and the
/// rate of change of temperature and humidity (trivially copyable, so it is keyed state as is).
struct minute_acc {
  int64_t count = 0;
  double t_sum = 0, t_sq = 0, t_min = 0, t_max = 0;
  double h_sum = 0, h_sq = 0, h_min = 0, h_max = 0;
  int64_t first_reading = 0, last_reading = 0;
  double t_first = 0, t_last = 0, h_first = 0, h_last = 0;
};

/// One mote's last minute.
struct minute_stats {
  int64_t readings = 0;
  double temperature_mean = 0, temperature_std = 0, temperature_min = 0, temperature_max = 0;
  double humidity_mean = 0, humidity_std = 0, humidity_min = 0, humidity_max = 0;
  double temperature_per_minute = 0, humidity_per_minute = 0; // rate of change
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, minute_stats& x) {
  return f(caf::meta::type_name("minute_stats"), x.readings, x.temperature_mean, x.temperature_std,
           x.temperature_min, x.temperature_max, x.humidity_mean, x.humidity_std, x.humidity_min,
           x.humidity_max, x.temperature_per_minute, x.humidity_per_minute);
}

inline auto fields(const minute_stats& x) {
  return std::tie(x.readings, x.temperature_mean, x.temperature_std, x.temperature_min,
                  x.temperature_max, x.humidity_mean, x.humidity_std, x.humidity_min,
                  x.humidity_max, x.temperature_per_minute, x.humidity_per_minute);
}
inline bool operator==(const minute_stats& x, const minute_stats& y) {
  return fields(x) == fields(y);
}
inline bool operator<(const minute_stats& x, const minute_stats& y) {
  return fields(x) < fields(y);
}

/// The window aggregate of the flagship job (create_accumulator, add, merge, get_result).
struct minute_aggregate {
  using accumulator = minute_acc;
  using result = minute_stats;
  accumulator create_accumulator() const { return {}; }
  void add(const reading& r, accumulator& a) const {
    accumulator one{1,
                    r.temperature,
                    r.temperature * r.temperature,
                    r.temperature,
                    r.temperature,
                    r.humidity,
                    r.humidity * r.humidity,
                    r.humidity,
                    r.humidity,
                    r.reading,
                    r.reading,
                    r.temperature,
                    r.temperature,
                    r.humidity,
                    r.humidity};
    merge(a, one);
  }
  void merge(accumulator& a, const accumulator& b) const {
    if (b.count == 0)
      return;
    if (a.count == 0) {
      a = b;
      return;
    }
    a.t_min = b.t_min < a.t_min ? b.t_min : a.t_min;
    a.t_max = b.t_max > a.t_max ? b.t_max : a.t_max;
    a.h_min = b.h_min < a.h_min ? b.h_min : a.h_min;
    a.h_max = b.h_max > a.h_max ? b.h_max : a.h_max;
    if (b.first_reading < a.first_reading)
      a.first_reading = b.first_reading, a.t_first = b.t_first, a.h_first = b.h_first;
    if (b.last_reading > a.last_reading)
      a.last_reading = b.last_reading, a.t_last = b.t_last, a.h_last = b.h_last;
    a.count += b.count;
    a.t_sum += b.t_sum, a.t_sq += b.t_sq, a.h_sum += b.h_sum, a.h_sq += b.h_sq;
  }
  result get_result(const accumulator& a) const {
    auto n = static_cast<double>(a.count);
    auto sd = [n](double sum, double sq) {
      auto var = n > 1 ? (sq - sum * sum / n) / (n - 1) : 0.0;
      return var > 0 ? std::sqrt(var) : 0.0;
    };
    auto minutes = static_cast<double>(a.last_reading - a.first_reading) * 5.0 / 60.0;
    minute_stats s;
    s.readings = a.count;
    s.temperature_mean = a.t_sum / n, s.temperature_std = sd(a.t_sum, a.t_sq);
    s.temperature_min = a.t_min, s.temperature_max = a.t_max;
    s.humidity_mean = a.h_sum / n, s.humidity_std = sd(a.h_sum, a.h_sq);
    s.humidity_min = a.h_min, s.humidity_max = a.h_max;
    s.temperature_per_minute = minutes > 0 ? (a.t_last - a.t_first) / minutes : 0.0;
    s.humidity_per_minute = minutes > 0 ? (a.h_last - a.h_first) / minutes : 0.0;
    return s;
  }
};

} // namespace sensors
