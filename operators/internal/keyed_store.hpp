// What the keyed operators (keyed process, windows) share about their keyed state: opening the
// instance's store for its key groups, and failing the task, with a sentence, when the store
// refuses a key or its backend failed (RocksDB reports I/O errors after the fact).
#pragma once

#include <eddy/actors/atoms.hpp>
#include <eddy/actors/task.hpp>
#include <eddy/operators/internal/graph.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/state/key_group_range.hpp>
#include <eddy/state/key_hash.hpp>
#include <eddy/state/keyed_state_store.hpp>
#include <eddy/state/timer_service.hpp>

#include <algorithm>
#include <chrono>
#include <functional>

#include <stdexcept>
#include <string>
#include <utility>

namespace eddy::internal {

/// Opens the keyed state of task `t`: the key groups it owns, in the job's state backend.
/// Throws (the task then fails to start, with the reason) when the backend cannot open.
template <class K>
state::keyed_state_store<K> open_keyed_store(task& t, const instance_wiring& w) {
  auto kgs = t.channels().key_groups;
  auto range = state::key_group_range::of(t.instance(), t.parallelism(), kgs);
  auto store = state::make_keyed_state_store<K>(w.state_backend, range, kgs);
  if (!store)
    throw std::runtime_error("cannot open its keyed state: " + describe(store.error()));
  return std::move(*store);
}

/// The handle of a state just declared; throws with the reason when the declaration failed.
template <class Handle>
Handle declared(caf::expected<Handle> h) {
  if (!h)
    throw std::runtime_error("cannot declare its keyed state: " + describe(h.error()));
  return std::move(*h);
}

/// Makes `key` (of key group `kg`, key hash `hash`) current; fails the task when the key group is
/// not its own, which only a wrongly wired job can cause: its state would otherwise be dropped.
template <class K>
bool make_current(task& t, state::keyed_state_store<K>& store, const K& key, uint64_t hash,
                  uint32_t kg) {
  if (store.set_current_key(key, hash, kg))
    return true;
  t.fail("operator " + t.origin() + " received key " + render(key) + " of key group " +
         std::to_string(kg) + ", which it does not own: the topology was wired inconsistently");
  return false;
}

/// The same, hashing the key.
template <class K>
bool make_current(task& t, state::keyed_state_store<K>& store, const K& key, uint32_t kg) {
  return make_current(t, store, key, state::key_hash<K>{}(key), kg);
}

/// Schedules a wake-up (`timer_atom`) of task `t` for the earliest processing-time timer of
/// `timers` on `clock`, unless one is pending (`armed`, which the wake-up handler clears).
template <class K>
void arm_processing_wake(task& t, const state::timer_service<K>& timers,
                         const std::function<int64_t()>& clock, bool& armed) {
  auto* next = timers.next(state::time_domain::processing);
  if (!next || armed)
    return;
  armed = true;
  auto delay = std::max<int64_t>(0, next->time - clock());
  t.delayed_send(&t, std::chrono::milliseconds{delay}, timer_atom::value);
}

/// Fails the task when the state backend reported an error (a full disk, an I/O error), so
/// nothing is lost silently. Returns false then.
template <class K>
bool backend_ok(task& t, const state::keyed_state_store<K>& store) {
  if (auto err = store.backend_error()) {
    t.fail("operator " + t.origin() + " lost its state backend: " + describe(err));
    return false;
  }
  return true;
}

} // namespace eddy::internal
