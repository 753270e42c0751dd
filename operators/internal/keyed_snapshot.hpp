// How every keyed operator puts its keyed state into a checkpoint and takes it back: the keyed
// state store and the timers of each key group, together, as one entry of
// `instance_state::key_groups`. A restore after a change of parallelism reads each key group into
// the instance that owns it now, whichever instance wrote it.
//
//   void snapshot(task&, checkpoint_id, instance_state& out) override {
//     snapshot_keyed(store_, &timers_, out);              // every key group holding state
//   }
//   void restore(task& t, checkpoint_id, instance_state&& in) override {
//     restore_keyed(store_, &timers_, in);                // throws, saying which key group
//     arm_processing_wake(t);                             // restored processing-time timers
//   }
//
// The bytes of one key group (all integers little-endian):
//
//   magic "EKGT" | version u16 (1) | key group u32
//   | store length u64 | store bytes (keyed_state_store::write_key_group, its own CRC-32C)
//   | timers length u64 | timer bytes (timer_service::write_key_group; 0 bytes: no timers)
//   | CRC-32C u32 of every byte before it
//
// Every length is checked against what remains before it is used, so damaged bytes are refused
// with an exception, never read past their end.
#pragma once

#include <eddy/actors/error.hpp>
#include <eddy/actors/snapshot.hpp>
#include <eddy/state/crc32c.hpp>
#include <eddy/state/internal/format.hpp>
#include <eddy/state/keyed_state_store.hpp>
#include <eddy/state/timer_service.hpp>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace eddy::internal {

/// The first four bytes of a key group in a checkpoint.
inline constexpr char keyed_snapshot_magic[4] = {'E', 'K', 'G', 'T'};

/// The layout version this build writes and reads.
inline constexpr uint16_t keyed_snapshot_version = 1;

/// True when `bytes` (made by write_key_group) hold at least one state's entries: the section
/// count of their header (state/README.md) is not 0.
[[nodiscard]] inline bool holds_sections(const std::vector<char>& bytes) noexcept {
  constexpr size_t at = state::internal::key_group_header_size - sizeof(uint32_t);
  uint32_t sections = 0;
  if (bytes.size() < at + sizeof(sections))
    return true; // not the usual header: keep it, read_key_group will judge it
  std::memcpy(&sections, bytes.data() + at, sizeof(sections));
  return sections != 0;
}

/// Appends to `out` one entry per key group of `store`'s range that holds state or timers: the
/// store's bytes and the timers' bytes of that key group (`timers` may be null: an operator
/// without timers). Throws std::runtime_error when the backend cannot write a key group.
template <class K>
void snapshot_keyed(const state::keyed_state_store<K>& store, const state::timer_service<K>* timers,
                    instance_state& out) {
  auto range = store.range();
  for (auto kg = range.first; kg < range.end; ++kg) {
    auto kept = store.write_key_group(kg);
    if (!kept)
      throw std::runtime_error("cannot snapshot key group " + std::to_string(kg) + ": " +
                               describe(kept.error()));
    std::vector<char> timer_bytes;
    uint64_t timer_count = 0;
    if (timers != nullptr) {
      timer_bytes = timers->write_key_group(kg);
      std::memcpy(&timer_count, timer_bytes.data(), sizeof(timer_count));
    }
    bool has_state = holds_sections(*kept);
    if (!has_state && timer_count == 0)
      continue;
    if (timer_count == 0)
      timer_bytes.clear();
    std::vector<char> buf;
    buf.reserve(sizeof(keyed_snapshot_magic) + 26 + kept->size() + timer_bytes.size());
    state::byte_writer w{buf};
    w.write(keyed_snapshot_magic, sizeof(keyed_snapshot_magic));
    w.write_raw(keyed_snapshot_version);
    w.write_raw(kg);
    w.write_raw(static_cast<uint64_t>(kept->size()));
    w.write(kept->data(), kept->size());
    w.write_raw(static_cast<uint64_t>(timer_bytes.size()));
    w.write(timer_bytes.data(), timer_bytes.size());
    w.write_raw(state::crc32c(buf.data(), buf.size()));
    out.key_groups.emplace_back(kg, std::string(buf.data(), buf.size()));
  }
}

/// Reads every key group of `in` into `store` and `timers` (null: an operator without timers),
/// replacing what they held of it. Throws std::runtime_error naming the key group when its bytes
/// are damaged, belong to another key group or another layout, hold timers for an operator
/// without, or when the store refuses them (a key group it does not own, a state of other types:
/// the backend's sentence); that key group is then left as it was, the ones before it restored.
template <class K>
void restore_keyed(state::keyed_state_store<K>& store, state::timer_service<K>* timers,
                   const instance_state& in) {
  for (const auto& [kg, bytes] : in.key_groups) {
    auto fail = [kg = kg](const std::string& why) {
      throw std::runtime_error("cannot restore key group " + std::to_string(kg) + ": " + why);
    };
    constexpr size_t trailer = sizeof(uint32_t);
    if (bytes.size() < sizeof(keyed_snapshot_magic) + trailer)
      fail("its bytes are truncated");
    auto body = bytes.size() - trailer;
    uint32_t crc = 0;
    std::memcpy(&crc, bytes.data() + body, sizeof(crc));
    if (crc != state::crc32c(bytes.data(), body))
      fail("the checksum does not match (damaged bytes); restore from another checkpoint");
    state::byte_reader r{bytes.data(), body};
    char magic[sizeof(keyed_snapshot_magic)] = {};
    uint16_t version = 0;
    uint32_t written_kg = 0;
    if (!r.read(magic, sizeof(magic)) ||
        std::memcmp(magic, keyed_snapshot_magic, sizeof(magic)) != 0)
      fail("its bytes are not keyed state (wrong magic)");
    if (!r.read_raw(version) || version != keyed_snapshot_version)
      fail("its layout version " + std::to_string(version) + " is not " +
           std::to_string(keyed_snapshot_version) + ", the one this build reads");
    if (!r.read_raw(written_kg) || written_kg != kg)
      fail("its bytes are those of key group " + std::to_string(written_kg));
    auto part = [&](std::vector<char>& out, const char* what) {
      uint64_t n = 0;
      if (!r.read_raw(n) || n > r.remaining())
        fail(std::string{"the length of its "} + what + " is damaged");
      out.assign(r.position(), r.position() + n);
      (void)r.skip(n);
    };
    std::vector<char> kept;
    std::vector<char> timer_bytes;
    part(kept, "keyed state");
    part(timer_bytes, "timers");
    if (!r.at_end())
      fail("bytes follow its timers");
    if (!timer_bytes.empty() && timers == nullptr)
      fail("it holds timers, but this operator has none: it was written by another operator");
    // The timers are checked on a scratch service first, so that refused bytes change nothing
    // of the key group (the store checks its bytes before it changes anything too).
    if (!timer_bytes.empty())
      if (auto err = state::timer_service<K>{}.read_key_group(kg, timer_bytes))
        fail(describe(err));
    if (auto err = store.read_key_group(kg, kept))
      fail(describe(err));
    if (timers != nullptr && !timer_bytes.empty())
      if (auto err = timers->read_key_group(kg, timer_bytes))
        fail(describe(err));
  }
}

} // namespace eddy::internal
