// CRC-32C (Castagnoli) at memory speed: the SSE4.2 `crc32` instruction when the CPU has it
// (checked once at run time, so the library needs no -msse4.2), a table otherwise. It checks
// key-group bytes here, and snapshot frames in the checkpoint code, which can be gigabytes.
//
//   uint32_t crc = eddy::state::crc32c("123456789", 9);        // 0xE3069283
//   crc = eddy::state::crc32c_extend(crc, more, n);             // continue over more bytes
#pragma once

#include <cstddef>
#include <cstdint>

namespace eddy::state {

/// Extends the finished checksum `crc` of some bytes over `size` more bytes at `data`.
[[nodiscard]] uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size) noexcept;

/// Returns the CRC-32C of `size` bytes at `data`.
[[nodiscard]] inline uint32_t crc32c(const void* data, size_t size) noexcept {
  return crc32c_extend(0, data, size);
}

/// The table-driven CRC-32C, always available (what crc32c_extend falls back to).
[[nodiscard]] uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t size) noexcept;

/// True when crc32c_extend uses the CPU's crc32 instruction.
[[nodiscard]] bool crc32c_is_hardware() noexcept;

} // namespace eddy::state
