// The events of the online-learning benchmarks: 16 uniform features per event, a function of
// its index (splitmix64), and a label from a fixed linear rule of the first four, with a share of
// labels flipped as noise.
#pragma once

#include "cli.hpp"

#include <eddy/ml/operators/records.hpp>

#include <cstdint>
#include <utility>
#include <vector>

namespace eddy::bench {

constexpr int n_features = 16;

/// A uniform double in [-1, 1) from (i, j) (splitmix64).
inline double uniform_at(uint64_t i, uint64_t j) {
  uint64_t z = i * 0x9E3779B97F4A7C15ULL + j * 0xBF58476D1CE4E5B9ULL + 0x94D049BB133111EBULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return double(z >> 11) / double(uint64_t{1} << 52) - 1.0;
}

/// Event i's features.
inline std::vector<double> features_at(uint64_t i) {
  std::vector<double> x(n_features);
  for (int j = 0; j < n_features; ++j)
    x[size_t(j)] = uniform_at(i, uint64_t(j));
  return x;
}

/// Event i with its label: the sign of a fixed linear function of the first features, flipped
/// for a share `noise` of the events (0: none).
inline ml::labelled_point labelled_at(uint64_t i, double noise = 0.0) {
  auto x = features_at(i);
  int32_t y = x[0] - 0.5 * x[1] + 0.25 * x[2] - x[3] > 0 ? 1 : 0;
  if (noise > 0 && (uniform_at(i, 99) + 1) / 2 < noise)
    y = 1 - y;
  return ml::labelled_point{i, std::move(x), y};
}

/// The options of the learning benchmarks and their defaults.
struct learning_options {
  uint64_t events = 2'000'000;
  uint64_t every = 10'000;
  size_t threads = 2;
  uint64_t repeat = 3;

  /// Adds --events, --every, --threads and --repeat to `app`.
  void add_to(CLI::App& app) {
    app.add_option("--events", events, "events")
        ->capture_default_str()
        ->check(whole_number(1, 1'000'000'000));
    app.add_option("--every", every, "updates between versions")
        ->capture_default_str()
        ->check(whole_number(1, 1'000'000'000));
    app.add_option("--threads", threads, "CAF scheduler threads")
        ->capture_default_str()
        ->check(whole_number(1, 1024));
    app.add_option("--repeat", repeat, "runs of each side (the best is reported)")
        ->capture_default_str()
        ->check(whole_number(1, 100));
  }
};

} // namespace eddy::bench
