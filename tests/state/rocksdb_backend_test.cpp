// The RocksDB backend at scale (state/internal/rocksdb_db.hpp): the same results as memory, and
// native memory capped by backend_config.
#include "all_kinds.hpp"

#include <chrono>
#include <cstdio>

namespace st = eddy::state;
using st::backend_kind;
using st::test::all_kinds;
using st::test::make_store;
using st::test::must;

namespace {

/// A running count per key with a value state: read, add, write, as a keyed operator does.
template <class K>
void count_keys(st::keyed_state_store<K>& store, st::value_state<int64_t>& count, uint64_t keys,
                uint64_t stride) {
  for (uint64_t i = 0; i < keys; i += stride) {
    store.set_current_key(i * 0x9E3779B97F4A7C15ULL);
    auto* c = count.value();
    count.update(c ? *c + 1 : static_cast<int64_t>(i % 1000));
  }
}

} // namespace

SCENARIO("RocksDB gives the same results as memory on 200 thousand keys") {
  all_kinds memory{make_store(backend_kind::memory)};
  all_kinds rocks{make_store(backend_kind::rocksdb)};
  auto mc = must(memory.store.declare_value<int64_t>("count"));
  auto rc = must(rocks.store.declare_value<int64_t>("count"));
  for (auto* s : {&memory, &rocks})
    s->fill(20'000);
  count_keys(memory.store, mc, 200'000, 1);
  count_keys(rocks.store, rc, 200'000, 1);
  count_keys(memory.store, mc, 200'000, 3); // every third key twice
  count_keys(rocks.store, rc, 200'000, 3);
  REQUIRE(!rocks.store.backend_error());
  auto expected = memory.dump();
  CHECK(rocks.dump() == expected);
  uint64_t n = 0;
  int64_t sum_memory = 0;
  int64_t sum_rocks = 0;
  for (uint32_t kg = 0; kg < 128; ++kg) {
    for (auto k : memory.store.keys(mc, kg)) {
      memory.store.set_current_key(k);
      rocks.store.set_current_key(k);
      sum_memory += *mc.value();
      sum_rocks += rc.value_or(-1'000'000);
      ++n;
    }
  }
  CHECK(n == 200'000);
  CHECK(sum_rocks == sum_memory);
  CHECK(rocks.store.count_stored_entries(rc) == 200'000);
}

SCENARIO("RocksDB holds 20 million keys with a 64 MB block cache in under 512 MB of RSS",
         "[.slow]") {
  constexpr uint64_t keys = 20'000'000;
  st::test::reset_peak_rss();
  auto rss_before = st::test::peak_rss_bytes();
  auto cfg = st::backend_config{}
                 .with_rocksdb(st::test::scratch_dir())
                 .with_block_cache_bytes(64ull << 20);
  auto store = must(st::make_keyed_state_store<uint64_t>(cfg, st::key_group_range::all(128), 128));
  auto count = must(store.declare_value<int64_t>("count"));
  auto t0 = std::chrono::steady_clock::now();
  count_keys(store, count, keys, 1);
  auto t1 = std::chrono::steady_clock::now();
  count_keys(store, count, keys, 100); // every hundredth key again: reads that hit disk
  auto t2 = std::chrono::steady_clock::now();
  REQUIRE(!store.backend_error());
  uint64_t n = 0;
  store.for_each_key(count, [&](const uint64_t&) { ++n; });
  auto t3 = std::chrono::steady_clock::now();
  int64_t sum = 0;
  for (uint64_t i = 0; i < keys; i += 97) {
    store.set_current_key(i * 0x9E3779B97F4A7C15ULL);
    sum += count.value_or(-1'000'000);
  }
  int64_t expected = 0;
  for (uint64_t i = 0; i < keys; i += 97)
    expected += static_cast<int64_t>(i % 1000) + (i % 100 == 0 ? 1 : 0);
  auto mem = store.backend_memory();
  auto peak = st::test::peak_rss_bytes();
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf(
      "rocksdb 20M keys: insert %.1f s (%.0f k/s), update 200k %.1f s, scan %.1f s; peak RSS "
      "%.0f MB (at start %.0f MB); block cache %.1f MB (pinned %.1f), memtables %.1f MB, "
      "table readers %.1f MB\n",
      secs(t0, t1), keys / secs(t0, t1) / 1e3, secs(t1, t2), secs(t2, t3), peak / 1e6,
      rss_before / 1e6, mem.block_cache / 1e6, mem.block_cache_pinned / 1e6, mem.memtables / 1e6,
      mem.table_readers / 1e6);
  CHECK(n == keys);
  CHECK(sum == expected);
  CHECK(peak < 512ull << 20);
  CHECK(!store.backend_error());
}
