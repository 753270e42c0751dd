// Helpers shared by the bench/ml benchmarks: a scratch directory for the data files the
// benchmarks hand to scikit-learn, writing a batch data set as a CSV both sides read, and running
// a Python script to read its output.
//
//   bench_files files{"trees", keep_dir};                          // removed at exit unless kept
//   auto path = files.path("noisy.csv");
//   write_features_csv(path, train_x, train_y, test_x, test_y);   // f0,...,y,test
//   auto out = run_command("/usr/bin/python3 script.py " + path); // stdout, or an error
//   if (reference_checkable("memory", records, 1'000'000, "records")) ...   // else says why not
#pragma once

#include <eddy/ml/fwd.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

namespace eddy::bench_ml {

/// The directory of bench/ml (set by CMake), where the Python scripts are.
inline std::string script_dir() {
#ifdef EDDY_BENCH_ML_DIR
  return EDDY_BENCH_ML_DIR;
#else
  return "bench/ml";
#endif
}

/// Whether this build rounds as the one the reference figures of bench/ml/README.md were taken
/// with (Release, no -march=native): seeded trees and detectors then give the same figures to
/// the byte. A -march=native build (EDDY_NATIVE, as `./dev bench` builds) rounds differently
/// (other vector widths, fused multiply-adds), so its trees split elsewhere now and then.
#ifdef EDDY_BENCH_NATIVE
inline constexpr bool reference_build = false;
#else
inline constexpr bool reference_build = true;
#endif

/// Says whether a run of `size` can be checked against the reference taken at `reference_size`
/// (printing why not, after `what`, when it cannot).
inline bool reference_checkable(const char* what, long long size, long long reference_size,
                                const char* unit) {
  if (size != reference_size) {
    std::printf("%s: reference not checked (%lld %s; the reference is for %lld)\n", what, size,
                unit, reference_size);
    return false;
  }
  if (!reference_build) {
    std::printf("%s: reference not checked (a -march=native build rounds differently; the "
                "reference is for a Release build without it)\n",
                what);
    return false;
  }
  return true;
}

/// A directory for the data files of one run: a fresh temporary one removed at the end, or
/// `keep` (created if needed, left in place) when not empty.
class bench_files {
public:
  bench_files(const std::string& name, const std::string& keep) {
    if (keep.empty()) {
      dir_ = std::filesystem::temp_directory_path() /
             ("eddy_bench_ml_" + name + "_" + std::to_string(::getpid()));
      remove_ = true;
    } else {
      dir_ = keep;
    }
    std::filesystem::create_directories(dir_);
  }
  ~bench_files() {
    if (remove_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  bench_files(const bench_files&) = delete;
  bench_files& operator=(const bench_files&) = delete;

  /// The path of file `name` in the directory.
  [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }

private:
  /// The directory.
  std::filesystem::path dir_;
  /// Whether it is removed at the end.
  bool remove_ = false;
};

/// Writes training and test rows as a CSV with header f0,...,f{d-1},y,test (test = 1 for a
/// test row); values with 17 significant digits, so that a reader gets the same doubles.
/// Returns false when the file cannot be written.
inline bool write_features_csv(const std::string& path, const ml::matrix& train_x,
                               const ml::labels& train_y, const ml::matrix& test_x,
                               const ml::labels& test_y) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (!out)
    return false;
  for (Eigen::Index j = 0; j < train_x.cols(); ++j)
    std::fprintf(out, "f%ld,", static_cast<long>(j));
  std::fprintf(out, "y,test\n");
  auto rows = [out](const ml::matrix& x, const ml::labels& y, int test) {
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      for (Eigen::Index j = 0; j < x.cols(); ++j)
        std::fprintf(out, "%.17g,", x(i, j));
      std::fprintf(out, "%d,%d\n", y[i], test);
    }
  };
  rows(train_x, train_y, 0);
  rows(test_x, test_y, 1);
  return std::fclose(out) == 0;
}

/// `text` quoted for the shell (single quotes; a single quote inside is escaped).
inline std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

/// Runs `command` through the shell and returns its standard output, or nothing when it cannot
/// be started or exits with a status other than 0.
inline std::optional<std::string> run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe)
    return std::nullopt;
  std::string out;
  std::array<char, 4096> buffer;
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
    out.append(buffer.data(), n);
  if (::pclose(pipe) != 0)
    return std::nullopt;
  return out;
}

} // namespace eddy::bench_ml
