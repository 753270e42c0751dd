// How the learning operators keep their state in checkpoints: one Boost binary archive of a
// state struct per instance (the format of model files, eddy/ml/io/serialization.hpp).
//
//   void snapshot(task&, checkpoint_id, instance_state& out) override {
//     eddy::ml::detail::save_state(state_, out);
//   }
//   void restore(task&, checkpoint_id, instance_state&& in) override {
//     eddy::ml::detail::load_state(in, state_, "registry " + t.origin());
//   }
#pragma once

#include <eddy/actors/snapshot.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/operators/records.hpp>

#include <boost/serialization/string.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace eddy::ml::detail {

/// Writes `state` into the instance's snapshot.
template <class State>
void save_state(const State& state, instance_state& out) {
  out.operator_state = to_binary(state);
}

/// Replaces `state` with the snapshot in `in`, or leaves it when the snapshot has none (false).
/// A snapshot that does not decode throws, naming `origin`, and `state` stays as it was.
template <class State>
bool load_state(const instance_state& in, State& state, const std::string& origin) {
  if (in.operator_state.empty())
    return false;
  State restored = state;
  if (auto err = from_binary(in.operator_state, restored))
    throw std::runtime_error(origin + ": " + describe(err));
  state = std::move(restored);
  return true;
}

/// The layout of version_fields: 0 before the RMSE figures, 1 with them. A state struct that
/// holds versions passes its own Boost class version mapped to this one, so that snapshots
/// written before load.
enum class version_layout : unsigned { v0 = 0, with_rmse = 1 };

/// A model version's fields in a Boost archive (model_version has a CAF inspect, so a Boost
/// `serialize` beside it would be taken by CAF too).
template <class Archive>
void version_fields(Archive& ar, model_version& v,
                    version_layout layout = version_layout::with_rmse) {
  ar& v.model& v.instance& v.version& v.serial& v.reason& v.updates& v.time& v.kind;
  ar& v.params& v.crc;
  auto& q = v.quality;
  ar& q.evaluated& q.accuracy& q.precision& q.recall& q.f1;
  ar& q.rolling_accuracy& q.rolling_f1& q.rolling_roc_auc& q.drifts& q.roc_auc;
  if (layout >= version_layout::with_rmse)
    ar& q.rmse& q.rolling_rmse;
}

/// A list of model versions in a Boost archive; more than `max` on loading means damage.
template <class Archive, class List>
void version_list(Archive& ar, List& versions, uint64_t max, const char* what,
                  version_layout layout = version_layout::with_rmse) {
  uint64_t n = versions.size();
  ar& n;
  if constexpr (Archive::is_loading::value) {
    if (n > max)
      throw_corrupt_archive(std::string{what} + ": " + std::to_string(n) + " versions");
    versions.resize(n);
  }
  for (auto& v : versions)
    version_fields(ar, v, layout);
}

} // namespace eddy::ml::detail
