// An output text file for the file sinks: checked before the job starts, one file per instance.
#pragma once

#include <eddy/operators/errc.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace eddy::internal {

class text_sink_file {
public:
  explicit text_sink_file(std::string path)
      : path_(std::move(path)) {}

  text_sink_file(const text_sink_file& other)
      : path_(other.path_) {}

  /// An error when the file's directory does not exist or is not a directory.
  [[nodiscard]] caf::error check() const {
    std::error_code ec;
    auto dir = std::filesystem::absolute(path_, ec).parent_path();
    if (!std::filesystem::is_directory(dir, ec))
      return make_error(errc::invalid_source, "output file '" + path_ + "': directory " +
                                                  dir.string() +
                                                  " does not exist: create it or fix the path");
    return caf::none;
  }

  /// Opens the file of `instance`: the path itself with one instance, path.<i> with several.
  void open(uint32_t instance, uint32_t parallelism) {
    auto path = parallelism == 1 ? path_ : path_ + '.' + std::to_string(instance);
    out_ = std::make_unique<std::ofstream>(path, std::ios::trunc);
    if (!*out_)
      throw std::runtime_error("cannot write output file '" + path + "'");
  }

  [[nodiscard]] std::ostream& stream() { return *out_; }

  void close() {
    if (out_) {
      out_->flush();
      if (!*out_)
        throw std::runtime_error("writing output file '" + path_ + "' failed");
      out_.reset();
    }
  }

private:
  /// The file's path.
  std::string path_;
  /// The open stream.
  std::unique_ptr<std::ofstream> out_;
};

} // namespace eddy::internal
