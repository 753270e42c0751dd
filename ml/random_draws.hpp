// Random draws that depend only on a std::mt19937_64's state, for eddy/ml's trees, ensembles,
// matrix factorization and synthetic streams.
//
// The standard distributions may keep hidden state (a cached normal) and differ between standard
// libraries; these functions do not, so a learner whose engine is restored from a snapshot (see
// serialization.hpp) draws exactly the numbers the original would have drawn.
//
//   std::mt19937_64 rng{42};
//   double u = eddy::ml::uniform01(rng);   // in [0, 1)
//   int k = eddy::ml::poisson(rng, 6.0);   // an online bagging weight
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace eddy::ml {

/// A uniform double in [0, 1) built from the top 53 bits of one draw.
[[nodiscard]] inline double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

/// A uniform integer in [0, n), `n > 0` (multiply-shift; the bias is below 2^-40 for small n).
[[nodiscard]] inline std::size_t uniform_index(std::mt19937_64& rng, std::size_t n) {
  return static_cast<std::size_t>(uniform01(rng) * static_cast<double>(n)) % n;
}

/// A Poisson(`lambda`) draw by Knuth's multiplication method (fine for lambda up to ~30).
[[nodiscard]] inline int poisson(std::mt19937_64& rng, double lambda) {
  const double limit = std::exp(-lambda);
  double product = uniform01(rng);
  int k = 0;
  while (product > limit) {
    ++k;
    product *= uniform01(rng);
  }
  return k;
}

/// A standard normal draw by the Box-Muller transform (uses two uniforms, caches nothing).
[[nodiscard]] inline double standard_normal(std::mt19937_64& rng) {
  const double u1 = 1.0 - uniform01(rng); // in (0, 1]
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// `k` distinct indices of [0, n) in increasing order (partial Fisher-Yates), `k <= n`.
[[nodiscard]] inline std::vector<std::size_t> sample_indices(std::mt19937_64& rng, std::size_t n,
                                                             std::size_t k) {
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), std::size_t{0});
  for (std::size_t i = 0; i < k && i < n; ++i)
    std::swap(all[i], all[i + uniform_index(rng, n - i)]);
  all.resize(k < n ? k : n);
  std::sort(all.begin(), all.end());
  return all;
}

} // namespace eddy::ml
