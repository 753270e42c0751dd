#include <eddy/ml/features/feature_hasher.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <catch2/catch.hpp>

#include <limits>

using namespace eddy::ml;

SCENARIO("the tokenizer splits on anything but letters and digits and lower-cases") {
  CHECK(tokenize("Temperature spike at mote-3!") ==
        std::vector<std::string>{"temperature", "spike", "at", "mote", "3"});
  CHECK(tokenize("  a bb, ccc ", 2) == std::vector<std::string>{"bb", "ccc"});
  CHECK(tokenize("").empty());
}

SCENARIO("hashed features are stable, signed and summed per column") {
  // a stable hash: the same on every platform and run (FNV-1a 64 + murmur3 finalizer). The
  // values are pinned (computed once from the definition, in Python, and recorded here), so a
  // change of the hash, of char signedness or of byte order fails this test; the non-ASCII key
  // catches a platform where char is signed and a byte is not taken as unsigned.
  CHECK(feature_hasher::hash("") == 0xefd01f60ba992926ull);
  CHECK(feature_hasher::hash("mote") == 0x80796d5b0590d48dull);
  CHECK(feature_hasher::hash("temperature") == 0x06c92a2d3a2d33b9ull);
  CHECK(feature_hasher::hash("\xc3\xa9t\xc3\xa9") == 0x4e86b7c4c0feda3bull); // "été" in UTF-8
  CHECK(feature_hasher::hash("mote") != feature_hasher::hash("motf"));
  auto hasher = feature_hasher::make(1 << 10);
  REQUIRE(hasher);
  auto x = hasher->transform("spike spike other");
  REQUIRE(x.size() == 1 << 10);
  auto [column, sign] = hasher->locate("spike");
  CHECK(column == 643); // pinned like the hashes above
  CHECK(sign == -1.0);
  CHECK(x.coeff(column) == 2.0 * sign);
  CHECK(x.nonZeros() == 2);
  auto named = hasher->transform_named({{"temperature", 21.5}, {"zero", 0.0}});
  REQUIRE(named);
  auto [tc, ts] = hasher->locate("temperature");
  CHECK(named->coeff(tc) == ts * 21.5);
  CHECK(named->nonZeros() == 1);
  auto bad = hasher->transform_named({{"t", std::numeric_limits<double>::quiet_NaN()}});
  CHECK(is(bad.error(), errc::bad_input));
}

SCENARIO("without alternate signs every token counts +1, and collisions add up") {
  auto hasher = feature_hasher::make(1, false);
  REQUIRE(hasher);
  auto x = hasher->transform_tokens(std::vector<std::string>{"a", "b", "c"});
  CHECK(x.coeff(0) == 3.0);
  CHECK(is(feature_hasher::make(0).error(), errc::invalid_argument));
  feature_hasher restored;
  REQUIRE_FALSE(from_binary(to_binary(*hasher), restored));
  CHECK(restored.n_features() == 1);
}
