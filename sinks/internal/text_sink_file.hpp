// One instance's side of an exactly-once text file sink: checked before the job starts, writes
// records to an in-progress part file and files it as pending at each pre-commit (see
// file_committer.hpp for the files and when they become visible).
#pragma once

#include <eddy/operators/errc.hpp>
#include <eddy/sinks/internal/file_committer.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace eddy::internal {

class text_sink_file {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// A sink file at `path` whose parts (and so whose visible files) start with `header`.
  explicit text_sink_file(std::string path, std::string header = {})
      : path_(path)
      , committer_(std::make_shared<file_committer>(std::move(path), std::move(header))) {}

  /// Copies share the committer, never an open part.
  text_sink_file(const text_sink_file& other)
      : path_(other.path_)
      , committer_(other.committer_) {}

  text_sink_file& operator=(const text_sink_file& other) {
    if (this != &other) {
      discard();
      path_ = other.path_;
      committer_ = other.committer_;
      finished_ = false;
    }
    return *this;
  }

  /// Removes the in-progress part, if any: what was not pre-committed is never committed.
  ~text_sink_file() { discard(); }

  // -- properties -------------------------------------------------------------------------------

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

  /// The committer all copies share.
  [[nodiscard]] std::shared_ptr<sink_committer> committer() const { return committer_; }

  /// Where records go: the open in-progress part.
  [[nodiscard]] std::ostream& stream() {
    if (!out_)
      throw std::runtime_error("output file '" + path_ + "' is not open (a record after the end)");
    return *out_;
  }

  // -- the two phases ---------------------------------------------------------------------------

  /// Starts `instance`: removes what its earlier attempts left and opens its first part.
  void open(uint32_t instance, uint32_t parallelism) {
    instance_ = instance;
    committer_->attach(instance, parallelism);
    start_part();
  }

  /// Flushes what was written; no record follows.
  void finish() {
    committer_->rethrow_error();
    finished_ = true;
    if (out_ && !out_->flush())
      throw std::runtime_error("writing the part '" + part_ + "' of output file '" + path_ +
                               "' failed");
  }

  /// Makes what was written since the last pre-commit durable and files it as pending under
  /// `id`; then writes to a new part (unless the input has ended). A part holding no record
  /// is kept for the next checkpoint (or removed at the end).
  void pre_commit(checkpoint_id id) {
    committer_->rethrow_error();
    if (!out_)
      return;
    auto pos = out_->tellp();
    if (pos < 0)
      throw std::runtime_error("writing the part '" + part_ + "' of output file '" + path_ +
                               "' failed");
    bool empty = static_cast<size_t>(pos) <= committer_->header().size();
    if (empty && !finished_)
      return;
    out_->flush();
    bool ok = static_cast<bool>(*out_);
    out_.reset();
    if (!ok)
      throw std::runtime_error("writing the part '" + part_ + "' of output file '" + path_ +
                               "' failed");
    auto part = std::exchange(part_, {});
    if (empty) {
      std::error_code ec;
      std::filesystem::remove(part, ec);
    } else {
      sync_path(part);
      committer_->stage(id, instance_, part);
    }
    if (!finished_)
      start_part();
  }

private:
  // -- implementation ---------------------------------------------------------------------------

  void start_part() {
    part_ = committer_->next_part(instance_);
    out_ = std::make_unique<std::ofstream>(part_, std::ios::binary | std::ios::trunc);
    if (!*out_) {
      auto err = errno;
      out_.reset();
      throw std::runtime_error("cannot write output file '" + committer_->target(instance_) +
                               "': cannot create the part '" + std::exchange(part_, {}) + "' (" +
                               std::strerror(err) + ")");
    }
    *out_ << committer_->header();
  }

  void discard() noexcept {
    if (!out_)
      return;
    out_.reset();
    std::error_code ec;
    std::filesystem::remove(part_, ec);
    part_.clear();
  }

  /// The file's path, as the user gave it.
  std::string path_;
  /// Shared by every copy (every instance).
  std::shared_ptr<file_committer> committer_;
  /// This instance's index, from `open`.
  uint32_t instance_ = 0;
  /// Whether the input has ended.
  bool finished_ = false;
  /// The in-progress part's path.
  std::string part_;
  /// The open in-progress part.
  std::unique_ptr<std::ofstream> out_;
};

} // namespace eddy::internal
