#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/metrics/regression_metrics.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <deque>
#include <limits>
#include <random>
#include <vector>

using namespace eddy::ml;

namespace {

/// R² recomputed from scratch with two passes, as a reference.
double naive_r2(const std::deque<std::pair<double, double>>& w) {
  double mean = 0.0;
  for (const auto& r : w)
    mean += r.first;
  mean /= double(w.size());
  double sse = 0.0, sst = 0.0;
  for (const auto& [y, p] : w) {
    sse += (y - p) * (y - p);
    sst += (y - mean) * (y - mean);
  }
  return 1.0 - sse / sst;
}

} // namespace

SCENARIO("regression metrics agree with scikit-learn, cumulative and rolling") {
  // reference figures from scikit-learn 1.2.1 (r2_score, mean_absolute_error,
  // mean_squared_error) on these values
  std::vector<double> yt = {3.0, -0.5, 2.0, 7.0, 4.2};
  std::vector<double> yh = {2.5, 0.0, 2.0, 8.0, 3.9};
  regression_metrics all;
  regression_metrics last3{3};
  for (size_t i = 0; i < yt.size(); ++i) {
    all.update(yt[i], yh[i]);
    last3.update(yt[i], yh[i]);
  }
  CHECK(all.r2() == Approx(0.9480256276150627));
  CHECK(all.mae() == Approx(0.46));
  CHECK(all.rmse() == Approx(0.5639148871948674));
  CHECK(last3.count() == 3);
  CHECK(last3.r2() == Approx(0.9132165605095541));
  CHECK(last3.mae() == Approx(0.4333333333333334));
}

SCENARIO("R² stays exact when the targets are large next to their spread") {
  // targets 1e9 + noise of spread 1: sum(y²) - sum(y)²/n loses every digit here
  std::mt19937_64 rng(4);
  std::normal_distribution<double> noise;
  regression_metrics all;
  regression_metrics last{500};
  std::deque<std::pair<double, double>> everything, window;
  for (int i = 0; i < 20000; ++i) {
    double y = 1e9 + noise(rng);
    double p = y + 0.5 * noise(rng);
    all.update(y, p);
    last.update(y, p);
    everything.emplace_back(y, p);
    window.emplace_back(y, p);
    if (window.size() > 500)
      window.pop_front();
  }
  CHECK(all.r2() == Approx(naive_r2(everything)).margin(1e-6));
  CHECK(all.r2() == Approx(0.75).margin(0.02));
  CHECK(last.r2() == Approx(naive_r2(window)).margin(1e-6));
}

SCENARIO("non-finite and overflowing records are ignored and counted") {
  regression_metrics m;
  m.update(1.0, 2.0);
  m.update(std::numeric_limits<double>::quiet_NaN(), 1.0);
  m.update(1.0, std::numeric_limits<double>::infinity());
  m.update(1e300, -1e300); // the error squared overflows
  CHECK(m.count() == 1);
  CHECK(m.ignored() == 3);
  CHECK(m.rmse() == 1.0);
  CHECK(std::isnan(m.r2())); // one target: no spread
  CHECK(std::isnan(regression_metrics{}.rmse()));
}

SCENARIO("restored regression metrics continue exactly like the original") {
  regression_metrics original{40};
  regression_metrics restored;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(10.0, 3.0);
  for (int i = 0; i < 300; ++i) {
    if (i == 130)
      REQUIRE_FALSE(from_binary(to_binary(original), restored));
    double y = normal(rng);
    double p = y + normal(rng) * 0.1;
    original.update(y, p);
    if (i >= 130) {
      restored.update(y, p);
      REQUIRE(restored.count() == original.count());
      REQUIRE(restored.r2() == original.r2());
      REQUIRE(restored.rmse() == original.rmse());
      REQUIRE(restored.mae() == original.mae());
    }
  }
}
