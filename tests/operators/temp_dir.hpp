// A fresh, empty folder under the system's temporary directory, for tests that keep state in
// RocksDB or write files (the sink tests use it too).
#pragma once

#include <filesystem>
#include <string>

namespace eddy::test {

/// Removes and recreates `<tmp>/<name>` (under `base` when given); returns its path.
inline std::string temp_dir(const std::string& name, const std::filesystem::path& base = {}) {
  auto dir = (base.empty() ? std::filesystem::temp_directory_path() : base) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

/// As temp_dir, in memory (/dev/shm) where the system has it: for a test that bounds a
/// duration that a shared disk's fsync would otherwise decide.
inline std::string memory_temp_dir(const std::string& name) {
  std::error_code ec;
  return temp_dir(name, std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "");
}

} // namespace eddy::test
