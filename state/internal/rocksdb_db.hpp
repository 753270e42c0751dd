// rocksdb_db: the RocksDB instance behind one keyed_state_store, as bytes in and bytes out. The
// only place that includes RocksDB's headers is rocksdb_db.cpp, so users of eddy/state never
// need them.
//
// One database per store, in a fresh subfolder of backend_config::rocksdb_directory that is
// removed with the store; one column family per state. The write-ahead log is off: durability is
// the checkpoints' job, as in Flink. Memory is capped by one strict LRU block cache (data, index
// and filter blocks; partitioned index and filters, top level pinned) to which a
// WriteBufferManager charges every memtable, stalling writes when they pass half of it.
//
// TTL: expired entries are dropped by a compaction filter (as in Flink's RocksDB backend), which
// reads the store time from clock(); compact() runs it over a whole state on demand.
//
// Errors on the hot path (a failed write, a read the strict cache refused) do not throw: the
// first one is kept and returned by failure(), and the store reports it.
#pragma once

#include <eddy/state/backend_config.hpp>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace eddy::state::internal {

/// A RocksDB database with one column family per state.
class rocksdb_db {
public:
  /// What a point lookup found.
  enum class lookup : uint8_t { found, missing, failed };

  /// An iterator over one column family, between optional bounds.
  class cursor {
  public:
    struct impl;
    explicit cursor(std::unique_ptr<impl> x);
    ~cursor();
    cursor(const cursor&) = delete;
    cursor& operator=(const cursor&) = delete;

    /// Moves to the first key at or after `key`.
    void seek(std::string_view key);
    /// Moves to the first key (at or after the lower bound).
    void seek_to_first();
    /// True while the cursor is on a key (before the upper bound).
    [[nodiscard]] bool valid() const;
    /// Moves to the next key.
    void next();
    /// The current key.
    [[nodiscard]] std::string_view key() const;
    /// The current value.
    [[nodiscard]] std::string_view value() const;
    /// The iteration's error, if one happened.
    [[nodiscard]] caf::error status() const;

  private:
    std::unique_ptr<impl> impl_;
  };

  /// A set of writes applied at once.
  class write_batch {
  public:
    struct impl;
    write_batch();
    ~write_batch();
    write_batch(const write_batch&) = delete;
    write_batch& operator=(const write_batch&) = delete;
    /// Adds a put of `value` at `key` in column family `cf`.
    void put(uint32_t cf, std::string_view key, std::string_view value);
    /// Adds a deletion of every key in [begin, end) of column family `cf`.
    void erase_range(uint32_t cf, std::string_view begin, std::string_view end);
    /// The RocksDB batch.
    [[nodiscard]] impl& get() noexcept { return *impl_; }

  private:
    std::unique_ptr<impl> impl_;
  };

  // -- constructors -----------------------------------------------------------------------------

  /// Opens a fresh database in a new subfolder of `cfg.rocksdb_directory` (created if missing).
  [[nodiscard]] static caf::expected<std::unique_ptr<rocksdb_db>> open(const backend_config& cfg);

  /// Closes the database and removes its folder.
  ~rocksdb_db();

  rocksdb_db(const rocksdb_db&) = delete;
  rocksdb_db& operator=(const rocksdb_db&) = delete;

  // -- column families --------------------------------------------------------------------------

  /// Sizes the payload of one list record after its timestamp: the bytes codec<V> takes at
  /// `data` (of `size` available), or SIZE_MAX when they do not decode.
  using record_sizer = size_t (*)(const char* data, size_t size);

  /// How a column family's values look, for its TTL compaction filter.
  struct column_options {
    /// Lists: values are appended by merge and are sequences of [ts][payload] records.
    bool append = false;
    /// Entries expire `ttl_ms` after their timestamp; 0: no TTL, no filter.
    int64_t ttl_ms = 0;
    /// The payload sizer of list records (lists with a TTL only).
    record_sizer sizer = nullptr;
  };

  /// Creates the column family of a state.
  [[nodiscard]] caf::expected<uint32_t> add_column(const std::string& name, column_options opts);

  // -- point access (hot path) ------------------------------------------------------------------

  /// Reads the value at `key` into `value`.
  lookup get(uint32_t cf, std::string_view key, std::string& value);

  /// Writes `value` at `key`.
  void put(uint32_t cf, std::string_view key, std::string_view value);

  /// Appends `value` to the value at `key` (column families made with `append`).
  void merge(uint32_t cf, std::string_view key, std::string_view value);

  /// Deletes `key`.
  void erase(uint32_t cf, std::string_view key);

  // -- ranges -----------------------------------------------------------------------------------

  /// A cursor over [lower, upper) of column family `cf`; empty bounds are open. `fill_cache`
  /// false keeps scans (snapshots, sweeps) from evicting the hot blocks.
  [[nodiscard]] std::unique_ptr<cursor> open_cursor(uint32_t cf, std::string lower,
                                                    std::string upper, bool fill_cache = false);

  /// Applies `batch`.
  void write(write_batch& batch);

  /// Flushes and compacts column family `cf` to the bottom, so that its TTL filter sees every
  /// entry; returns how many entries (list elements) the filter removed.
  uint64_t compact(uint32_t cf);

  // -- clock ------------------------------------------------------------------------------------

  /// Sets the store time the TTL filters compare with (read from background threads).
  void set_clock(int64_t now_ms) noexcept { clock_.store(now_ms, std::memory_order_relaxed); }

  // -- properties -------------------------------------------------------------------------------

  /// RocksDB's estimate of the number of keys in column family `cf`.
  [[nodiscard]] uint64_t approximate_entries(uint32_t cf) const;

  /// Native memory in use.
  [[nodiscard]] native_memory memory() const;

  /// The database's folder.
  [[nodiscard]] const std::string& path() const noexcept;

  /// The first error of a point access or batch, or none.
  [[nodiscard]] const caf::error& failure() const noexcept;

private:
  struct impl;
  explicit rocksdb_db(std::unique_ptr<impl> x);
  /// The store time (declared before impl_, which the filters that read it belong to).
  std::atomic<int64_t> clock_{0};
  std::unique_ptr<impl> impl_;
};

} // namespace eddy::state::internal
