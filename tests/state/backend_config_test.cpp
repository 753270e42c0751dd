#include "backends.hpp"

#include <eddy/state/backend_config.hpp>

#include <string>

namespace st = eddy::state;

namespace {

bool says(const caf::error& err, const std::string& part) {
  return eddy::describe(err).find(part) != std::string::npos;
}

} // namespace

SCENARIO("the default backend is memory, with RocksDB defaults documented in the config") {
  st::backend_config cfg;
  CHECK(cfg.kind == st::backend_kind::memory);
  CHECK(cfg.block_cache_bytes == 64u << 20);
  CHECK(cfg.write_buffer_bytes == 16u << 20);
  CHECK(cfg.write_buffer_count == 2);
  CHECK(!cfg.validate());
}

SCENARIO("RocksDB configuration mistakes come back as errors that say how to fix them") {
  WHEN("RocksDB is chosen without a directory") {
    st::backend_config cfg;
    cfg.kind = st::backend_kind::rocksdb;
    auto store = st::make_keyed_state_store<uint64_t>(cfg, st::key_group_range::all(128), 128);
    REQUIRE(!store);
    CHECK(st::is(store.error(), st::errc::invalid_config));
    CHECK(says(store.error(), "set rocksdb_directory"));
  }
  WHEN("the directory cannot be created") {
    auto cfg = st::backend_config{}.with_rocksdb("/etc/hostname/eddy"); // under a regular file
    auto store = st::make_keyed_state_store<uint64_t>(cfg, st::key_group_range::all(128), 128);
    REQUIRE(!store);
    CHECK(st::is(store.error(), st::errc::invalid_config));
    CHECK(says(store.error(), "/etc/hostname/eddy"));
    CHECK(says(store.error(), "writable"));
  }
  WHEN("the directory is not writable") {
    auto cfg = st::backend_config{}.with_rocksdb("/proc/self");
    auto store = st::make_keyed_state_store<uint64_t>(cfg, st::key_group_range::all(128), 128);
    REQUIRE(!store);
    CHECK(st::is(store.error(), st::errc::invalid_config));
    CHECK(says(store.error(), "writable"));
  }
  WHEN("the memory sizes are too small") {
    auto base = st::backend_config{}.with_rocksdb(st::test::scratch_dir());
    CHECK(says(base.with_block_cache_bytes(1000).validate(), "block_cache_bytes"));
    CHECK(says(base.with_write_buffers(16 << 20, 0).validate(), "write_buffer_count"));
    CHECK(says(base.with_write_buffers(100, 2).validate(), "write_buffer_bytes"));
    CHECK(!base.validate());
  }
}
