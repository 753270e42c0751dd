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

} // namespace eddy::ml::detail
