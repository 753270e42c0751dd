// The committing half of the exactly-once file sinks (`csv_sink`, `jsonl_sink`), shared by the
// instances of one sink: the part files they pre-committed, until the job's coordinator makes
// them visible (`commit`) or drops them (`abort_after`).
//
// Files of a sink writing `<dir>/<name>` (all in `<dir>`):
//
//   <name>                                 the visible file with one instance,
//   <name>.<i>                             and of instance i with several (as before)
//   .<name>.part-<i>-<seq>.inprogress      what instance i writes now (hidden, uncommitted)
//   .<name>.part-<i>-<seq>.pending         pre-committed at a checkpoint barrier, fsynced, waiting
//                                          for that checkpoint to complete
//
// Each part starts with the header (a CSV sink's column names), so each is a file of its own.
// The first committed part of an instance in a run is renamed into place (so it replaces the
// file of an earlier run atomically); later ones are appended, without their header, in
// checkpoint order, and the visible file is fsynced. The visible file is therefore always the
// output of a prefix of completed checkpoints, and at the end of a successful run exactly the
// output of a run without failures.
//
// Errors: the coordinator calls `commit` and `abort_after` without an error return, so the
// first error is kept and thrown by the next instance's `attach`, `pre_commit` or `finish`
// (which fails that task, and the job or its recovery says why); an error of the final commit,
// after which no instance runs, goes to standard error, as does one no instance took before the
// committer is destroyed. A part that could not be committed stays on disk, pending.
#pragma once

#include <eddy/actors/snapshot.hpp>
#include <eddy/operators/errc.hpp>
#include <eddy/sinks/internal/durable_file.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <unistd.h>

namespace eddy::internal {

/// What the instances of one file sink pre-committed, and what each instance's visible file
/// holds. Thread-safe: instances call `attach`, `next_part`, `stage` and `rethrow_error` from
/// their threads, the coordinator `commit` and `abort_after` from its own.
class file_committer final : public sink_committer {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// A committer for a sink writing `path`, each part starting with `header` (may be empty).
  file_committer(std::string path, std::string header)
      : path_(std::move(path))
      , header_(std::move(header)) {
    std::filesystem::path p{path_};
    dir_ = p.parent_path().empty() ? std::string{"."} : p.parent_path().string();
    prefix_ = "." + p.filename().string() + ".part-";
  }

  file_committer(const file_committer&) = delete;
  file_committer& operator=(const file_committer&) = delete;

  ~file_committer() override {
    if (!error_.empty())
      std::fprintf(stderr, "eddy: %s\n", error_.c_str());
  }

  // -- properties -------------------------------------------------------------------------------

  /// What each part starts with.
  [[nodiscard]] const std::string& header() const noexcept { return header_; }

  /// The visible file of `instance`: the path with one instance, `<path>.<i>` with several.
  [[nodiscard]] std::string target(uint32_t instance) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return target_of(instance);
  }

  /// The pending part files, by checkpoint (for tests and diagnostics).
  [[nodiscard]] std::map<checkpoint_id, std::vector<std::string>> pending() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::map<checkpoint_id, std::vector<std::string>> out;
    for (const auto& [id, parts] : pending_)
      for (const auto& p : parts)
        out[id].push_back(p.file);
    return out;
  }

  // -- called by the instances ------------------------------------------------------------------

  /// Instance `instance` of `parallelism` (re)starts: fails on a directory at its visible path
  /// or an error a commit left, and removes what earlier attempts of this instance left: its
  /// in-progress parts and pending parts this committer does not hold (of a process that
  /// died). Instance 0 also removes those of instances >= `parallelism` (an earlier run with
  /// more instances).
  void attach(uint32_t instance, uint32_t parallelism) {
    std::lock_guard<std::mutex> guard{mtx_};
    take_error();
    parallelism_ = parallelism;
    auto target = target_of(instance);
    std::error_code ec;
    if (std::filesystem::is_directory(target, ec))
      throw std::runtime_error("cannot write output file '" + target +
                               "': it is a directory; give the path of a file");
    std::set<std::string> held;
    for (const auto& [id, parts] : pending_)
      for (const auto& p : parts)
        held.insert(p.file);
    std::vector<std::filesystem::path> stale;
    for (const auto& entry : std::filesystem::directory_iterator{dir_, ec}) {
      auto name = entry.path().filename().string();
      uint32_t owner = 0;
      if (!parse_part(name, owner))
        continue;
      if (owner != instance && !(instance == 0 && owner >= parallelism))
        continue;
      if (ends_with(name, ".inprogress") || held.count(entry.path().string()) == 0)
        stale.push_back(entry.path());
    }
    if (ec)
      throw std::runtime_error("cannot list the directory '" + dir_ + "' of output file '" +
                               target + "' (" + ec.message() + ")");
    for (const auto& p : stale)
      if (!std::filesystem::remove(p, ec) && ec)
        throw std::runtime_error("cannot remove the leftover part '" + p.string() + "' (" +
                                 ec.message() + ")");
  }

  /// The path of a new in-progress part of `instance` (unique in this process).
  [[nodiscard]] std::string next_part(uint32_t instance) {
    auto seq = next_seq_.fetch_add(1);
    return part_path(instance, seq, ".inprogress");
  }

  /// Files the in-progress part `in_progress` of `instance`, closed and fsynced, as pending
  /// under checkpoint `id`; throws when it cannot rename it.
  void stage(checkpoint_id id, uint32_t instance, const std::string& in_progress) {
    static constexpr std::string_view suffix = ".inprogress";
    auto pending = in_progress.substr(0, in_progress.size() - suffix.size()) + ".pending";
    std::lock_guard<std::mutex> guard{mtx_};
    if (std::rename(in_progress.c_str(), pending.c_str()) != 0)
      throw_file_error("cannot file the part '" + in_progress + "' as pending: cannot rename to",
                       pending, errno);
    pending_[id].push_back(part{instance, pending});
    sync_path(dir_, true);
  }

  /// Throws the first error a commit or abort left since the last call, if any.
  void rethrow_error() {
    std::lock_guard<std::mutex> guard{mtx_};
    take_error();
  }

  // -- sink_committer ---------------------------------------------------------------------------

  /// Makes visible, in checkpoint order, every part pending under an id up to `id`; with
  /// `final_checkpoint` also creates the (header-only) file of each instance that wrote nothing,
  /// and forgets the run, so that a next run replaces the files.
  caf::error commit(checkpoint_id id) override {
    std::lock_guard<std::mutex> guard{mtx_};
    try {
      while (!pending_.empty() && pending_.begin()->first <= id) {
        auto& [chk, parts] = *pending_.begin();
        while (!parts.empty()) {
          publish(chk, parts.front());
          parts.erase(parts.begin());
        }
        pending_.erase(pending_.begin());
      }
      if (id == final_checkpoint) {
        for (uint32_t i = 0; i < parallelism_; ++i)
          if (!visible_[i].started)
            create_empty(i);
        visible_.clear();
      }
    } catch (const std::exception& e) {
      auto what = "output file '" + path_ + "': committing " +
                  (id == final_checkpoint ? std::string{"the end of the run"}
                                          : "checkpoint " + std::to_string(id)) +
                  " failed: " + e.what() + "; the parts not committed stay pending in " + dir_;
      if (id == final_checkpoint)
        return make_error(errc::job_failed, std::move(what));
      keep_error(what);
      return make_error(errc::job_failed, std::move(what));
    }
    return {};
  }

  /// Deletes every part pending under an id after `id`. When `id` is older than a checkpoint
  /// already committed (a newer one turned out damaged), also truncates each visible file back
  /// to what it held after `id`: the replay writes those records again. A reader that looked
  /// in between has seen them; the file itself ends up exact.
  void abort_after(checkpoint_id id) override {
    std::lock_guard<std::mutex> guard{mtx_};
    drop_after(id, std::nullopt);
  }

  /// As `abort_after`, for the parts and the visible file of `instance` only.
  void abort_instance_after(checkpoint_id id, uint32_t instance) override {
    std::lock_guard<std::mutex> guard{mtx_};
    drop_after(id, instance);
  }

private:
  // -- implementation ---------------------------------------------------------------------------

  /// A pre-committed part file.
  struct part {
    uint32_t instance;
    std::string file;
  };

  /// What an instance's visible file holds in this run.
  struct visible {
    /// Whether this run has created the file (by renaming its first part into place).
    bool started = false;
    /// Its size in bytes.
    uint64_t size = 0;
    /// (checkpoint, size after committing it), in commit order, for taking back.
    std::vector<std::pair<checkpoint_id, uint64_t>> history;
  };

  static bool ends_with(const std::string& s, std::string_view tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  }

  /// Whether `name` is a part file of this sink; sets its instance.
  bool parse_part(const std::string& name, uint32_t& instance) const {
    if (name.compare(0, prefix_.size(), prefix_) != 0)
      return false;
    if (!ends_with(name, ".inprogress") && !ends_with(name, ".pending"))
      return false;
    auto dash = name.find('-', prefix_.size());
    if (dash == std::string::npos || dash == prefix_.size())
      return false;
    auto digits = name.substr(prefix_.size(), dash - prefix_.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    instance = static_cast<uint32_t>(std::stoul(digits));
    return true;
  }

  std::string part_path(uint32_t instance, uint64_t seq, const char* suffix) const {
    return (std::filesystem::path{dir_} /
            (prefix_ + std::to_string(instance) + "-" + std::to_string(seq) + suffix))
        .string();
  }

  std::string target_of(uint32_t instance) const {
    return parallelism_ <= 1 ? path_ : path_ + "." + std::to_string(instance);
  }

  void keep_error(std::string what) {
    if (error_.empty())
      error_ = std::move(what);
  }

  void take_error() {
    if (!error_.empty())
      throw std::runtime_error(std::exchange(error_, {}));
  }

  /// Drops what `only` (every instance when empty) pre-committed after `id`, and takes back
  /// what it committed after `id`. Keeps the first error.
  void drop_after(checkpoint_id id, std::optional<uint32_t> only) {
    auto mine = [&](uint32_t instance) { return !only || *only == instance; };
    for (auto it = pending_.upper_bound(id); it != pending_.end();) {
      auto& parts = it->second;
      for (auto p = parts.begin(); p != parts.end();) {
        if (!mine(p->instance)) {
          ++p;
          continue;
        }
        std::error_code ec;
        if (!std::filesystem::remove(p->file, ec) && ec)
          keep_error("output file '" + path_ + "': cannot remove the aborted part '" + p->file +
                     "' (" + ec.message() + ")");
        p = parts.erase(p);
      }
      it = parts.empty() ? pending_.erase(it) : std::next(it);
    }
    for (auto& [instance, v] : visible_) {
      if (!mine(instance) || !v.started || v.history.empty() || v.history.back().first <= id)
        continue;
      while (!v.history.empty() && v.history.back().first > id)
        v.history.pop_back();
      auto keep = v.history.empty() ? header_.size() : v.history.back().second;
      auto target = target_of(instance);
      std::error_code ec;
      std::filesystem::resize_file(target, keep, ec);
      if (ec) {
        keep_error("output file '" + target + "': cannot take back what checkpoints after " +
                   std::to_string(id) + " committed (" + ec.message() + ")");
        continue;
      }
      v.size = keep;
      try {
        sync_path(target);
      } catch (const std::exception& e) {
        keep_error(std::string{"output file: "} + e.what());
      }
    }
  }

  /// Makes `p` visible: renamed into place when it is the instance's first part of the run,
  /// else appended without its header. Throws, leaving `p` pending, when it cannot.
  void publish(checkpoint_id chk, const part& p) {
    auto& v = visible_[p.instance];
    auto target = target_of(p.instance);
    if (!v.started) {
      if (std::rename(p.file.c_str(), target.c_str()) != 0)
        throw_file_error("cannot rename '" + p.file + "' to", target, errno);
      sync_path(dir_, true);
      v.started = true;
      v.size = std::filesystem::file_size(target);
    } else {
      append_file(p.file, header_.size(), target, v.size);
      std::error_code ec;
      std::filesystem::remove(p.file, ec);
    }
    v.history.emplace_back(chk, v.size);
  }

  /// Creates the visible file of an instance that committed nothing: only the header.
  void create_empty(uint32_t instance) {
    auto target = target_of(instance);
    auto tmp = part_path(instance, next_seq_.fetch_add(1), ".inprogress");
    auto* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr)
      throw_file_error("cannot create", tmp, errno);
    auto ok = std::fwrite(header_.data(), 1, header_.size(), f) == header_.size();
    ok = std::fflush(f) == 0 && ok;
    ok = ::fsync(::fileno(f)) == 0 && ok;
    auto err = errno;
    std::fclose(f);
    if (!ok || std::rename(tmp.c_str(), target.c_str()) != 0) {
      err = ok ? errno : err;
      std::remove(tmp.c_str());
      throw_file_error("cannot create", target, err);
    }
  }

  /// The sink's path, as the user gave it.
  std::string path_;
  /// What every part starts with (a CSV header line, or nothing).
  std::string header_;
  /// The directory of the files.
  std::string dir_;
  /// What part file names start with: `.<name>.part-`.
  std::string prefix_;
  /// Numbers parts, across instances and attempts.
  std::atomic<uint64_t> next_seq_{0};
  /// Guards everything below.
  mutable std::mutex mtx_;
  /// The sink's parallelism, from `attach` (0 before the first).
  uint32_t parallelism_ = 0;
  /// Pre-committed parts by checkpoint, in the order instances filed them.
  std::map<checkpoint_id, std::vector<part>> pending_;
  /// Each instance's visible file in this run.
  std::map<uint32_t, visible> visible_;
  /// The first error of a commit or abort that no instance has thrown yet.
  std::string error_;
};

} // namespace eddy::internal
