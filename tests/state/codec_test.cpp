#include <eddy/state/codec.hpp>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace st = eddy::state;

namespace {

struct reading {
  int32_t mote;
  double temperature;
};

struct tagged {
  std::string tag;
  std::vector<int> xs;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& tag& xs;
  }
};

template <class T>
T round_trip(const T& x) {
  auto bytes = st::encode(x);
  T y{};
  REQUIRE(st::decode(bytes, y));
  return y;
}

} // namespace

SCENARIO("the codec writes and reads every kind of supported type") {
  CHECK(round_trip(int64_t{-42}) == -42);
  CHECK(round_trip(3.25) == 3.25);
  CHECK(round_trip(true));
  CHECK(round_trip(std::string{"hello"}) == "hello");
  CHECK(round_trip(std::string{}).empty());
  CHECK(round_trip(std::vector<int64_t>{1, 2, 3}) == std::vector<int64_t>{1, 2, 3});
  CHECK(round_trip(std::vector<std::string>{"a", "", "bc"}) ==
        std::vector<std::string>{"a", "", "bc"});
  CHECK(round_trip(std::vector<bool>{true, false, true}) == std::vector<bool>{true, false, true});
  CHECK(round_trip(std::make_pair(std::string{"k"}, int64_t{7})) ==
        std::make_pair(std::string{"k"}, int64_t{7}));
  CHECK(round_trip(std::make_tuple(1, std::string{"x"}, 2.5)) ==
        std::make_tuple(1, std::string{"x"}, 2.5));
  CHECK(round_trip(std::array<int, 3>{4, 5, 6}) == std::array<int, 3>{4, 5, 6});
  auto r = round_trip(reading{17, 21.5});
  CHECK(r.mote == 17);
  CHECK(r.temperature == 21.5);
  auto t = round_trip(tagged{"boost", {1, 2}});
  CHECK(t.tag == "boost");
  CHECK(t.xs == std::vector<int>{1, 2});
}

SCENARIO("trivially copyable values are their bytes; strings carry a length") {
  CHECK(st::encode(int64_t{1}).size() == 8);
  CHECK(st::encode(reading{1, 2.0}).size() == sizeof(reading));
  CHECK(st::encode(std::string{"abc"}).size() == 4 + 3);
  CHECK(st::encode(std::vector<int32_t>{1, 2}).size() == 4 + 8);
}

SCENARIO("encodings are self-delimiting, so a key followed by a user key decodes") {
  std::vector<char> buf;
  st::byte_writer out{buf};
  st::codec<std::string>::write(out, "ab");
  st::codec<std::string>::write(out, "c");
  st::byte_reader in{buf.data(), buf.size()};
  std::string a;
  std::string b;
  REQUIRE(st::codec<std::string>::read(in, a));
  REQUIRE(st::codec<std::string>::read(in, b));
  CHECK(a == "ab");
  CHECK(b == "c");
  CHECK(in.at_end());
}

SCENARIO("damaged bytes are refused, never read past their end") {
  auto bytes = st::encode(std::vector<std::string>{"alpha", "beta"});
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<char> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<std::string> x;
    INFO("length " << n);
    CHECK_FALSE(st::decode(cut, x));
  }
  GIVEN("an impossible length") {
    auto huge = st::encode(std::string{"x"});
    huge[3] = static_cast<char>(0x7F); // length about 2^31
    std::string s;
    CHECK_FALSE(st::decode(huge, s));
    auto many = st::encode(std::vector<std::string>{"x"});
    many[3] = static_cast<char>(0x7F);
    std::vector<std::string> v;
    CHECK_FALSE(st::decode(many, v));
  }
  GIVEN("a bool that is neither 0 nor 1") {
    std::vector<char> b{2};
    bool x = false;
    CHECK_FALSE(st::decode(b, x));
  }
  GIVEN("a damaged Boost archive") {
    auto bytes = st::encode(tagged{"boost", {1, 2, 3}});
    for (size_t n = 4; n < bytes.size(); ++n) {
      auto cut = bytes;
      cut.resize(n);
      uint32_t len = static_cast<uint32_t>(n - 4);
      std::memcpy(cut.data(), &len, 4); // a consistent frame around a cut archive
      tagged t;
      INFO("archive length " << len);
      CHECK_FALSE(st::decode(cut, t));
    }
  }
  GIVEN("trailing bytes") {
    auto bytes = st::encode(int32_t{5});
    bytes.push_back('x');
    int32_t x = 0;
    CHECK_FALSE(st::decode(bytes, x));
  }
}
