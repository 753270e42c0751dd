// A source reading a JSON-lines file (one JSON object per line) into a user record, through
// nlohmann::json and the record's `from_json`.
//
//   struct trade { std::string symbol; double price; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(trade, symbol, price)   // defines from_json / to_json
//   auto trades = job.source(eddy::jsonl_source<trade>("trades.jsonl"));
//
// Broken JSON, or an object that does not fit the record (a missing field, a string where a
// number belongs), goes to the dead-letter output with file, line number and reason; reading
// goes on. A missing or unreadable file is an error before the job starts.
#pragma once

#include <eddy/operators/source.hpp>
#include <eddy/sources/internal/text_file.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace eddy {

/// Reads records of type `T` from a JSON-lines file.
template <class T>
class jsonl_source {
public:
  using value_type = T;
  using time_fn = std::function<timestamp(const T&)>;

  /// A file source is read by one instance.
  static constexpr uint32_t max_parallelism = 1;

  explicit jsonl_source(std::string path)
      : file_(std::move(path)) {}

  /// Stamps each record with `f(record)` and emits watermarks lagging `out_of_orderness`.
  jsonl_source with_event_time(time_fn f, timestamp out_of_orderness = 0) const {
    auto copy = *this;
    copy.time_ = std::move(f);
    copy.lag_ = out_of_orderness;
    return copy;
  }

  [[nodiscard]] bool timed() const noexcept { return static_cast<bool>(time_); }

  [[nodiscard]] caf::error check() const { return file_.check(); }

  produce_result produce(source_context<T>& ctx) {
    if (!file_.is_open())
      if (auto err = file_.open())
        throw std::runtime_error(describe(err));
    auto max_t = watermark_;
    auto status = produce_result::more;
    for (size_t k = 0; k < ctx.batch_size(); ++k) {
      if (!file_.next_line(line_)) {
        status = produce_result::done;
        break;
      }
      if (line_.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      T x{};
      if (auto reason = parse(line_, x); !reason.empty()) {
        ctx.dead_letter(std::move(reason), line_, file_.where());
        continue;
      }
      if (time_) {
        auto t = time_(x);
        max_t = std::max(max_t, t);
        ctx.emit(std::move(x), t);
      } else {
        ctx.emit(std::move(x));
      }
    }
    if (time_ && max_t != watermark_)
      ctx.watermark((watermark_ = max_t) - lag_);
    return {status, {}};
  }

  /// Parses one line into `x`; returns why it failed, or an empty string.
  static std::string parse(const std::string& line, T& x) {
    auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded())
      return "broken JSON";
    try {
      json.get_to(x);
    } catch (const nlohmann::json::exception& e) {
      return std::string{"JSON does not fit the record: "} + e.what();
    }
    return {};
  }

private:
  /// The file and where reading is.
  internal::text_file file_;
  /// Event time of a record, if any.
  time_fn time_;
  /// Allowed out-of-orderness.
  timestamp lag_ = 0;
  /// Largest event time emitted.
  timestamp watermark_ = min_time;
  /// The current line.
  std::string line_;
};

} // namespace eddy
