// Little-endian integers into and out of the byte frames of snapshot files and manifests, with
// every read checked against the bytes that remain. Shared by snapshot_file.cpp and
// manifest.cpp; not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace eddy::checkpoint::internal {

/// Appends unsigned or signed integers little-endian, and raw bytes, to a string.
class frame_writer {
public:
  explicit frame_writer(std::string& out) noexcept
      : out_(out) {}

  /// Appends `x` in little-endian byte order.
  template <class T>
  void put(T x) {
    static_assert(std::is_integral_v<T>, "frame_writer::put: integers only");
    using U = std::make_unsigned_t<T>;
    auto u = static_cast<U>(x);
    char b[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i)
      b[i] = static_cast<char>(static_cast<uint8_t>(u >> (8 * i)));
    out_.append(b, sizeof(T));
  }

  /// Appends `n` raw bytes.
  void put_bytes(const void* data, size_t n) { out_.append(static_cast<const char*>(data), n); }

  /// Overwrites the 8 bytes at `at` with `x` (a length known only after its payload).
  void patch_u64(size_t at, uint64_t x) noexcept {
    for (size_t i = 0; i < 8; ++i)
      out_[at + i] = static_cast<char>(static_cast<uint8_t>(x >> (8 * i)));
  }

  /// The bytes written so far.
  [[nodiscard]] size_t size() const noexcept { return out_.size(); }

private:
  /// The destination.
  std::string& out_;
};

/// Reads little-endian integers and byte runs from a view, never past its end.
class frame_reader {
public:
  explicit frame_reader(std::string_view in) noexcept
      : in_(in) {}

  /// Reads an integer into `x`; false (and `x` untouched) when fewer bytes remain.
  template <class T>
  [[nodiscard]] bool get(T& x) noexcept {
    static_assert(std::is_integral_v<T>, "frame_reader::get: integers only");
    if (remaining() < sizeof(T))
      return false;
    using U = std::make_unsigned_t<T>;
    U u = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      u |= static_cast<U>(static_cast<U>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i));
    pos_ += sizeof(T);
    x = static_cast<T>(u);
    return true;
  }

  /// Reads `n` bytes as a view into the input; false when fewer remain.
  [[nodiscard]] bool get_bytes(uint64_t n, std::string_view& out) noexcept {
    if (n > remaining())
      return false;
    out = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

  /// The bytes not read yet.
  [[nodiscard]] size_t remaining() const noexcept { return in_.size() - pos_; }

  /// The read position from the start of the input.
  [[nodiscard]] size_t position() const noexcept { return pos_; }

private:
  /// The input.
  std::string_view in_;
  /// The read position.
  size_t pos_ = 0;
};

/// Reads the little-endian u32 at the end of `bytes` (the trailer CRC); `bytes` has 4 at least.
[[nodiscard]] inline uint32_t trailer_u32(std::string_view bytes) noexcept {
  uint32_t x = 0;
  for (size_t i = 0; i < 4; ++i)
    x |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[bytes.size() - 4 + i])) << (8 * i);
  return x;
}

/// `x` as "0x" and eight hex digits (CRCs and flags in messages).
[[nodiscard]] inline std::string hex32(uint32_t x) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", x);
  return buf;
}

} // namespace eddy::checkpoint::internal
