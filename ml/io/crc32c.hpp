// CRC-32C (Castagnoli), computed in software with a 256-entry table: the checksum that model
// files carry over their header and payload (model_file.hpp), public as a small utility for
// anyone who frames their own bytes. Byte at a time, not hardware-accelerated: meant for model
// files, not for hashing data at line rate.
//
//   uint32_t crc = eddy::ml::crc32c("123456789", 9);       // 0xE3069283
//   crc = eddy::ml::crc32c_extend(crc, more, n);            // continue over more bytes
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace eddy::ml {

/// The reflected Castagnoli polynomial 0x1EDC6F41.
inline constexpr uint32_t crc32c_polynomial = 0x82F63B78u;

/// Builds the byte-at-a-time lookup table at compile time.
[[nodiscard]] constexpr std::array<uint32_t, 256> make_crc32c_table() noexcept {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1u) ? (crc >> 1) ^ crc32c_polynomial : crc >> 1;
    table[i] = crc;
  }
  return table;
}

/// The lookup table, one entry per byte value.
inline constexpr std::array<uint32_t, 256> crc32c_table = make_crc32c_table();

/// Extends the finished checksum `crc` of some bytes over `size` more bytes at `data`.
[[nodiscard]] inline uint32_t crc32c_extend(uint32_t crc, const void* data,
                                            std::size_t size) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i)
    crc = crc32c_table[(crc ^ bytes[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

/// Returns the CRC-32C of `size` bytes at `data`.
[[nodiscard]] inline uint32_t crc32c(const void* data, std::size_t size) noexcept {
  return crc32c_extend(0, data, size);
}

} // namespace eddy::ml
