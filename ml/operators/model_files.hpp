// Models trained offline, served online: a source that reads model files (io/model_file.hpp)
// from a directory, and keeps watching it, so that a newer file dropped there becomes a new
// version for the scorers.
//
//   // a batch job (or any program) trained a model and saved it:
//   eddy::ml::save_model("models/fraud-2026-12-03.model", *forest);
//   // the scoring-only job serves it, and every newer file after it:
//   auto versions = job.source(eddy::ml::model_files<eddy::ml::random_forest>("models")
//                                  .named("fraud").every(std::chrono::seconds{1}));
//   auto predictions = eddy::ml::score<eddy::ml::random_forest>(points, versions);
//
// Every `every` (default 1 s) the source lists the directory's regular files whose name ends in
// `.model`, oldest first (by modification time, then name), and emits each one it has not emitted
// in that version (a file written again counts again) as the next version of model `named`
// (default: "offline"), numbered 1, 2, ... Write a file elsewhere and rename it in, as save_model
// does, so that the source never reads half of it. A file that does not load (damaged, another
// kind of model, a newer format) goes to the dead-letter output with the reason and is not tried
// again until it changes. With `until(n)` the source ends after n versions (a bounded job ends
// when its other sources do); without, it watches until the job stops.
//
// Replayable: its position is the files emitted (name and modification time) and the count, and
// which file comes next is a recorded choice (source_context::choose), so a recovered job, or
// the source recovered alone, emits neither a version twice nor one less. A file read before a
// failure that is gone when the source replays fails the source, saying so. One instance.
#pragma once

#include <eddy/ml/io/model_file.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/operators/records.hpp>
#include <eddy/operators/source.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace eddy::ml {

/// A source of the model files in a directory (see the header comment).
template <class Model>
class model_files {
public:
  using value_type = model_version;
  /// The versions emitted, and every file emitted or refused: (name, modification time in ns).
  using position_type = std::tuple<uint64_t, std::vector<std::pair<std::string, int64_t>>>;

  static constexpr uint32_t max_parallelism = 1;

  explicit model_files(std::string directory)
      : dir_(std::move(directory)) {}

  /// The model's name in its versions. Default: "offline".
  model_files named(std::string name) const {
    auto copy = *this;
    copy.name_ = std::move(name);
    return copy;
  }

  /// How often the directory is listed. Default: 1 s.
  model_files every(caf::timespan interval) const {
    auto copy = *this;
    copy.every_ = interval;
    return copy;
  }

  /// End after `n` versions (0: never). Default: never.
  model_files until(uint64_t n) const {
    auto copy = *this;
    copy.until_ = n;
    return copy;
  }

  /// A missing directory, or a path that is not one, is refused before the job starts.
  caf::error check() const {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir_, ec))
      return make_error(errc::io_error, "model_files: " + dir_ +
                                            " is not a directory; create it, or name the one "
                                            "the model files are written to");
    if (every_.count() <= 0)
      return make_error(errc::invalid_argument,
                        "model_files: the interval between listings is not positive");
    return caf::error{};
  }

  produce_result produce(source_context<model_version>& ctx) {
    // Which file comes next depends on the directory, outside the job: the choice goes through
    // ctx.choose, so that a replacement recovered alone emits the same files in the same order
    // (its receivers drop what they have seen by position in the stream).
    auto files = listing();
    auto pick = ctx.choose([&] { return files.empty() ? none : key_of(files.front()); });
    if (pick == none)
      return {produce_result::wait, every_};
    auto it =
        std::find_if(files.begin(), files.end(), [&](const auto& f) { return key_of(f) == pick; });
    if (it == files.end())
      throw std::runtime_error("model_files: a model file this source read before a failure is "
                               "gone from " +
                               dir_ + " or changed: it cannot emit the same versions again");
    auto name = it->first.filename().string();
    seen_.emplace_back(name, it->second);
    Model m;
    if (auto err = load_model(it->first.string(), m)) {
      ctx.dead_letter("model_files: " + describe(err) + " (it is tried again when it changes)",
                      name, "model_files " + dir_);
    } else {
      model_version v;
      v.model = name_;
      v.version = ++versions_;
      v.serial = v.version;
      v.kind = Model::model_kind;
      v.reason = "model file " + name;
      v.seal(to_binary(m));
      ctx.emit(std::move(v));
      if (until_ > 0 && versions_ >= until_)
        return {produce_result::done, {}};
    }
    return files.size() > 1 ? produce_result{produce_result::more, {}}
                            : produce_result{produce_result::wait, every_};
  }

  position_type position() const { return {versions_, seen_}; }

  void seek(const position_type& p) {
    versions_ = std::get<0>(p);
    seen_ = std::get<1>(p);
  }

private:
  /// The choice "no file now".
  static constexpr int64_t none = -1;

  /// A file's key in the choices: a hash of its name and modification time (never `none`).
  static int64_t key_of(const std::pair<std::filesystem::path, int64_t>& f) {
    auto h = std::hash<std::string>{}(f.first.filename().string()) ^
             (static_cast<uint64_t>(f.second) * 0x9E3779B97F4A7C15ULL);
    auto key = static_cast<int64_t>(h & 0x7FFF'FFFF'FFFF'FFFFULL);
    return key == none ? 0 : key;
  }

  /// The model files not seen in their current version, oldest first.
  std::vector<std::pair<std::filesystem::path, int64_t>> listing() const {
    std::vector<std::pair<std::filesystem::path, int64_t>> files;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir_, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      const auto& path = it->path();
      if (!it->is_regular_file(ec) || path.extension() != ".model")
        continue;
      auto time = it->last_write_time(ec);
      if (ec)
        continue;
      auto stamp = static_cast<int64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count());
      auto name = path.filename().string();
      if (std::find(seen_.begin(), seen_.end(), std::make_pair(name, stamp)) == seen_.end())
        files.emplace_back(path, stamp);
    }
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second, a.first) < std::tie(b.second, b.first);
    });
    return files;
  }

  std::string dir_;
  std::string name_ = "offline";
  caf::timespan every_ = std::chrono::seconds{1};
  uint64_t until_ = 0;
  uint64_t versions_ = 0;
  std::vector<std::pair<std::string, int64_t>> seen_;
};

} // namespace eddy::ml
