// backend_config: where a keyed_state_store keeps its state, and how much native memory RocksDB
// may use.
//
//   eddy::state::backend_config cfg;                                  // in memory (the default)
//   auto big = eddy::state::backend_config{}.with_rocksdb("/var/tmp/eddy")
//                  .with_block_cache_bytes(256 << 20);                 // RocksDB, 256 MiB cache
//   if (auto err = big.validate()) std::cerr << eddy::describe(err);   // how to fix it
//
// RocksDB's native memory is capped, not left to its defaults: data, index and filter blocks
// live in one LRU block cache of `block_cache_bytes` with a strict capacity limit, and the
// memtables (write buffers) of all states are charged to that same cache through a
// WriteBufferManager that flushes them once they hold half of it.
#pragma once

#include <eddy/state/errc.hpp>

#include <cstdint>
#include <string>

namespace eddy::state {

/// Where keyed state lives.
enum class backend_kind : uint8_t {
  /// Typed objects in hash tables, one per key group and state: fastest, bounded by the heap.
  memory,
  /// RocksDB on local disk: state larger than memory, with capped native memory.
  rocksdb,
};

/// Human-readable name of a backend kind.
[[nodiscard]] inline const char* to_string(backend_kind x) noexcept {
  return x == backend_kind::memory ? "memory" : "rocksdb";
}

/// Native memory a RocksDB store uses, as RocksDB reports it (all 0 in memory).
struct native_memory {
  /// Bytes held by the block cache: blocks, pinned blocks and the memtables' reservations.
  uint64_t block_cache = 0;
  /// Bytes of the block cache pinned (in use, or pinned index and filter partitions).
  uint64_t block_cache_pinned = 0;
  /// Bytes of all memtables (charged to the block cache).
  uint64_t memtables = 0;
  /// Bytes of table readers kept outside the cache.
  uint64_t table_readers = 0;
};

/// Configuration of a state backend.
struct backend_config {
  /// The backend. Default: backend_kind::memory.
  backend_kind kind = backend_kind::memory;
  /// Folder under which each RocksDB store creates (and on destruction removes) its own
  /// subfolder. Default: empty; required for backend_kind::rocksdb.
  std::string rocksdb_directory;
  /// Capacity of the LRU block cache that holds data, index and filter blocks and is charged for
  /// the memtables. Strict: RocksDB's native memory stays near this figure. Default: 64 MiB.
  uint64_t block_cache_bytes = uint64_t{64} << 20;
  /// Size of one memtable (write buffer) of one state. Default: 16 MiB.
  uint64_t write_buffer_bytes = uint64_t{16} << 20;
  /// Memtables per state before writes wait for a flush. Default: 2.
  uint32_t write_buffer_count = 2;
  /// RocksDB background threads for flushes and compactions. Default: 2.
  uint32_t background_threads = 2;

  /// Returns a copy that keeps state in RocksDB under `directory`.
  [[nodiscard]] backend_config with_rocksdb(std::string directory) const {
    auto x = *this;
    x.kind = backend_kind::rocksdb;
    x.rocksdb_directory = std::move(directory);
    return x;
  }

  /// Returns a copy with a block cache of `bytes`.
  [[nodiscard]] backend_config with_block_cache_bytes(uint64_t bytes) const {
    auto x = *this;
    x.block_cache_bytes = bytes;
    return x;
  }

  /// Returns a copy with `count` memtables of `bytes` each per state.
  [[nodiscard]] backend_config with_write_buffers(uint64_t bytes, uint32_t count) const {
    auto x = *this;
    x.write_buffer_bytes = bytes;
    x.write_buffer_count = count;
    return x;
  }

  /// Checks the fields that can be checked without touching the disk; the directory itself is
  /// checked when a store opens it.
  [[nodiscard]] caf::error validate() const {
    if (kind != backend_kind::rocksdb)
      return {};
    if (rocksdb_directory.empty())
      return make_error(errc::invalid_config,
                        "backend_config: the RocksDB backend needs a directory; set "
                        "rocksdb_directory (e.g. with_rocksdb(\"/var/tmp/eddy\")) or use "
                        "backend_kind::memory");
    if (block_cache_bytes < (uint64_t{1} << 20))
      return make_error(errc::invalid_config,
                        "backend_config: block_cache_bytes is " +
                            std::to_string(block_cache_bytes) +
                            "; RocksDB needs at least 1 MiB (1048576), the default is 64 MiB");
    if (write_buffer_bytes < (uint64_t{64} << 10) || write_buffer_count == 0)
      return make_error(errc::invalid_config,
                        "backend_config: write buffers of " + std::to_string(write_buffer_bytes) +
                            " bytes x " + std::to_string(write_buffer_count) +
                            "; set write_buffer_bytes >= 64 KiB and write_buffer_count >= 1 "
                            "(defaults: 16 MiB x 2)");
    if (background_threads == 0)
      return make_error(errc::invalid_config,
                        "backend_config: background_threads is 0; RocksDB needs at least one "
                        "thread to flush memtables (default: 2)");
    return {};
  }
};

} // namespace eddy::state
