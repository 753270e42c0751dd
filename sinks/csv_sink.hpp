// A sink writing records to a CSV file, fields in the order of the record's `inspect` overload.
//
//   stats.sink(eddy::csv_sink<mote_stats>("out/stats.csv", {"mote", "n", "mean"}));
//
// With parallelism p > 1, instance i writes `<path>.<i>`. A directory that does not exist is an
// error before the job starts. Text fields with the separator, quotes or newlines are quoted.
#pragma once

#include <eddy/operators/record_fields.hpp>
#include <eddy/sinks/internal/text_sink_file.hpp>

#include <string>
#include <vector>

namespace eddy {

/// Writes records of type `T` as CSV lines.
template <class T>
class csv_sink {
public:
  /// Writes to `path`, with a first line of `header` names unless it is empty.
  explicit csv_sink(std::string path, std::vector<std::string> header = {})
      : file_(std::move(path))
      , header_(std::move(header)) {}

  [[nodiscard]] caf::error check() const { return file_.check(); }

  void open(uint32_t instance, uint32_t parallelism) {
    file_.open(instance, parallelism);
    if (!header_.empty()) {
      for (size_t i = 0; i < header_.size(); ++i)
        file_.stream() << (i == 0 ? "" : ",") << header_[i];
      file_.stream() << '\n';
    }
  }

  void operator()(const T& x) {
    auto& out = file_.stream();
    bool first = true;
    for_each_field(const_cast<T&>(x), [&](const auto& field) {
      if (!first)
        out << ',';
      first = false;
      write(out, field);
    });
    out << '\n';
  }

  void finish() { file_.close(); }

private:
  template <class V>
  static void write(std::ostream& out, const V& v) {
    if constexpr (std::is_same_v<V, std::string>) {
      if (v.find_first_of(",\"\n") == std::string::npos) {
        out << v;
        return;
      }
      out << '"';
      for (char c : v)
        out << (c == '"' ? "\"\"" : std::string(1, c));
      out << '"';
    } else if constexpr (std::is_floating_point_v<V>) {
      out.precision(17);
      out << v;
    } else if constexpr (std::is_same_v<V, char> || std::is_same_v<V, signed char> ||
                         std::is_same_v<V, unsigned char>) {
      out << static_cast<int>(v);
    } else {
      out << v;
    }
  }

  /// The output file.
  internal::text_sink_file file_;
  /// Column names of the first line.
  std::vector<std::string> header_;
};

} // namespace eddy
