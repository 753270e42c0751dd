#include <eddy/state/internal/rocksdb_db.hpp>

#include <eddy/state/errc.hpp>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <system_error>
#include <vector>

namespace eddy::state::internal {

namespace {

rocksdb::Slice slice(std::string_view x) noexcept {
  return {x.data(), x.size()};
}

/// The list state's merge: values are concatenations of self-delimiting records, so appending is
/// concatenating (all operands at once, not pairwise).
class append_operator final : public rocksdb::MergeOperator {
public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    size_t n = in.existing_value != nullptr ? in.existing_value->size() : 0;
    for (const auto& op : in.operand_list)
      n += op.size();
    out->new_value.clear();
    out->new_value.reserve(n);
    if (in.existing_value != nullptr)
      out->new_value.append(in.existing_value->data(), in.existing_value->size());
    for (const auto& op : in.operand_list)
      out->new_value.append(op.data(), op.size());
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger*) const override {
    new_value->clear();
    for (const auto& op : operands)
      new_value->append(op.data(), op.size());
    return true;
  }

  const char* Name() const override { return "eddy.append"; }
};

/// Drops expired entries during compactions: values start with their timestamp, list values are
/// sequences of [ts][payload] records whose expired records are dropped.
class ttl_filter final : public rocksdb::CompactionFilter {
public:
  ttl_filter(const std::atomic<int64_t>* clock, int64_t ttl_ms, rocksdb_db::record_sizer sizer)
      : clock_(clock)
      , ttl_ms_(static_cast<uint64_t>(ttl_ms))
      , sizer_(sizer) {}

  Decision FilterV2(int, const rocksdb::Slice&, ValueType type, const rocksdb::Slice& value,
                    std::string* new_value, std::string*) const override {
    if (type == ValueType::kBlobIndex)
      return Decision::kKeep;
    auto now = clock_->load(std::memory_order_relaxed);
    if (sizer_ == nullptr) {
      if (type != ValueType::kValue || !expired(value.data(), value.size(), now))
        return Decision::kKeep;
      removed.fetch_add(1, std::memory_order_relaxed);
      return Decision::kRemove;
    }
    // A list value or merge operand: keep its unexpired records.
    const char* p = value.data();
    size_t n = value.size();
    std::string kept;
    uint64_t dropped = 0;
    while (n > 0) {
      if (n < 8)
        return Decision::kKeep; // damaged: leave it to the reader
      auto len = sizer_(p + 8, n - 8);
      if (len > n - 8)
        return Decision::kKeep;
      if (expired(p, n, now))
        ++dropped;
      else
        kept.append(p, 8 + len);
      p += 8 + len;
      n -= 8 + len;
    }
    if (dropped == 0)
      return Decision::kKeep;
    if (kept.empty()) {
      removed.fetch_add(dropped, std::memory_order_relaxed);
      return Decision::kRemove;
    }
    if (type != ValueType::kValue)
      return Decision::kKeep; // a partly expired operand: the reader skips its old records
    removed.fetch_add(dropped, std::memory_order_relaxed);
    *new_value = std::move(kept);
    return Decision::kChangeValue;
  }

  const char* Name() const override { return "eddy.ttl"; }

  /// Entries (list records) removed so far.
  mutable std::atomic<uint64_t> removed{0};

private:
  bool expired(const char* p, size_t n, int64_t now) const noexcept {
    if (n < 8)
      return false;
    int64_t ts = 0;
    std::memcpy(&ts, p, 8);
    return now > ts && static_cast<uint64_t>(now) - static_cast<uint64_t>(ts) >= ttl_ms_;
  }

  const std::atomic<int64_t>* clock_;
  uint64_t ttl_ms_;
  rocksdb_db::record_sizer sizer_;
};

caf::error backend_error(const char* what, const rocksdb::Status& s) {
  return make_error(errc::backend_failure, std::string{"RocksDB "} + what + ": " + s.ToString());
}

} // namespace

// -- cursor -------------------------------------------------------------------------------------

struct rocksdb_db::cursor::impl {
  std::string lower;
  std::string upper;
  rocksdb::Slice lower_slice;
  rocksdb::Slice upper_slice;
  std::unique_ptr<rocksdb::Iterator> it;
  /// The database's first failure: an iteration that stops on an error records it there, so a
  /// scan that ended early (a key group written short) is never taken for a complete one.
  caf::error* failure = nullptr;
};

rocksdb_db::cursor::cursor(std::unique_ptr<impl> x)
    : impl_(std::move(x)) {}

rocksdb_db::cursor::~cursor() = default;

void rocksdb_db::cursor::seek(std::string_view key) {
  impl_->it->Seek(slice(key));
}

void rocksdb_db::cursor::seek_to_first() {
  impl_->it->SeekToFirst();
}

bool rocksdb_db::cursor::valid() const {
  if (impl_->it->Valid())
    return true;
  if (auto s = impl_->it->status(); !s.ok() && impl_->failure != nullptr && !*impl_->failure)
    *impl_->failure = backend_error("iteration", s);
  return false;
}

void rocksdb_db::cursor::next() {
  impl_->it->Next();
}

std::string_view rocksdb_db::cursor::key() const {
  auto k = impl_->it->key();
  return {k.data(), k.size()};
}

std::string_view rocksdb_db::cursor::value() const {
  auto v = impl_->it->value();
  return {v.data(), v.size()};
}

caf::error rocksdb_db::cursor::status() const {
  auto s = impl_->it->status();
  return s.ok() ? caf::error{} : backend_error("iteration", s);
}

// -- write batch --------------------------------------------------------------------------------

struct rocksdb_db::write_batch::impl {
  struct op {
    uint32_t cf;
    bool range;
    std::string a;
    std::string b;
  };
  std::vector<op> ops;
};

rocksdb_db::write_batch::write_batch()
    : impl_(std::make_unique<impl>()) {}

rocksdb_db::write_batch::~write_batch() = default;

void rocksdb_db::write_batch::put(uint32_t cf, std::string_view key, std::string_view value) {
  impl_->ops.push_back({cf, false, std::string{key}, std::string{value}});
}

void rocksdb_db::write_batch::erase_range(uint32_t cf, std::string_view begin,
                                          std::string_view end) {
  impl_->ops.push_back({cf, true, std::string{begin}, std::string{end}});
}

// -- database -----------------------------------------------------------------------------------

struct rocksdb_db::impl {
  std::string path;
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> wbm;
  rocksdb::Options options; // database options, and the template of every column family
  rocksdb::ColumnFamilyOptions list_options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  std::vector<std::unique_ptr<ttl_filter>> filters; // per column family, null without a TTL
  const std::atomic<int64_t>* clock = nullptr;
  rocksdb::ReadOptions read;
  rocksdb::WriteOptions write;
  caf::error failure;

  void fail(const char* what, const rocksdb::Status& s) {
    if (!failure)
      failure = backend_error(what, s);
  }

  ~impl() {
    if (db) {
      for (auto* cf : cfs)
        db->DestroyColumnFamilyHandle(cf);
      cfs.clear();
      db->Close();
      db.reset();
      rocksdb::DestroyDB(path, options);
    }
    std::error_code ec;
    if (!path.empty())
      std::filesystem::remove_all(path, ec);
  }
};

rocksdb_db::rocksdb_db(std::unique_ptr<impl> x)
    : impl_(std::move(x)) {}

rocksdb_db::~rocksdb_db() = default;

caf::expected<std::unique_ptr<rocksdb_db>> rocksdb_db::open(const backend_config& cfg) {
  if (auto err = cfg.validate())
    return err;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(cfg.rocksdb_directory, ec);
  if (ec || !fs::is_directory(cfg.rocksdb_directory))
    return make_error(errc::invalid_config,
                      "backend_config: cannot create the RocksDB directory '" +
                          cfg.rocksdb_directory + "' (" +
                          (ec ? ec.message() : std::string{"not a directory"}) +
                          "); set rocksdb_directory to a writable local folder");
  std::string templ = (fs::path{cfg.rocksdb_directory} / "eddy-state-XXXXXX").string();
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr)
    return make_error(errc::invalid_config, "backend_config: cannot create a folder in '" +
                                                cfg.rocksdb_directory + "' (" +
                                                std::strerror(errno) +
                                                "); set rocksdb_directory to a writable folder");
  auto x = std::make_unique<impl>();
  x->path = name.data();

  // One strict LRU cache for blocks and memtables; few shards, so that a shard's share of the
  // pinned memtable reservations never fills it.
  rocksdb::LRUCacheOptions co;
  co.capacity = static_cast<size_t>(cfg.block_cache_bytes);
  int bits = 0;
  while (bits < 4 && (cfg.block_cache_bytes >> (bits + 1)) >= (uint64_t{16} << 20))
    ++bits;
  co.num_shard_bits = bits;
  co.strict_capacity_limit = true;
  co.high_pri_pool_ratio = 0.1; // index and filter partitions
  x->cache = rocksdb::NewLRUCache(co);
  x->wbm = std::make_shared<rocksdb::WriteBufferManager>(
      static_cast<size_t>(cfg.block_cache_bytes / 2), x->cache, /*allow_stall=*/true);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = x->cache;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  auto& o = x->options;
  o.create_if_missing = true;
  o.error_if_exists = true;
  o.write_buffer_manager = x->wbm;
  o.max_background_jobs = static_cast<int>(cfg.background_threads);
  o.max_open_files = 512;
  o.keep_log_file_num = 2;
  o.write_buffer_size = static_cast<size_t>(cfg.write_buffer_bytes);
  o.max_write_buffer_number = static_cast<int>(cfg.write_buffer_count);
  o.min_write_buffer_number_to_merge = 1;
  o.level_compaction_dynamic_level_bytes = true;
  // A Bloom filter per memtable: a read of a new key (the common miss: value() before the first
  // update()) skips the memtables' skip lists, which otherwise dominate its cost.
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  x->list_options = rocksdb::ColumnFamilyOptions{o};
  x->list_options.merge_operator = std::make_shared<append_operator>();

  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(o, x->path, &db);
  if (!s.ok()) {
    auto path = x->path;
    return make_error(errc::invalid_config,
                      "backend_config: cannot open RocksDB in '" + path + "' (" + s.ToString() +
                          "); set rocksdb_directory to a writable local folder");
  }
  x->db.reset(db);
  x->write.disableWAL = true;
  auto result = std::unique_ptr<rocksdb_db>{new rocksdb_db(std::move(x))};
  result->impl_->clock = &result->clock_;
  return result;
}

caf::expected<uint32_t> rocksdb_db::add_column(const std::string& name, column_options opts) {
  rocksdb::ColumnFamilyOptions co =
      opts.append ? impl_->list_options : rocksdb::ColumnFamilyOptions{impl_->options};
  std::unique_ptr<ttl_filter> filter;
  if (opts.ttl_ms > 0) {
    filter = std::make_unique<ttl_filter>(impl_->clock, opts.ttl_ms, opts.sizer);
    co.compaction_filter = filter.get();
  }
  rocksdb::ColumnFamilyHandle* h = nullptr;
  auto s =
      impl_->db->CreateColumnFamily(co, "s" + std::to_string(impl_->cfs.size()) + "." + name, &h);
  if (!s.ok())
    return backend_error("cannot create the column family of a state", s);
  impl_->cfs.push_back(h);
  impl_->filters.push_back(std::move(filter));
  return static_cast<uint32_t>(impl_->cfs.size() - 1);
}

rocksdb_db::lookup rocksdb_db::get(uint32_t cf, std::string_view key, std::string& value) {
  auto s = impl_->db->Get(impl_->read, impl_->cfs[cf], slice(key), &value);
  if (s.ok())
    return lookup::found;
  if (s.IsNotFound())
    return lookup::missing;
  impl_->fail("read", s);
  return lookup::failed;
}

void rocksdb_db::put(uint32_t cf, std::string_view key, std::string_view value) {
  auto s = impl_->db->Put(impl_->write, impl_->cfs[cf], slice(key), slice(value));
  if (!s.ok())
    impl_->fail("write", s);
}

void rocksdb_db::merge(uint32_t cf, std::string_view key, std::string_view value) {
  auto s = impl_->db->Merge(impl_->write, impl_->cfs[cf], slice(key), slice(value));
  if (!s.ok())
    impl_->fail("merge", s);
}

void rocksdb_db::erase(uint32_t cf, std::string_view key) {
  auto s = impl_->db->Delete(impl_->write, impl_->cfs[cf], slice(key));
  if (!s.ok())
    impl_->fail("delete", s);
}

std::unique_ptr<rocksdb_db::cursor> rocksdb_db::open_cursor(uint32_t cf, std::string lower,
                                                            std::string upper, bool fill_cache) {
  auto c = std::make_unique<cursor::impl>();
  c->lower = std::move(lower);
  c->upper = std::move(upper);
  rocksdb::ReadOptions ro;
  ro.fill_cache = fill_cache;
  if (!c->lower.empty()) {
    c->lower_slice = rocksdb::Slice{c->lower};
    ro.iterate_lower_bound = &c->lower_slice;
  }
  if (!c->upper.empty()) {
    c->upper_slice = rocksdb::Slice{c->upper};
    ro.iterate_upper_bound = &c->upper_slice;
  }
  c->it.reset(impl_->db->NewIterator(ro, impl_->cfs[cf]));
  c->failure = &impl_->failure;
  return std::make_unique<cursor>(std::move(c));
}

void rocksdb_db::write(write_batch& batch) {
  rocksdb::WriteBatch wb;
  for (auto& op : batch.get().ops) {
    auto s = op.range ? wb.DeleteRange(impl_->cfs[op.cf], op.a, op.b)
                      : wb.Put(impl_->cfs[op.cf], op.a, op.b);
    if (!s.ok()) {
      impl_->fail("batch", s);
      return;
    }
  }
  auto s = impl_->db->Write(impl_->write, &wb);
  if (!s.ok())
    impl_->fail("batch write", s);
}

uint64_t rocksdb_db::compact(uint32_t cf) {
  auto* filter = impl_->filters[cf].get();
  auto before = filter ? filter->removed.load() : 0;
  auto s = impl_->db->Flush(rocksdb::FlushOptions{}, impl_->cfs[cf]);
  if (!s.ok()) {
    impl_->fail("flush", s);
    return 0;
  }
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  s = impl_->db->CompactRange(co, impl_->cfs[cf], nullptr, nullptr);
  if (!s.ok()) {
    impl_->fail("compaction", s);
    return 0;
  }
  return filter ? filter->removed.load() - before : 0;
}

uint64_t rocksdb_db::approximate_entries(uint32_t cf) const {
  uint64_t n = 0;
  impl_->db->GetIntProperty(impl_->cfs[cf], rocksdb::DB::Properties::kEstimateNumKeys, &n);
  return n;
}

native_memory rocksdb_db::memory() const {
  native_memory m;
  m.block_cache = impl_->cache->GetUsage();
  m.block_cache_pinned = impl_->cache->GetPinnedUsage();
  m.memtables = impl_->wbm->memory_usage();
  uint64_t readers = 0;
  for (auto* cf : impl_->cfs) {
    uint64_t n = 0;
    impl_->db->GetIntProperty(cf, rocksdb::DB::Properties::kEstimateTableReadersMem, &n);
    readers += n;
  }
  m.table_readers = readers;
  return m;
}

const std::string& rocksdb_db::path() const noexcept {
  return impl_->path;
}

const caf::error& rocksdb_db::failure() const noexcept {
  return impl_->failure;
}

} // namespace eddy::state::internal
