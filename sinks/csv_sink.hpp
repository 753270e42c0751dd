// A sink writing records to a CSV file, fields in the order of the record's `inspect` overload.
//
//   stats.sink(eddy::csv_sink<mote_stats>("out/stats.csv", {"mote", "n", "mean"}));
//
// With parallelism p > 1, instance i writes `<path>.<i>`. A directory that does not exist is an
// error before the job starts. Text fields with the separator, quotes or newlines are quoted.
//
// Exactly-once: records go to hidden part files next to the path and reach the visible file
// only when the checkpoint they belong to completes (and at the end of the run); after any
// recoveries the file holds exactly what a run without failures writes (with checkpoints and
// sources that can go back). Each visible file has the header once.
// The file appears, replacing an older one, when the first checkpoint with records completes
// (without checkpoints: when the run ends), and grows by whole checkpoints. See sinks/README.md.
#pragma once

#include <eddy/actors/snapshot.hpp>
#include <eddy/operators/record_fields.hpp>
#include <eddy/sinks/internal/text_sink_file.hpp>

#include <memory>
#include <string>
#include <vector>

namespace eddy {

/// Writes records of type `T` as CSV lines.
template <class T>
class csv_sink {
public:
  /// Writes to `path`, with a first line of `header` names unless it is empty.
  explicit csv_sink(std::string path, std::vector<std::string> header = {})
      : file_(std::move(path), header_line(header)) {}

  [[nodiscard]] caf::error check() const { return file_.check(); }

  void open(uint32_t instance, uint32_t parallelism) { file_.open(instance, parallelism); }

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

  void finish() { file_.finish(); }

  /// Makes what this instance wrote since the last pre-commit durable, visible once checkpoint
  /// `id` completes.
  void pre_commit(checkpoint_id id) { file_.pre_commit(id); }

  /// Commits (makes visible) or drops what the instances pre-committed.
  [[nodiscard]] std::shared_ptr<sink_committer> committer() const { return file_.committer(); }

private:
  /// The first line: the column names, or nothing.
  static std::string header_line(const std::vector<std::string>& header) {
    std::string out;
    for (size_t i = 0; i < header.size(); ++i)
      out += (i == 0 ? "" : ",") + header[i];
    return header.empty() ? out : out + '\n';
  }

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

  /// This instance's side of the output file.
  internal::text_sink_file file_;
};

} // namespace eddy
