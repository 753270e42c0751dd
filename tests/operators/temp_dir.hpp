// A fresh, empty folder under the system's temporary directory, for tests that keep state in
// RocksDB or write files (the sink tests use it too).
#pragma once

#include <filesystem>
#include <string>

namespace eddy::test {

/// Removes and recreates `<tmp>/<name>`; returns its path.
inline std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

} // namespace eddy::test
