// A text file read line by line, with the checks and positions the file sources report.
#pragma once

#include <eddy/operators/errc.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace eddy::internal {

class text_file {
public:
  explicit text_file(std::string path)
      : path_(std::move(path)) {}

  text_file(const text_file& other)
      : path_(other.path_) {}

  text_file& operator=(const text_file& other) {
    path_ = other.path_;
    in_.reset();
    line_ = 0;
    offset_ = 0;
    return *this;
  }

  /// An error when the file cannot be read, saying why and how to fix it.
  [[nodiscard]] caf::error check() const {
    std::error_code ec;
    auto abs = std::filesystem::absolute(path_, ec);
    if (!std::filesystem::exists(path_, ec))
      return make_error(errc::invalid_source,
                        "input file '" + path_ + "' does not exist (looked for " + abs.string() +
                            "): check the path; relative paths start at the working directory");
    if (std::filesystem::is_directory(path_, ec))
      return make_error(errc::invalid_source,
                        "input file '" + path_ + "' is a directory: give the path of a file");
    std::ifstream probe{path_};
    if (!probe)
      return make_error(errc::invalid_source, "input file '" + path_ + "' cannot be read (" +
                                                  std::strerror(errno) +
                                                  "): check its permissions");
    return caf::none;
  }

  [[nodiscard]] caf::error open() {
    if (auto err = check())
      return err;
    in_ = std::make_unique<std::ifstream>(path_, std::ios::binary);
    line_ = 0;
    offset_ = 0;
    return caf::none;
  }

  /// Moves the open file to byte `offset`, the start of a line (or the end of the file), after
  /// `line` lines: where `offset()` and `line()` were. Throws when the file cannot be there: it
  /// is shorter, or no line starts at `offset` (it changed since the position was taken).
  void seek(uint64_t offset, uint64_t line) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path_, ec);
    bool ok = !ec && offset <= size;
    if (ok && offset > 0) {
      char before = 0;
      in_->seekg(static_cast<std::streamoff>(offset - 1));
      ok = static_cast<bool>(in_->get(before)) && (before == '\n' || offset == size);
    }
    if (ok) {
      in_->clear();
      ok = static_cast<bool>(in_->seekg(static_cast<std::streamoff>(offset)));
    }
    if (!ok)
      throw std::runtime_error("cannot continue input file '" + path_ + "' at byte " +
                               std::to_string(offset) + " (line " + std::to_string(line + 1) +
                               "): " +
                               (ec ? "its size cannot be read (" + ec.message() + ")"
                                   : "no line starts there, so the file changed since the "
                                     "checkpoint; restore it as it was, or start afresh"));
    offset_ = offset;
    line_ = line;
  }

  [[nodiscard]] bool is_open() const noexcept { return in_ != nullptr; }

  /// Reads the next line; false at the end of the file. A read error (the disk, a vanished
  /// network file system) throws, saying which file and after which line: a truncated input
  /// must fail the job, never pass for a complete one.
  bool next_line(std::string& line) {
    errno = 0;
    if (std::getline(*in_, line)) {
      ++line_;
      // The line and its newline; the last line of a file may have none (then eof is set).
      offset_ += line.size() + (in_->eof() ? 0 : 1);
      return true;
    }
    if (in_->bad()) {
      auto why = errno != 0 ? std::string{std::strerror(errno)} : std::string{"I/O error"};
      throw std::runtime_error("cannot read input file '" + path_ + "' after line " +
                               std::to_string(line_) + " (" + why +
                               "): the input is incomplete, so the job stops");
    }
    return false;
  }

  /// The byte where the next line starts (0 before the first).
  [[nodiscard]] uint64_t offset() const noexcept { return offset_; }

  /// The number of the last line read, 1-based (0: none yet).
  [[nodiscard]] uint64_t line() const noexcept { return line_; }

  /// "path:line" of the last line read.
  [[nodiscard]] std::string where() const { return path_ + ':' + std::to_string(line_); }

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
  /// The file's path.
  std::string path_;
  /// The open stream, once reading started.
  std::unique_ptr<std::ifstream> in_;
  /// Number of the last line read, 1-based.
  size_t line_ = 0;
  /// The byte where the next line starts.
  uint64_t offset_ = 0;
};

} // namespace eddy::internal
