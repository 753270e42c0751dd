// Shared by the tests of eddy/state: stores on either backend, in a scratch folder, so that the
// same test body runs on memory and on RocksDB.
#pragma once

#include <eddy/state/keyed_state_store.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

namespace eddy::state::test {

/// Where RocksDB stores of the tests live (each in its own subfolder, removed with the store).
inline std::string scratch_dir() {
  return (std::filesystem::temp_directory_path() / "eddy_state_tests").string();
}

/// The configuration of a backend kind.
inline backend_config config_for(backend_kind kind) {
  return kind == backend_kind::memory ? backend_config{}
                                      : backend_config{}.with_rocksdb(scratch_dir());
}

/// A store of key type K on `kind`, owning `range` of `key_groups`.
template <class K = uint64_t>
keyed_state_store<K> make_store(backend_kind kind,
                                key_group_range range = key_group_range::all(128),
                                uint32_t key_groups = 128) {
  auto store = make_keyed_state_store<K>(config_for(kind), range, key_groups);
  if (!store)
    FAIL(describe(store.error()));
  return std::move(*store);
}

/// Unwraps a declared state, failing the test with the error's sentence.
template <class T>
T must(caf::expected<T> x) {
  if (!x)
    FAIL(describe(x.error()));
  return std::move(*x);
}

/// Peak resident set size of this process (VmHWM), in bytes.
inline uint64_t peak_rss_bytes() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

/// Resets the peak resident set size to the current one (Linux 4.0 and later).
inline void reset_peak_rss() {
  std::ofstream{"/proc/self/clear_refs"} << "5";
}

} // namespace eddy::state::test
