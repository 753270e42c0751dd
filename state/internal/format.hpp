// The canonical key-group format: one key group of every state of a store, as bytes, the same for
// both backends (memory -> bytes -> RocksDB and back). state/README.md describes it field by
// field. All integers little-endian.
//
//   header    magic "EKGS" | version u16 (1) | flags u16 (0) | key group u32 | sections u32
//   section   name length u32 | name | kind u8 | type fingerprint u64 | entries u64 |
//             payload length u64 | payload (entries, by kind)
//   trailer   CRC-32C u32 of every byte before it
#pragma once

#include <eddy/state/codec.hpp>
#include <eddy/state/crc32c.hpp>
#include <eddy/state/errc.hpp>
#include <eddy/state/internal/state_table.hpp>

#include <caf/expected.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace eddy::state::internal {

/// The first four bytes of key-group bytes.
inline constexpr char key_group_magic[4] = {'E', 'K', 'G', 'S'};

/// The format version this build writes and reads.
inline constexpr uint16_t key_group_format_version = 1;

/// Bytes of the header.
inline constexpr size_t key_group_header_size = 16;

/// One state's entries inside key-group bytes.
struct section {
  /// The state's name.
  std::string name;
  /// The state's kind.
  state_kind kind;
  /// Hash of the kind and type names.
  uint64_t fingerprint;
  /// The number of entries.
  uint64_t count;
  /// The entries' bytes (a view into the key-group bytes, or `owned`).
  std::string_view payload;
  /// The payload's bytes, for sections kept until their state is declared.
  std::vector<char> owned;
};

/// A reader over the bytes of `s`.
[[nodiscard]] inline byte_reader byte_view(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

/// A copy of `s` that owns its payload (kept until the state is declared).
[[nodiscard]] inline section owned_copy(const section& s) {
  section c;
  c.name = s.name;
  c.kind = s.kind;
  c.fingerprint = s.fingerprint;
  c.count = s.count;
  c.owned.assign(s.payload.begin(), s.payload.end());
  c.payload = std::string_view{c.owned.data(), c.owned.size()};
  return c;
}

/// FNV-1a 64 of the kind and the type names: what a state's bytes were written with.
template <class... Ts>
[[nodiscard]] uint64_t fingerprint_of(state_kind kind) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto add = [&](std::string_view s) {
    for (unsigned char c : s)
      h = (h ^ c) * 0x100000001b3ULL;
    h = (h ^ '|') * 0x100000001b3ULL;
  };
  add(to_string(kind));
  (add(typeid(Ts).name()), ...);
  return h;
}

/// Writes key-group bytes section by section.
class key_group_writer {
public:
  /// Starts the bytes of key group `kg` in `buf` (cleared).
  key_group_writer(std::vector<char>& buf, uint32_t kg)
      : buf_(buf)
      , out_(buf) {
    buf_.clear();
    out_.write(key_group_magic, 4);
    out_.write_raw(key_group_format_version);
    out_.write_raw(uint16_t{0});
    out_.write_raw(kg);
    out_.write_raw(uint32_t{0});
  }

  /// Starts a section; write its entries to the returned writer, then call end_section.
  byte_writer& begin_section(const std::string& name, state_kind kind, uint64_t fingerprint) {
    start_ = buf_.size();
    out_.write_raw(static_cast<uint32_t>(name.size()));
    out_.write(name.data(), name.size());
    out_.write_raw(static_cast<uint8_t>(kind));
    out_.write_raw(fingerprint);
    count_at_ = buf_.size();
    out_.write_raw(uint64_t{0});
    out_.write_raw(uint64_t{0});
    payload_at_ = buf_.size();
    return out_;
  }

  /// Ends a section of `count` entries (a section without entries is left out).
  void end_section(uint64_t count) {
    if (count == 0) {
      buf_.resize(start_);
      return;
    }
    uint64_t len = buf_.size() - payload_at_;
    std::memcpy(buf_.data() + count_at_, &count, 8);
    std::memcpy(buf_.data() + count_at_ + 8, &len, 8);
    ++sections_;
  }

  /// Copies a section read earlier (a state not declared yet).
  void copy_section(const section& s) {
    auto& out = begin_section(s.name, s.kind, s.fingerprint);
    out.write(s.payload.data(), s.payload.size());
    end_section(s.count);
  }

  /// Drops a section begun but not ended (its state failed to write).
  void abort_section() { buf_.resize(start_); }

  /// Writes the section count and the CRC-32C.
  void finish() {
    std::memcpy(buf_.data() + 12, &sections_, 4);
    auto crc = crc32c(buf_.data(), buf_.size());
    out_.write_raw(crc);
  }

private:
  std::vector<char>& buf_;
  byte_writer out_;
  size_t start_ = 0;
  size_t count_at_ = 0;
  size_t payload_at_ = 0;
  uint32_t sections_ = 0;
};

/// Verifies key-group bytes of key group `kg` and splits them into sections (views into `data`).
[[nodiscard]] inline caf::expected<std::vector<section>> parse_key_group(const char* data,
                                                                         size_t size, uint32_t kg) {
  auto corrupt = [&](const std::string& what) {
    return make_error(errc::corrupt_key_group,
                      "read_key_group(" + std::to_string(kg) + "): " + what +
                          "; the bytes were damaged or are not eddy key-group bytes");
  };
  if (size < key_group_header_size + 4)
    return corrupt("only " + std::to_string(size) + " bytes, shorter than a header");
  if (std::memcmp(data, key_group_magic, 4) != 0)
    return corrupt("no EKGS magic");
  uint32_t crc = 0;
  std::memcpy(&crc, data + size - 4, 4);
  if (crc32c(data, size - 4) != crc)
    return corrupt("CRC-32C mismatch (truncated or altered)");
  byte_reader in{data + 4, size - 8};
  uint16_t version = 0;
  uint16_t flags = 0;
  uint32_t stored_kg = 0;
  uint32_t count = 0;
  if (!in.read_raw(version) || !in.read_raw(flags) || !in.read_raw(stored_kg) ||
      !in.read_raw(count))
    return corrupt("short header");
  if (flags != 0)
    return corrupt("unknown flags " + std::to_string(flags));
  if (version != key_group_format_version)
    return make_error(errc::corrupt_key_group,
                      "read_key_group: format version " + std::to_string(version) +
                          ", this build reads version " + std::to_string(key_group_format_version) +
                          "; restore with a newer build");
  if (stored_kg != kg)
    return make_error(errc::invalid_argument, "read_key_group(" + std::to_string(kg) +
                                                  "): the bytes hold key group " +
                                                  std::to_string(stored_kg));
  std::vector<section> out;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t name_len = 0;
    if (!in.read_raw(name_len) || name_len > in.remaining())
      return corrupt("section " + std::to_string(i) + " has a bad name length");
    section s;
    s.name.assign(in.position(), name_len);
    (void)in.skip(name_len);
    uint8_t kind = 0;
    uint64_t len = 0;
    if (!in.read_raw(kind) || !in.read_raw(s.fingerprint) || !in.read_raw(s.count) ||
        !in.read_raw(len) || len > in.remaining())
      return corrupt("section '" + s.name + "' is cut short");
    if (kind < 1 || kind > 5)
      return corrupt("section '" + s.name + "' has unknown kind " + std::to_string(kind));
    s.kind = static_cast<state_kind>(kind);
    s.payload = std::string_view{in.position(), static_cast<size_t>(len)};
    (void)in.skip(len);
    for (const auto& other : out)
      if (other.name == s.name)
        return corrupt("state '" + s.name + "' appears twice");
    out.push_back(std::move(s));
  }
  if (!in.at_end())
    return corrupt(std::to_string(in.remaining()) + " stray bytes after the last section");
  return out;
}

} // namespace eddy::state::internal
