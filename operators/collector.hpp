// What a flat_map or process function emits its results into.
//
//   job.source(...).flat_map<std::string>([](const line& l, eddy::collector<std::string>& out) {
//     for (auto& word : split(l.text))
//       out.emit(word);              // keeps the input record's event time
//   });
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/actors/output.hpp>

namespace eddy {

/// Emits records of type `Out` downstream, stamped with the current record's event time.
template <class Out>
class collector {
public:
  explicit collector(output<Out>* out) noexcept
      : out_(out) {}

  /// Emits `x` with the event time of the record being processed.
  void emit(Out x) { out_->emit(std::move(x), time_); }

  /// Emits `x` with event time `t`.
  void emit(Out x, timestamp t) { out_->emit(std::move(x), t); }

  /// Event time of the record being processed (min_time on streams without event times).
  [[nodiscard]] timestamp time() const noexcept { return time_; }

  /// The operator's current watermark.
  [[nodiscard]] timestamp watermark() const noexcept { return watermark_; }

  /// Set by the runtime before each record.
  void set(timestamp time, timestamp watermark) noexcept {
    time_ = time;
    watermark_ = watermark;
  }

private:
  /// Where results go.
  output<Out>* out_;
  /// Event time of the current record.
  timestamp time_ = min_time;
  /// Current watermark.
  timestamp watermark_ = min_time;
};

} // namespace eddy
