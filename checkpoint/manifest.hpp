// manifest: what makes a checkpoint complete. `storage::complete` writes one per checkpoint, as
// `<dir>/chk-<id>/_manifest`, once every task's snapshot file is durable: the checkpoint's id,
// when it completed, whether it is a savepoint, every task with the size of its file (or that
// it had finished and wrote none), and every exactly-once sink whose committer kept state. A small
// frame with the same CRC discipline as snapshot files; checkpoint/README.md has the layout.
//
//   namespace ck = eddy::checkpoint;
//   ck::manifest m{12, now_ms, false, {}, {}};
//   m.tasks.push_back(ck::task_entry{3, "counts", 1, 4, false, *bytes_written});
//   auto bytes = ck::encode_manifest(m);
//   auto back = ck::decode_manifest(bytes, "chk-0000000012/_manifest");   // verified
#pragma once

#include <eddy/actors/snapshot.hpp>
#include <eddy/checkpoint/errc.hpp>

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eddy::checkpoint {

/// The first four bytes of a manifest.
inline constexpr char manifest_magic[4] = {'E', 'D', 'M', 'F'};

/// The manifest format version this build writes, and the newest it reads.
/// (Version 2 added the sink committers' states; version 1 manifests are read as having none.)
inline constexpr uint16_t manifest_format_version = 2;

/// The name of a completed checkpoint's manifest inside its directory.
inline constexpr const char* manifest_file_name = "_manifest";

/// One task of a completed checkpoint, as its manifest lists it.
struct task_entry {
  /// The operator's index in the job graph.
  uint32_t op_index = 0;
  /// The operator's name (the snapshot file's name is built from it).
  std::string op;
  /// The instance's index, below `parallelism`.
  uint32_t instance = 0;
  /// The operator's parallelism at the checkpoint.
  uint32_t parallelism = 1;
  /// True when the task had finished before the checkpoint: it wrote no snapshot file.
  bool finished = false;
  /// The size of the task's snapshot file, as `write_snapshot` returned it; `load` checks it
  /// (0: not checked).
  uint64_t bytes = 0;

  /// Fields equal one by one.
  friend bool operator==(const task_entry& x, const task_entry& y) {
    return x.op_index == y.op_index && x.op == y.op && x.instance == y.instance &&
           x.parallelism == y.parallelism && x.finished == y.finished && x.bytes == y.bytes;
  }
};

/// An exactly-once sink whose committer kept state in a checkpoint (what it had not committed
/// when the checkpoint completed), in the file `storage::sink_file_of` names.
struct sink_entry {
  /// The sink's index in the job graph.
  uint32_t op_index = 0;
  /// The sink's name (the file's name is built from it).
  std::string op;
  /// The size of the file, as `write_sink_state` returned it.
  uint64_t bytes = 0;

  /// Fields equal one by one.
  friend bool operator==(const sink_entry& x, const sink_entry& y) {
    return x.op_index == y.op_index && x.op == y.op && x.bytes == y.bytes;
  }
};

/// What a completed checkpoint holds: its `_manifest`.
struct manifest {
  /// The checkpoint's id (from 1).
  checkpoint_id id = 0;
  /// When the checkpoint completed, in milliseconds since the Unix epoch.
  int64_t created_ms = 0;
  /// True for a savepoint: pruning never removes it.
  bool savepoint = false;
  /// Every task of the job at the checkpoint.
  std::vector<task_entry> tasks;
  /// Every sink committer's state file (none: no exactly-once sink had anything uncommitted).
  std::vector<sink_entry> sinks;

  /// Fields equal one by one.
  friend bool operator==(const manifest& x, const manifest& y) {
    return x.id == y.id && x.created_ms == y.created_ms && x.savepoint == y.savepoint &&
           x.tasks == y.tasks && x.sinks == y.sinks;
  }
};

/// Frames a manifest into the bytes of a `_manifest` file (layout in checkpoint/README.md).
[[nodiscard]] std::string encode_manifest(const manifest& m);

/// Verifies the bytes of a `_manifest` file (magic, lengths, CRC-32C, version) and returns the
/// manifest; `what` names the file in messages. Never throws.
[[nodiscard]] caf::expected<manifest> decode_manifest(std::string_view bytes,
                                                      const std::string& what);

} // namespace eddy::checkpoint
