#include <eddy/state/crc32c.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace st = eddy::state;

SCENARIO("CRC-32C gives the standard check value") {
  CHECK(st::crc32c("123456789", 9) == 0xE3069283u);
  CHECK(st::crc32c_extend_portable(0, "123456789", 9) == 0xE3069283u);
  CHECK(st::crc32c("", 0) == 0u);
}

SCENARIO("the hardware and table CRC-32C agree on every length and alignment") {
  std::printf("crc32c: %s\n", st::crc32c_is_hardware() ? "SSE4.2 instruction" : "table");
  std::mt19937_64 rng{7};
  std::vector<char> data(4096);
  for (auto& c : data)
    c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t n : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4000}) {
      INFO("offset " << offset << " length " << n);
      CHECK(st::crc32c(data.data() + offset, n) ==
            st::crc32c_extend_portable(0, data.data() + offset, n));
    }
  }
  auto whole = st::crc32c(data.data(), data.size());
  auto parts = st::crc32c_extend(st::crc32c(data.data(), 1000), data.data() + 1000, 3096);
  CHECK(whole == parts);
}
