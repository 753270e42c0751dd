#include "../detector_streams.hpp"

#include <eddy/ml/drift/adwin.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

SCENARIO("adwin detects a clear rise of the error rate within a bounded delay") {
  for (std::uint64_t seed : {1, 2, 3}) {
    eddy::ml::adwin detector;
    auto found = detections(detector, errors(seed, 10'000, 5'000, 0.1, 0.5));
    REQUIRE_FALSE(found.empty());
    CHECK(found.front() >= 5'000);
    CHECK(found.front() < 5'000 + 300);
    CHECK(detector.mean() > 0.45);
  }
}

SCENARIO("adwin does not alarm on a stationary stream") {
  eddy::ml::adwin detector;
  CHECK(detections(detector, errors(7, 20'000, 20'000, 0.1, 0.1)).empty());
  CHECK(detector.width() == 20'000);
  CHECK(detector.mean() == Approx(0.1).margin(0.01));
}

SCENARIO("adwin ignores non-finite values") {
  eddy::ml::adwin detector;
  detector.update(1.0);
  CHECK_FALSE(detector.update(std::numeric_limits<double>::quiet_NaN()));
  CHECK_FALSE(detector.update(std::numeric_limits<double>::infinity()));
  CHECK(detector.width() == 1);
  CHECK(detector.ignored() == 2);
}

SCENARIO("a restored adwin continues exactly like the original") {
  auto xs = errors(11, 12'000, 6'000, 0.1, 0.5);
  eddy::ml::adwin original;
  auto expected = detections(original, xs);
  eddy::ml::adwin_config other;
  other.delta = 0.5; // overwritten by the archive
  auto restored = *eddy::ml::adwin::make(other);
  CHECK(detections_across_restore(eddy::ml::adwin{}, restored, xs, 4'000) == expected);
  CHECK(restored.mean() == original.mean());
}

SCENARIO("adwin's running mean and variance equal a direct computation over its window") {
  // Values around a mean that jumps every 2'000 records, so that ADWIN cuts its window many
  // times; after every update the window is the last width() values.
  std::mt19937_64 rng{5};
  std::normal_distribution<double> noise{0.0, 1.0};
  const double means[] = {0.0, 4.0, -3.0, 2.0, 8.0};
  eddy::ml::adwin detector;
  std::vector<double> seen;
  std::size_t cuts = 0, checked_after_cut = 0;
  for (std::size_t i = 0; i < 10'000; ++i) {
    seen.push_back(means[i / 2'000] + noise(rng));
    const bool cut = detector.update(seen.back());
    cuts += cut;
    const auto w = static_cast<std::size_t>(detector.width());
    REQUIRE(w <= seen.size());
    if (cuts == 0 || i % 16 != 0)
      continue;
    double mean = 0;
    for (std::size_t k = seen.size() - w; k < seen.size(); ++k)
      mean += seen[k] / static_cast<double>(w);
    double variance = 0;
    for (std::size_t k = seen.size() - w; k < seen.size(); ++k)
      variance += (seen[k] - mean) * (seen[k] - mean) / static_cast<double>(w);
    INFO("record " << i << ", width " << w);
    REQUIRE(detector.mean() == Approx(mean).epsilon(1e-9).margin(1e-9));
    REQUIRE(detector.variance() == Approx(variance).epsilon(1e-9));
    ++checked_after_cut;
  }
  CHECK(cuts >= 4);
  CHECK(checked_after_cut > 400);
}

SCENARIO("adwin detects each of several successive drifts within a bounded delay") {
  // The error rate moves 0.1 -> 0.5 -> 0.1 -> 0.6 -> 0.2 every 5'000 records.
  const double rates[] = {0.1, 0.5, 0.1, 0.6, 0.2};
  for (std::uint64_t seed : {1, 2, 3}) {
    std::mt19937_64 rng{seed};
    std::vector<double> xs;
    for (std::size_t i = 0; i < 25'000; ++i)
      xs.push_back(static_cast<double>(rng() >> 11) * 0x1.0p-53 < rates[i / 5'000] ? 1.0 : 0.0);
    eddy::ml::adwin detector;
    auto found = detections(detector, xs);
    for (std::size_t change : {5'000, 10'000, 15'000, 20'000}) {
      INFO("seed " << seed << ", change at " << change);
      auto first = first_at_or_after(found, change);
      REQUIRE(first != SIZE_MAX);
      CHECK(first < change + 600);
    }
  }
}

SCENARIO("adwin settings out of range are refused with a sentence") {
  auto refused = refusal<eddy::ml::adwin, eddy::ml::adwin_config>;
  eddy::ml::adwin_config cfg;
  cfg.clock = 0;
  CHECK(refused(cfg) == "adwin: clock must be at least 1");
  cfg = {};
  cfg.max_buckets = 0;
  CHECK(refused(cfg) == "adwin: max_buckets must be at least 1");
  cfg = {};
  cfg.min_window_length = 0;
  CHECK(refused(cfg) == "adwin: min_window_length must be at least 1");
  for (double delta : {0.0, -1.0, 1.0, std::numeric_limits<double>::quiet_NaN()}) {
    cfg = {};
    cfg.delta = delta;
    CHECK(refused(cfg) == "adwin: delta must lie in (0, 1)");
  }
  cfg = {};
  cfg.max_buckets = 1;
  cfg.clock = 1;
  auto smallest = eddy::ml::adwin::make(cfg);
  REQUIRE(smallest);
  for (double x : errors(3, 2'000, 1'000, 0.1, 0.9))
    smallest->update(x);
  CHECK(smallest->mean() > 0.5);
}

SCENARIO("adwin settings compare equal exactly when every setting is the same") {
  eddy::ml::adwin_config a, b;
  CHECK(a == b);
  b.mode = eddy::ml::adwin_mode::up;
  CHECK(a != b);
  b = a;
  b.delta = 0.01;
  CHECK(a != b);
  b = a;
  b.grace_period = 11;
  CHECK(a != b);
  CHECK(eddy::ml::adwin::make(a)->config() == a);
}
