// A sink printing each record on its own line to standard output (or another FILE*).
//
//   stats.sink(eddy::stdout_sink<mote_stats>{});                 // CAF's rendering of the fields
//   stats.sink(eddy::stdout_sink<mote_stats>{[](const mote_stats& s) { return s.to_string(); }});
//
// Each line is written with one fwrite call, so lines of parallel instances do not interleave.
#pragma once

#include <caf/deep_to_string.hpp>

#include <cstdio>
#include <functional>
#include <string>

namespace eddy {

/// Prints records of type `T`.
template <class T>
class stdout_sink {
public:
  using format_fn = std::function<std::string(const T&)>;

  /// Prints `format(x)` (default: CAF's rendering of the record's fields) to `out`
  /// (default: stdout).
  explicit stdout_sink(format_fn format = {}, std::FILE* out = stdout)
      : format_(std::move(format))
      , out_(out) {}

  void operator()(const T& x) {
    auto line = format_ ? format_(x) : caf::deep_to_string(x);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out_);
  }

  void finish() { std::fflush(out_); }

private:
  /// How a record becomes a line.
  format_fn format_;
  /// Where lines go.
  std::FILE* out_;
};

} // namespace eddy
