#include <eddy/ml/features/rolling_stats.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>
#include <random>

using eddy::ml::rolling_stats;

namespace {

/// The statistics recomputed from scratch over the window, as a reference.
struct reference {
  double mean, std, min, max, last_minus_mean;
};

reference naive(const std::deque<double>& w) {
  double mean = std::accumulate(w.begin(), w.end(), 0.0) / double(w.size());
  double ss = 0.0;
  for (double v : w)
    ss += (v - mean) * (v - mean);
  return {mean, std::sqrt(ss / double(w.size())), *std::min_element(w.begin(), w.end()),
          *std::max_element(w.begin(), w.end()), w.back() - mean};
}

} // namespace

SCENARIO("rolling statistics equal those recomputed over the last W values") {
  for (std::size_t window : {1u, 2u, 5u, 12u}) {
    rolling_stats stats(window);
    std::deque<double> w;
    std::mt19937_64 rng(window);
    std::normal_distribution<double> normal(20.0, 5.0);
    for (int i = 0; i < 5000; ++i) {
      // long monotone runs and repeated values exercise the min / max queues
      double v = i % 500 < 100 ? std::floor(normal(rng)) : (i % 500 < 200 ? i * 0.01 : 3.0);
      REQUIRE_FALSE(stats.push(v));
      w.push_back(v);
      if (w.size() > window)
        w.pop_front();
      auto ref = naive(w);
      REQUIRE(stats.size() == w.size());
      REQUIRE(stats.mean() == Approx(ref.mean).margin(1e-9));
      REQUIRE(stats.std() == Approx(ref.std).margin(1e-6));
      REQUIRE(stats.min() == ref.min);
      REQUIRE(stats.max() == ref.max);
      REQUIRE(stats.last_minus_mean() == Approx(ref.last_minus_mean).margin(1e-9));
    }
  }
}

SCENARIO("rolling statistics of nothing are 0") {
  rolling_stats stats(4);
  CHECK(stats.mean() == 0.0);
  CHECK(stats.std() == 0.0);
  CHECK(stats.min() == 0.0);
  CHECK_FALSE(stats.full());
}

SCENARIO("restored rolling statistics continue exactly like the original") {
  rolling_stats original(7);
  rolling_stats restored;
  for (int i = 0; i < 100; ++i) {
    if (i == 40)
      REQUIRE_FALSE(eddy::ml::from_binary(eddy::ml::to_binary(original), restored));
    double v = std::sin(i * 0.7) * 10.0;
    REQUIRE_FALSE(original.push(v));
    if (i >= 40) {
      REQUIRE_FALSE(restored.push(v));
      REQUIRE(restored.mean() == original.mean());
      REQUIRE(restored.std() == original.std());
      REQUIRE(restored.min() == original.min());
      REQUIRE(restored.max() == original.max());
    }
  }
}

SCENARIO("rolling statistics refuse NaN, infinities and huge values and keep their window") {
  rolling_stats stats(3);
  for (double v : {1.0, 2.0, 3.0})
    REQUIRE_FALSE(stats.push(v));
  auto before = eddy::ml::to_binary(stats);
  for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity(), -1e200, 1e151}) {
    INFO(bad);
    CHECK(eddy::ml::is(stats.push(bad), eddy::ml::errc::bad_input));
    CHECK(eddy::ml::to_binary(stats) == before);
  }
  CHECK(stats.mean() == 2.0);
  CHECK(stats.max() == 3.0);
  REQUIRE_FALSE(stats.push(rolling_stats::max_magnitude));
  CHECK(std::isfinite(stats.std()));
}
