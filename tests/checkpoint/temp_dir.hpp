// A fresh, empty folder under the system's temporary directory for one test, removed when the
// test ends. The process id keeps two runs at once (a Release and an ASan build) apart.
//
//   eddy::test::scratch_dir tmp{"prune"};
//   auto s = eddy::checkpoint::storage::open(tmp.path());
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace eddy::test {

/// `<tmp>/eddy-checkpoint-<name>-<pid>`, created empty, removed with the object.
class scratch_dir {
public:
  explicit scratch_dir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("eddy-checkpoint-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }

  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  /// The folder.
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
  /// The folder.
  std::filesystem::path path_;
};

} // namespace eddy::test
