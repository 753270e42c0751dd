// A sink writing records as JSON lines through nlohmann::json and the record's `to_json`.
//
//   struct alert { int mote; double score; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(alert, mote, score)
//   alerts.sink(eddy::jsonl_sink<alert>("alerts.jsonl"));
//
// With parallelism p > 1, instance i writes `<path>.<i>`. Exactly-once: records go to hidden part
// files next to the path and reach the visible file only when the checkpoint they belong to
// completes (and at the end of the run), so after any recoveries it holds exactly what a run
// without failures writes (with checkpoints and sources that can go back).
// The file appears, replacing an older one, when the first checkpoint with records completes
// (without checkpoints: when the run ends), and grows by whole checkpoints. See sinks/README.md.
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/actors/snapshot.hpp>
#include <eddy/sinks/internal/text_sink_file.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

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

  void finish() { file_.finish(); }

  /// Makes what this instance wrote since the last pre-commit durable, visible once checkpoint
  /// `id` completes.
  void pre_commit(checkpoint_id id) { file_.pre_commit(id); }

  /// Commits (makes visible) or drops what the instances pre-committed.
  [[nodiscard]] std::shared_ptr<sink_committer> committer() const { return file_.committer(); }

private:
  /// This instance's side of the output file.
  internal::text_sink_file file_;
};

} // namespace eddy
