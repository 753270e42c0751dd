// Deterministic labelled points for the learning operators' tests, and the plain loop that a
// learner operator must agree with.
#pragma once

#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/operators/records.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

namespace eddy::test {

inline constexpr int n_features = 4;

/// A uniform double in [-1, 1) from (i, j), the same on every run (splitmix64).
inline double uniform_at(uint64_t i, uint64_t j) {
  uint64_t z = i * 0x9E3779B97F4A7C15ULL + j * 0xBF58476D1CE4E5B9ULL + 0x94D049BB133111EBULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return double(z >> 11) / double(uint64_t{1} << 52) - 1.0;
}

/// Record `i`: four features, label 1 when 2 x0 - x1 + 0.5 x2 > 0.2 (10 % of labels flipped).
inline ml::labelled_point labelled_at(uint64_t i) {
  ml::labelled_point p;
  p.id = i;
  for (int j = 0; j < n_features; ++j)
    p.x.push_back(uniform_at(i, uint64_t(j)));
  bool positive = 2 * p.x[0] - p.x[1] + 0.5 * p.x[2] > 0.2;
  if (uniform_at(i, 99) > 0.8)
    positive = !positive;
  p.y = positive ? 1 : 0;
  return p;
}

/// Record `i` without its label.
inline ml::point point_at(uint64_t i) {
  auto p = labelled_at(i);
  return ml::point{p.id, std::move(p.x)};
}

/// The features of `x` as an Eigen vector.
inline ml::vector features(const std::vector<double>& x) {
  ml::vector v(static_cast<Eigen::Index>(x.size()));
  for (size_t k = 0; k < x.size(); ++k)
    v[static_cast<Eigen::Index>(k)] = x[k];
  return v;
}

/// `f`, pausing 1 ms every 50 records: a source that lasts long enough for checkpoints every
/// 10 ms to fall within it.
template <class F>
auto paced(F f) {
  return [f](uint64_t i) {
    if (i % 50 == 49)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return f(i);
  };
}

/// Decodes the model a version carries.
template <class Model = ml::logistic_regression>
Model model_of(const ml::model_version& v) {
  Model m;
  if (auto err = ml::from_binary(v.params, m))
    throw std::runtime_error("version " + std::to_string(v.version) + " does not decode");
  return m;
}

} // namespace eddy::test
