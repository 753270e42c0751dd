// A source reading a CSV file into a user record, one line per record, fields in the order of
// the record's `inspect` overload.
//
//   struct reading { int64_t reading; int mote_id; int indoor; double humidity, temperature;
//                    int label; };
//   template <class F> auto inspect(F& f, reading& x) {
//     return f(x.reading, x.mote_id, x.indoor, x.humidity, x.temperature, x.label);
//   }
//   auto rows = job.source(eddy::csv_source<reading>("data/sensors/single_hop.csv"));
//
// A line with the wrong number of fields or a field that does not parse goes to the dead-letter
// output with file, line number and reason; reading goes on. A missing or unreadable file is an
// error before the job starts. Quoted fields ("a,b" and "" escapes) are understood.
#pragma once

#include <eddy/operators/errc.hpp>
#include <eddy/operators/record_fields.hpp>
#include <eddy/operators/source.hpp>
#include <eddy/sources/internal/text_file.hpp>

#include <charconv>
#include <functional>
#include <string>
#include <vector>

namespace eddy {

/// Reads records of type `T` from a CSV file.
template <class T>
class csv_source {
public:
  using value_type = T;
  using time_fn = std::function<timestamp(const T&)>;

  /// A file sources can only be read by one instance.
  static constexpr uint32_t max_parallelism = 1;

  explicit csv_source(std::string path)
      : file_(std::move(path)) {}

  /// Whether the first line names the columns (and is skipped). Default: true.
  csv_source header(bool x) const {
    auto copy = *this;
    copy.header_ = x;
    return copy;
  }

  /// The field separator. Default: ','.
  csv_source delimiter(char c) const {
    auto copy = *this;
    copy.delimiter_ = c;
    return copy;
  }

  /// Stamps each record with `f(record)` and emits watermarks lagging `out_of_orderness`.
  csv_source with_event_time(time_fn f, timestamp out_of_orderness = 0) const {
    auto copy = *this;
    copy.time_ = std::move(f);
    copy.lag_ = out_of_orderness;
    return copy;
  }

  [[nodiscard]] bool timed() const noexcept { return static_cast<bool>(time_); }

  [[nodiscard]] caf::error check() const { return file_.check(); }

  void open(uint32_t, uint32_t) {}

  produce_result produce(source_context<T>& ctx) {
    if (!file_.is_open()) {
      if (auto err = file_.open())
        throw std::runtime_error(describe(err));
      if (header_)
        file_.next_line(line_);
    }
    auto max_t = watermark_;
    for (size_t k = 0; k < ctx.batch_size(); ++k) {
      if (!file_.next_line(line_)) {
        flush_watermark(ctx, max_t);
        return {produce_result::done, {}};
      }
      if (line_.empty())
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
    flush_watermark(ctx, max_t);
    return {produce_result::more, {}};
  }

  /// Parses one line into `x`; returns why it failed, or an empty string.
  std::string parse(const std::string& line, T& x) const {
    split(line);
    auto expected = field_count<T>();
    if (fields_.size() != expected)
      return "has " + std::to_string(fields_.size()) + " fields, expected " +
             std::to_string(expected);
    size_t i = 0;
    std::string reason;
    for_each_field(x, [&](auto& field) {
      if (reason.empty() && !parse_field(fields_[i], field))
        reason = "field " + std::to_string(i + 1) + " ('" + fields_[i] + "') is not a valid " +
                 kind_of(field);
      ++i;
    });
    return reason;
  }

private:
  void flush_watermark(source_context<T>& ctx, timestamp max_t) {
    if (time_ && max_t != watermark_)
      ctx.watermark((watermark_ = max_t) - lag_);
  }

  void split(const std::string& line) const {
    fields_.clear();
    std::string cur;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
          cur += '"', ++i;
        else if (c == '"')
          quoted = false;
        else
          cur += c;
      } else if (c == '"') {
        quoted = true;
      } else if (c == delimiter_) {
        fields_.push_back(std::move(cur));
        cur.clear();
      } else if (c != '\r') {
        cur += c;
      }
    }
    fields_.push_back(std::move(cur));
  }

  template <class V>
  static bool parse_field(const std::string& s, V& out) {
    if constexpr (std::is_same_v<V, std::string>) {
      out = s;
      return true;
    } else if constexpr (std::is_same_v<V, bool>) {
      if (s == "1" || s == "true")
        return out = true, true;
      if (s == "0" || s == "false")
        return out = false, true;
      return false;
    } else {
      auto first = s.data();
      auto last = s.data() + s.size();
      while (first < last && *first == ' ')
        ++first;
      if (first < last && *first == '+')
        ++first;
      auto [ptr, ec] = std::from_chars(first, last, out);
      return ec == std::errc{} && ptr == last && first != last;
    }
  }

  template <class V>
  static std::string kind_of(const V&) {
    if constexpr (std::is_same_v<V, bool>)
      return "boolean";
    else if constexpr (std::is_integral_v<V>)
      return "integer";
    else
      return "number";
  }

  /// The file and where reading is.
  internal::text_file file_;
  /// Skip the first line.
  bool header_ = true;
  /// Field separator.
  char delimiter_ = ',';
  /// Event time of a record, if any.
  time_fn time_;
  /// Allowed out-of-orderness.
  timestamp lag_ = 0;
  /// Largest event time emitted.
  timestamp watermark_ = min_time;
  /// The current line.
  std::string line_;
  /// The current line's fields.
  mutable std::vector<std::string> fields_;
};

} // namespace eddy
