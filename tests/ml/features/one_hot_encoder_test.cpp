#include <eddy/ml/features/one_hot_encoder.hpp>

#include <catch2/catch.hpp>

using namespace eddy::ml;

namespace {

one_hot_encoder make_encoder(std::size_t columns, std::size_t max, unknown_category unknown) {
  one_hot_encoder_config cfg;
  cfg.max_categories = max;
  cfg.unknown = unknown;
  auto enc = one_hot_encoder::make(columns, cfg);
  REQUIRE(enc);
  return std::move(*enc);
}

} // namespace

SCENARIO("categories get slots in the order they first appear") {
  auto enc = make_encoder(2, 3, unknown_category::other);
  CHECK(enc.n_outputs() == 8); // 2 columns x (3 slots + other)
  vector x;
  REQUIRE_FALSE(enc.learn_transform({"indoor", "a"}, x));
  CHECK(x == (vector(8) << 1, 0, 0, 0, 1, 0, 0, 0).finished());
  REQUIRE_FALSE(enc.learn_transform({"outdoor", "b"}, x));
  CHECK(x == (vector(8) << 0, 1, 0, 0, 0, 1, 0, 0).finished());
  CHECK(enc.slot(1, "b") == std::optional<std::size_t>{1});
  CHECK_FALSE(enc.slot(1, "zzz"));
}

SCENARIO("unseen categories go to the other slot, are ignored or refused, never a crash") {
  auto other = make_encoder(1, 2, unknown_category::other);
  auto ignore = make_encoder(1, 2, unknown_category::ignore);
  auto refuse = make_encoder(1, 2, unknown_category::error);
  for (auto* enc : {&other, &ignore, &refuse}) {
    REQUIRE_FALSE(enc->learn({"a"}));
    REQUIRE_FALSE(enc->learn({"b"}));
  }
  CHECK(other.transform({"never"}) == (vector(3) << 0, 0, 1).finished());
  CHECK(ignore.transform({"never"}) == (vector(2) << 0, 0).finished());
  vector x;
  CHECK(is(refuse.transform({"never"}, x), errc::bad_input));
  // beyond the capacity: no slot, same policies
  REQUIRE_FALSE(other.learn({"c"}));
  CHECK(other.transform({"c"}) == (vector(3) << 0, 0, 1).finished());
  CHECK(is(refuse.learn({"c"}), errc::bad_input));
  CHECK(is(other.learn({"a", "b"}), errc::shape_mismatch));
  CHECK(other.transform({"a", "b"}).size() == 0);
  CHECK(is(one_hot_encoder::make(0).error(), errc::invalid_argument));
}

SCENARIO("a restored encoder keeps its slots") {
  auto enc = make_encoder(2, 4, unknown_category::other);
  REQUIRE_FALSE(enc.learn({"x", "1"}));
  REQUIRE_FALSE(enc.learn({"y", "2"}));
  one_hot_encoder restored;
  REQUIRE_FALSE(from_binary(to_binary(enc), restored));
  REQUIRE_FALSE(enc.learn({"z", "3"}));
  REQUIRE_FALSE(restored.learn({"z", "3"}));
  CHECK(restored.transform({"z", "2"}) == enc.transform({"z", "2"}));
  CHECK(restored.n_outputs() == enc.n_outputs());
}
