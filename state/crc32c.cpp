#include <eddy/state/crc32c.hpp>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace eddy::state {

namespace {

constexpr std::array<uint32_t, 256> make_table() noexcept {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> table = make_table();

uint32_t portable(uint32_t crc, const unsigned char* p, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i)
    crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t hardware(uint32_t crc, const unsigned char* p,
                                                    size_t n) noexcept {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n-- > 0)
    c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

bool detect() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#else
bool detect() noexcept {
  return false;
}
#endif

} // namespace

bool crc32c_is_hardware() noexcept {
  static const bool has = detect();
  return has;
}

uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t size) noexcept {
  return ~portable(~crc, static_cast<const unsigned char*>(data), size);
}

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size) noexcept {
  auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  if (crc32c_is_hardware())
    return ~hardware(~crc, p, size);
#endif
  return ~portable(~crc, p, size);
}

} // namespace eddy::state
