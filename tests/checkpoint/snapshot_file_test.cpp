#include <eddy/checkpoint/snapshot_file.hpp>

#include <eddy/state/crc32c.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

namespace ck = eddy::checkpoint;

namespace {

ck::snapshot_meta meta_of(std::string op = "counts") {
  return ck::snapshot_meta{12, 3, std::move(op), 1, 4, 32, 64, 128};
}

eddy::instance_state small_state() {
  eddy::instance_state s;
  s.operator_state = "pos=17";
  s.key_groups = {{32, "a"}, {40, std::string("b\0c", 3)}, {63, ""}};
  return s;
}

bool same(const eddy::instance_state& x, const eddy::instance_state& y) {
  return x.operator_state == y.operator_state && x.key_groups == y.key_groups;
}

// Offsets of the version-1 frame fields for an operator name of `n` bytes.
constexpr size_t version_at = 4;
constexpr size_t name_len_at = 20;
size_t payload_len_at(size_t n) {
  return 24 + n + 20;
}

void put_u16(std::string& s, size_t at, uint16_t x) {
  s[at] = static_cast<char>(x & 0xff);
  s[at + 1] = static_cast<char>(x >> 8);
}

void put_u32(std::string& s, size_t at, uint32_t x) {
  for (size_t i = 0; i < 4; ++i)
    s[at + i] = static_cast<char>((x >> (8 * i)) & 0xff);
}

void put_u64(std::string& s, size_t at, uint64_t x) {
  for (size_t i = 0; i < 8; ++i)
    s[at + i] = static_cast<char>((x >> (8 * i)) & 0xff);
}

// Recomputes the trailer CRC, as a writer of deliberately wrong fields would.
void reseal(std::string& s) {
  put_u32(s, s.size() - 4, eddy::state::crc32c(s.data(), s.size() - 4));
}

} // namespace

SCENARIO("a snapshot frame reads back what was written, big payloads included") {
  GIVEN("several key groups, one of them several megabytes") {
    eddy::instance_state s = small_state();
    std::mt19937_64 rng{42};
    std::string big(6 * 1024 * 1024 + 13, '\0');
    for (auto& c : big)
      c = static_cast<char>(rng());
    s.key_groups.emplace_back(50, big);
    s.key_groups.emplace_back(51, std::string(1000, 'x'));
    auto bytes = ck::encode_snapshot(meta_of("window \xc3\xa9t\xc3\xa9"), s);
    CHECK(bytes.compare(0, 4, "EDSN") == 0);
    CHECK(bytes.size() > big.size());
    auto back = ck::decode_snapshot(bytes, "mem");
    REQUIRE(back);
    CHECK(back->first == meta_of("window \xc3\xa9t\xc3\xa9"));
    CHECK(same(back->second, s));
  }
  GIVEN("an empty state") {
    auto bytes = ck::encode_snapshot(meta_of(""), eddy::instance_state{});
    auto back = ck::decode_snapshot(bytes, "mem");
    REQUIRE(back);
    CHECK(back->first.op.empty());
    CHECK(back->second.empty());
  }
}

SCENARIO("the frame is little-endian and laid out as the README says") {
  auto bytes = ck::encode_snapshot(meta_of("ab"), eddy::instance_state{});
  auto u32_at = [&](size_t at) {
    uint32_t x = 0;
    for (size_t i = 0; i < 4; ++i)
      x |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
    return x;
  };
  CHECK(bytes[4] == 1); // version
  CHECK(bytes[5] == 0);
  CHECK(bytes[8] == 12); // checkpoint id
  CHECK(u32_at(16) == 3u);
  CHECK(u32_at(20) == 2u);
  CHECK(bytes.compare(24, 2, "ab") == 0);
  CHECK(u32_at(26) == 1u);   // instance
  CHECK(u32_at(30) == 4u);   // parallelism
  CHECK(u32_at(34) == 32u);  // kg first
  CHECK(u32_at(38) == 64u);  // kg end
  CHECK(u32_at(42) == 128u); // key groups
  CHECK(u32_at(46) == bytes.size() - 46 - 8 - 4);
  CHECK(u32_at(bytes.size() - 4) == eddy::state::crc32c(bytes.data(), bytes.size() - 4));
}

SCENARIO("every single-byte change of a snapshot frame is detected") {
  auto bytes = ck::encode_snapshot(meta_of(), small_state());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit : {0, 7}) {
      auto damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      auto back = ck::decode_snapshot(damaged, "f.snap");
      INFO("byte " << i << " bit " << bit);
      REQUIRE_FALSE(back);
      CHECK(ck::is(back.error(), ck::errc::corrupt_snapshot));
      CHECK(eddy::describe(back.error()).find("f.snap") != std::string::npos);
    }
  }
}

SCENARIO("a snapshot frame truncated at any length is detected") {
  auto bytes = ck::encode_snapshot(meta_of(), small_state());
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("length " << n);
    auto back = ck::decode_snapshot(std::string_view{bytes}.substr(0, n), "f.snap");
    REQUIRE_FALSE(back);
    CHECK(ck::is(back.error(), ck::errc::corrupt_snapshot));
  }
  auto longer = bytes + "x";
  CHECK_FALSE(ck::decode_snapshot(longer, "f.snap"));
}

SCENARIO("a snapshot of a newer format version is refused with a sentence") {
  auto bytes = ck::encode_snapshot(meta_of("x"), small_state());
  put_u16(bytes, version_at, 7);
  reseal(bytes);
  auto back = ck::decode_snapshot(bytes, "/chk/chk-0000000012/3-x-1.snap");
  REQUIRE_FALSE(back);
  CHECK(ck::is(back.error(), ck::errc::unsupported_version));
  CHECK_THAT(eddy::describe(back.error()),
             Catch::StartsWith("snapshot of operator 'x' instance 1 in "
                               "/chk/chk-0000000012/3-x-1.snap has format version 7; this eddy "
                               "reads up to 1: "));
  WHEN("the version field is damaged instead, the CRC says so") {
    auto damaged = ck::encode_snapshot(meta_of("x"), small_state());
    put_u16(damaged, version_at, 7);
    auto err = ck::decode_snapshot(damaged, "f.snap");
    REQUIRE_FALSE(err);
    CHECK(ck::is(err.error(), ck::errc::corrupt_snapshot));
    CHECK(eddy::describe(err.error()).find("CRC-32C") != std::string::npos);
  }
}

SCENARIO("damaged length fields never cause a huge allocation or a read out of bounds") {
  // Each case keeps the CRC valid, so the length checks themselves must catch it (ASan would
  // report an allocation of exabytes or a read past the buffer).
  auto bytes = ck::encode_snapshot(meta_of("op"), small_state());
  const size_t payload_at = payload_len_at(2) + 8;
  GIVEN("a name length beyond the frame") {
    for (uint32_t len : {3u, 1000u, 0x7fffffffu, 0xffffffffu}) {
      auto d = bytes;
      put_u32(d, name_len_at, len);
      reseal(d);
      auto back = ck::decode_snapshot(d, "f.snap");
      REQUIRE_FALSE(back);
      CHECK(ck::is(back.error(), ck::errc::corrupt_snapshot));
    }
  }
  GIVEN("every other name length up to past the end, the CRC resealed") {
    for (uint32_t len = 0; len < bytes.size() + 8; ++len) {
      if (len == 2)
        continue;
      auto d = bytes;
      put_u32(d, name_len_at, len);
      reseal(d);
      INFO("name length " << len);
      CHECK_FALSE(ck::decode_snapshot(d, "f.snap"));
    }
  }
  GIVEN("a payload length beyond the frame") {
    for (uint64_t len : {uint64_t{1} << 40, ~uint64_t{0}, uint64_t{0}}) {
      auto d = bytes;
      put_u64(d, payload_len_at(2), len);
      reseal(d);
      auto back = ck::decode_snapshot(d, "f.snap");
      REQUIRE_FALSE(back);
      CHECK(ck::is(back.error(), ck::errc::corrupt_snapshot));
    }
  }
  GIVEN("lengths inside the archive beyond the archive") {
    // The archive: operator-state length u64 at 0, then "pos=17", then the key-group count u64.
    for (size_t at : {size_t{0}, size_t{14}, size_t{14 + 8 + 4}}) {
      for (uint64_t len : {uint64_t{1} << 62, uint64_t{1} << 33, uint64_t{100000}}) {
        auto d = bytes;
        put_u64(d, payload_at + at, len);
        reseal(d);
        auto back = ck::decode_snapshot(d, "f.snap");
        INFO("archive offset " << at << " length " << len);
        REQUIRE_FALSE(back);
        CHECK(ck::is(back.error(), ck::errc::corrupt_snapshot));
        CHECK(eddy::describe(back.error()).find("archive") != std::string::npos);
      }
    }
  }
  GIVEN("a header that contradicts itself") {
    auto d = bytes;
    put_u32(d, 24 + 2, 9); // instance 9 of 4
    reseal(d);
    auto back = ck::decode_snapshot(d, "f.snap");
    REQUIRE_FALSE(back);
    CHECK(eddy::describe(back.error()).find("contradicts") != std::string::npos);
  }
}

SCENARIO("checkpoint errors render with their category") {
  auto err = ck::make_error(ck::errc::io_failure, "disk full");
  CHECK(eddy::describe(err) == "disk full");
  CHECK(ck::is(err, ck::errc::io_failure));
  CHECK_FALSE(ck::is(err, ck::errc::not_found));
  CHECK(ck::render(err.code(), err.category(), err.context()) ==
        "eddy_chkpt: io_failure (disk full)");
}
