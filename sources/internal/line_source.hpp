// The common part of the file sources: read a text file line by line, parse each line into a
// record (the derived source's `parse`), send lines that do not parse to the dead letters with
// file:line and the reason, stamp event times and emit watermarks. Replayable: a position is the
// byte offset of the next line with its line number, the pass, and the event-time bookkeeping.
#pragma once

#include <eddy/operators/source.hpp>
#include <eddy/sources/internal/text_file.hpp>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace eddy::internal {

/// Where a file source is: what `position()` returns and `seek` takes. All 64-bit fields, so the
/// codec copies it as it is.
struct line_position {
  /// Passes over the file done (see `repeat`).
  uint64_t pass = 0;
  /// 1 when the current pass opened the file (and skipped a header), 0 before.
  uint64_t opened = 0;
  /// The byte where the next line starts, in the current pass.
  uint64_t offset = 0;
  /// Lines read in the current pass (dead letters name line + 1 next).
  uint64_t line = 0;
  /// The largest event time emitted.
  timestamp watermark = min_time;
  /// Smallest and largest event time of the first pass, and the shift per later pass.
  timestamp first_min = max_time;
  timestamp first_max = min_time;
  timestamp span = 0;
};

/// CRTP base: `Derived` has `std::string parse(const std::string& line, T& x) const` returning
/// why a line failed (empty on success), and may skip a header in `on_open`.
template <class Derived, class T>
class line_source {
public:
  using value_type = T;
  using time_fn = std::function<timestamp(const T&)>;
  using position_type = line_position;

  /// A file is read by one instance.
  static constexpr uint32_t max_parallelism = 1;

  explicit line_source(std::string path)
      : file_(std::move(path)) {}

  /// Stamps each record with `f(record)` and emits watermarks lagging `out_of_orderness`.
  Derived with_event_time(time_fn f, timestamp out_of_orderness = 0) const {
    auto copy = static_cast<const Derived&>(*this);
    copy.time_ = std::move(f);
    copy.lag_ = out_of_orderness;
    return copy;
  }

  /// Reads the file `n` times over (a longer stream from a small file). With event times, each
  /// pass continues event time where the one before ended: its times are shifted by the span of
  /// the first pass (largest minus smallest time, plus 1). Default: 1.
  Derived repeat(uint64_t n) const {
    auto copy = static_cast<const Derived&>(*this);
    copy.passes_ = n;
    return copy;
  }

  [[nodiscard]] bool timed() const noexcept { return static_cast<bool>(time_); }

  [[nodiscard]] caf::error check() const { return file_.check(); }

  /// Where the next `produce` continues.
  [[nodiscard]] position_type position() const noexcept {
    if (seek_) // sought, and not yet read on
      return *seek_;
    position_type p;
    p.pass = pass_;
    p.opened = file_.is_open() ? 1 : 0;
    p.offset = file_.offset();
    p.line = file_.line();
    p.watermark = watermark_;
    p.first_min = first_min_;
    p.first_max = first_max_;
    p.span = span_;
    return p;
  }

  /// Continues from `pos` (before the first `produce`): the file is opened there on the next
  /// `produce`, which throws when it changed so that no line starts there any more.
  void seek(const position_type& pos) {
    if (pos.opened > 1 || pos.pass > passes_ || (pos.opened == 0 && pos.offset != 0))
      throw std::runtime_error(
          "input file '" + file_.path() + "': the position is impossible (pass " +
          std::to_string(pos.pass) + " of " + std::to_string(passes_) + ", byte " +
          std::to_string(pos.offset) + "); restore the source with the settings it had");
    pass_ = pos.pass;
    watermark_ = pos.watermark;
    first_min_ = pos.first_min;
    first_max_ = pos.first_max;
    span_ = pos.span;
    if (pos.opened == 1)
      seek_ = pos;
  }

  produce_result produce(source_context<T>& ctx) {
    auto& self = static_cast<Derived&>(*this);
    if (!file_.is_open()) {
      if (auto err = file_.open())
        throw std::runtime_error(describe(err));
      if (seek_) {
        file_.seek(seek_->offset, seek_->line);
        seek_.reset();
      } else {
        self.on_open(file_);
      }
    }
    auto max_t = watermark_;
    auto status = produce_result::more;
    for (size_t k = 0; k < ctx.batch_size(); ++k) {
      if (!file_.next_line(line_)) {
        if (++pass_ < passes_) { // read the file again
          if (pass_ == 1)
            span_ = first_max_ >= first_min_ ? first_max_ - first_min_ + 1 : 0;
          if (auto err = file_.open())
            throw std::runtime_error(describe(err));
          self.on_open(file_);
          continue;
        }
        status = produce_result::done;
        break;
      }
      if (line_.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      T x{};
      if (auto reason = self.parse(line_, x); !reason.empty()) {
        ctx.dead_letter(std::move(reason), line_, file_.where());
        continue;
      }
      if (time_) {
        auto t = time_(x);
        if (pass_ == 0) {
          first_min_ = std::min(first_min_, t);
          first_max_ = std::max(first_max_, t);
        } else {
          t += span_ * static_cast<timestamp>(pass_);
        }
        max_t = std::max(max_t, t);
        ctx.emit(std::move(x), t);
      } else {
        ctx.emit(std::move(x));
      }
    }
    if (time_ && max_t != watermark_)
      ctx.watermark((watermark_ = max_t) - lag_ - 1);
    return {status, {}};
  }

  /// Called once the file is open (a CSV source skips its header here).
  void on_open(text_file&) {}

private:
  /// The file and where reading is.
  text_file file_;
  /// Event time of a record, if any.
  time_fn time_;
  /// Allowed out-of-orderness.
  timestamp lag_ = 0;
  /// Largest event time emitted.
  timestamp watermark_ = min_time;
  /// The current line.
  std::string line_;
  /// Times to read the file.
  uint64_t passes_ = 1;
  /// Passes done.
  uint64_t pass_ = 0;
  /// Smallest and largest event time of the first pass, and the shift per later pass.
  timestamp first_min_ = max_time;
  timestamp first_max_ = min_time;
  timestamp span_ = 0;
  /// Where the file opens on the next produce, after a seek.
  std::optional<position_type> seek_;
};

} // namespace eddy::internal
