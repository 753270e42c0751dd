#include <eddy/ml/adwin.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <catch2/catch.hpp>

#include <limits>
#include <random>
#include <sstream>
#include <vector>

namespace {

// Bernoulli error indicators: rate p_before until `change`, then p_after.
std::vector<double> errors(std::uint64_t seed, std::size_t n, std::size_t change, double p_before,
                           double p_after) {
  std::mt19937_64 rng{seed};
  std::vector<double> result;
  for (std::size_t i = 0; i < n; ++i) {
    double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    result.push_back(u < (i < change ? p_before : p_after) ? 1.0 : 0.0);
  }
  return result;
}

std::vector<std::size_t> detections(eddy::ml::adwin& detector, const std::vector<double>& xs) {
  std::vector<std::size_t> result;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (detector.update(xs[i]))
      result.push_back(i);
  return result;
}

} // namespace

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
  eddy::ml::adwin first;
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < 4'000; ++i)
    if (first.update(xs[i]))
      found.push_back(i);
  std::ostringstream out;
  {
    boost::archive::binary_oarchive archive{out};
    archive << first;
  }
  eddy::ml::adwin restored{eddy::ml::adwin_config{1.0}};
  std::istringstream in{out.str()};
  {
    boost::archive::binary_iarchive archive{in};
    archive >> restored;
  }
  for (std::size_t i = 4'000; i < xs.size(); ++i)
    if (restored.update(xs[i]))
      found.push_back(i);
  CHECK(found == expected);
  CHECK(restored.mean() == original.mean());
}
