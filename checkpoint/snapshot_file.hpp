// snapshot_file: the bytes of one operator instance's state at one checkpoint, as a file holds
// them. A Boost.Serialization binary archive of the `instance_state` (the payload) inside eddy's
// own frame, which says whose state it is and ends in a CRC-32C of every byte before it;
// checkpoint/README.md has the layout field by field. `storage` writes and reads these files;
// use these two functions directly to frame state elsewhere (tests, a network transfer).
//
//   namespace ck = eddy::checkpoint;
//   ck::snapshot_meta meta{12, 3, "counts", 1, 4, 32, 64, 128};  // chk 12, op #3 instance 1 of 4
//   std::string bytes = ck::encode_snapshot(meta, state);
//   auto back = ck::decode_snapshot(bytes, "counts-1.snap");  // verifies before it deserializes
//   if (!back) return back.error();          // names the file and what did not verify
//   auto& [meta2, state2] = *back;
//
// Decoding checks the magic, the CRC-32C over the whole frame, the format version and every
// length against the bytes that remain before Boost reads anything; a length inside the archive
// is checked against the archive's remaining bytes before anything is allocated for it.
#pragma once

#include <eddy/actors/snapshot.hpp>
#include <eddy/checkpoint/errc.hpp>

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace eddy::checkpoint {

/// The first four bytes of a snapshot file.
inline constexpr char snapshot_magic[4] = {'E', 'D', 'S', 'N'};

/// The snapshot format version this build writes, and the newest it reads.
inline constexpr uint16_t snapshot_format_version = 1;

/// Whose state a snapshot file holds: the frame's header.
struct snapshot_meta {
  /// The checkpoint the state belongs to (ids count from 1).
  checkpoint_id checkpoint = 0;
  /// The operator's index in the job graph (stable across runs of the same job).
  uint32_t op_index = 0;
  /// The operator's name, for messages and file names.
  std::string op;
  /// The instance's index, below `parallelism`.
  uint32_t instance = 0;
  /// The operator's parallelism when the snapshot was taken.
  uint32_t parallelism = 1;
  /// The first key group the instance owned.
  uint32_t kg_first = 0;
  /// One past the last key group the instance owned (kg_first == kg_end: none, a non-keyed
  /// operator).
  uint32_t kg_end = 0;
  /// The job's number of key groups (its maximum parallelism); 0 for a non-keyed operator.
  uint32_t key_groups = 0;

  /// Fields equal one by one.
  friend bool operator==(const snapshot_meta& x, const snapshot_meta& y) {
    return x.checkpoint == y.checkpoint && x.op_index == y.op_index && x.op == y.op &&
           x.instance == y.instance && x.parallelism == y.parallelism && x.kg_first == y.kg_first &&
           x.kg_end == y.kg_end && x.key_groups == y.key_groups;
  }
};

/// Frames `state` with `meta` into the bytes of a snapshot file. Throws std::length_error for an
/// operator name above 4 GiB, std::bad_alloc when memory runs out.
[[nodiscard]] std::string encode_snapshot(const snapshot_meta& meta, const instance_state& state);

/// Verifies the bytes of a snapshot file and returns what they hold. `what` names the bytes in
/// messages (the file's path). Errors: `corrupt_snapshot` (bad magic, a length beyond the bytes,
/// a CRC-32C mismatch, fields that contradict each other, an archive that does not read back),
/// `unsupported_version` (written by a newer eddy: the sentence names operator, file and version).
/// Never throws; never reads out of bounds.
[[nodiscard]] caf::expected<std::pair<snapshot_meta, instance_state>>
decode_snapshot(std::string_view bytes, const std::string& what);

} // namespace eddy::checkpoint
