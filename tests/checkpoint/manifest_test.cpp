#include <eddy/checkpoint/manifest.hpp>

#include <eddy/state/crc32c.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace ck = eddy::checkpoint;

namespace {

/// Writes the CRC-32C of everything before the last four bytes of `bytes` into them.
void seal(std::string& bytes) {
  uint32_t crc = eddy::state::crc32c(bytes.data(), bytes.size() - 4);
  for (size_t i = 0; i < 4; ++i)
    bytes[bytes.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
}

} // namespace

SCENARIO("a manifest reads back, and any damage to it is detected") {
  ck::manifest m{12, 1700000000123, true, {}, {}};
  m.tasks.push_back(ck::task_entry{0, "source", 0, 1, false, 512});
  m.tasks.push_back(ck::task_entry{1, "counts", 1, 2, true, 0});
  m.sinks.push_back(ck::sink_entry{2, "to-kafka", 96});
  auto bytes = ck::encode_manifest(m);
  CHECK(bytes.compare(0, 4, "EDMF") == 0);
  auto back = ck::decode_manifest(bytes, "_manifest");
  REQUIRE(back);
  CHECK(*back == m);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto d = bytes;
    d[i] = static_cast<char>(d[i] ^ 0x01);
    INFO("byte " << i);
    auto err = ck::decode_manifest(d, "_manifest");
    REQUIRE_FALSE(err);
    CHECK(ck::is(err.error(), ck::errc::corrupt_snapshot));
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("length " << n);
    CHECK_FALSE(ck::decode_manifest(std::string_view{bytes}.substr(0, n), "_manifest"));
  }
  auto newer = bytes;
  newer[4] = static_cast<char>(ck::manifest_format_version + 1);
  seal(newer);
  auto refused = ck::decode_manifest(newer, "_manifest");
  REQUIRE_FALSE(refused);
  CHECK(ck::is(refused.error(), ck::errc::unsupported_version));
  CHECK_THAT(eddy::describe(refused.error()),
             Catch::Contains("format version " + std::to_string(ck::manifest_format_version + 1)));
}

SCENARIO("a version 1 manifest, written before sinks kept state, reads as one without sinks") {
  ck::manifest m{3, 1700000000123, false, {}, {}};
  m.tasks.push_back(ck::task_entry{0, "source", 0, 1, false, 512});
  auto bytes = ck::encode_manifest(m);
  // Version 1 ends after its tasks: no sink count.
  auto v1 = bytes.substr(0, bytes.size() - 8) + bytes.substr(bytes.size() - 4);
  v1[4] = 1;
  seal(v1);
  auto back = ck::decode_manifest(v1, "_manifest");
  REQUIRE(back);
  CHECK(*back == m);
  CHECK(back->sinks.empty());
  // The same bytes claiming version 2 lack their sink count.
  v1[4] = 2;
  seal(v1);
  CHECK_FALSE(ck::decode_manifest(v1, "_manifest"));
}
