#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/metrics/confusion_matrix.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

using namespace eddy::ml;

namespace {

const std::vector<std::pair<int, int>> pairs = {{0, 0}, {0, 1}, {1, 1}, {2, 2}, {2, 1}, {2, 2}};

} // namespace

SCENARIO("a confusion matrix gives per-class and macro figures") {
  confusion_matrix m{3};
  for (auto [y, p] : pairs)
    m.update(y, p);
  m.update(5, 0); // ignored: outside the classes
  m.update(0, -1);
  CHECK(m.count() == 6);
  CHECK(m.ignored() == 2);
  CHECK(m.accuracy() == Approx(4.0 / 6.0));
  CHECK(m.precision(1) == Approx(1.0 / 3.0));
  CHECK(m.recall(2) == Approx(2.0 / 3.0));
  CHECK(m.f1(0) == Approx(2.0 / 3.0));
  CHECK(m.macro_f1() == Approx((2.0 / 3.0 + 0.5 + 0.8) / 3.0));
  confusion_matrix last2{3, 2};
  for (auto [y, p] : pairs)
    last2.update(y, p);
  CHECK(last2.count() == 2);
  CHECK(last2.accuracy() == Approx(0.5));
}

SCENARIO("asking a confusion matrix about a class it does not have gives 0 or NaN") {
  confusion_matrix m{3};
  for (auto [y, p] : pairs)
    m.update(y, p);
  for (int k : {-1, 3, 1 << 30}) {
    CHECK(m.at(k, 0) == 0);
    CHECK(m.at(0, k) == 0);
    CHECK(std::isnan(m.precision(k)));
    CHECK(std::isnan(m.recall(k)));
    CHECK(std::isnan(m.f1(k)));
  }
}

SCENARIO("a confusion matrix refuses an impossible number of classes") {
  CHECK(is(confusion_matrix::make(0).error(), errc::invalid_argument));
  CHECK(is(confusion_matrix::make(confusion_matrix::max_classes + 1).error(),
           errc::invalid_argument));
  CHECK(is(confusion_matrix::make(1 << 30).error(), errc::invalid_argument)); // n² overflows int
  auto big = confusion_matrix::make(confusion_matrix::max_classes);
  REQUIRE(big);
  big->update(confusion_matrix::max_classes - 1, confusion_matrix::max_classes - 1);
  CHECK(big->at(confusion_matrix::max_classes - 1, confusion_matrix::max_classes - 1) == 1);
  CHECK(confusion_matrix{0}.n_classes() == 1); // the constructor clamps
}

SCENARIO("a restored confusion matrix continues exactly like the original") {
  confusion_matrix original{4, 50};
  confusion_matrix restored;
  std::mt19937_64 rng(2);
  for (int i = 0; i < 300; ++i) {
    if (i == 120) {
      REQUIRE_FALSE(from_binary(to_binary(original), restored));
      CHECK(restored.n_classes() == 4);
    }
    int y = int(rng() % 4);
    int p = rng() % 3 == 0 ? int(rng() % 5) : y; // 5: sometimes out of range
    original.update(y, p);
    if (i >= 120) {
      restored.update(y, p);
      REQUIRE(restored.count() == original.count());
      REQUIRE(restored.macro_f1() == original.macro_f1());
    }
  }
  CHECK(restored.ignored() == original.ignored());
  for (int y = 0; y < 4; ++y)
    for (int p = 0; p < 4; ++p)
      CHECK(restored.at(y, p) == original.at(y, p));
}
