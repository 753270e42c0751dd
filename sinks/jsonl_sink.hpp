// A sink writing records as JSON lines through nlohmann::json and the record's `to_json`.
//
//   struct alert { int mote; double score; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(alert, mote, score)
//   alerts.sink(eddy::jsonl_sink<alert>("alerts.jsonl"));
//
// With parallelism p > 1, instance i writes `<path>.<i>`.
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/sinks/internal/text_sink_file.hpp>

#include <nlohmann/json.hpp>

namespace eddy {

/// Dead letters as JSON objects {"origin", "reason", "record"}, so
/// `jsonl_sink<dead_letter>` writes a dead-letter file.
inline void to_json(nlohmann::json& j, const dead_letter& x) {
  j = nlohmann::json{{"origin", x.origin}, {"reason", x.reason}, {"record", x.record}};
}

/// Writes records of type `T` as JSON lines.
template <class T>
class jsonl_sink {
public:
  explicit jsonl_sink(std::string path)
      : file_(std::move(path)) {}

  [[nodiscard]] caf::error check() const { return file_.check(); }

  void open(uint32_t instance, uint32_t parallelism) { file_.open(instance, parallelism); }

  void operator()(const T& x) { file_.stream() << nlohmann::json(x).dump() << '\n'; }

  void finish() { file_.close(); }

private:
  /// The output file.
  internal::text_sink_file file_;
};

} // namespace eddy
