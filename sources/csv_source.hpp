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
#include <eddy/sources/internal/line_source.hpp>

#include <charconv>
#include <string>
#include <vector>

namespace eddy {

/// Reads records of type `T` from a CSV file.
template <class T>
class csv_source : public internal::line_source<csv_source<T>, T> {
public:
  explicit csv_source(std::string path)
      : internal::line_source<csv_source<T>, T>(std::move(path)) {}

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

  /// Skips the header line.
  void on_open(internal::text_file& file) {
    std::string ignored;
    if (header_)
      file.next_line(ignored);
  }

  /// Parses one line into `x`; returns why it failed, or an empty string.
  std::string parse(const std::string& line, T& x) const {
    split(line);
    static const auto expected = field_count<T>();
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

  /// Skip the first line.
  bool header_ = true;
  /// Field separator.
  char delimiter_ = ',';
  /// The current line's fields.
  mutable std::vector<std::string> fields_;
};

} // namespace eddy
