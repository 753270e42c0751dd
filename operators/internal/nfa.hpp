// The NFA behind the pattern operator: advances the partial matches (runs) of one key by one
// event at a time, in event-time order, and times them out. Pure C++: no actors, no state
// backend; the pattern operator keeps `nfa_state` in keyed state (its codec is below).
//
//   internal::nfa<txn> machine{p};                  // compiled once from an eddy::pattern<txn>
//   internal::nfa_state<txn> runs;                  // per key
//   machine.advance(runs, x, time, callbacks);      // for each event, in event-time order
//   machine.expire(runs, watermark, callbacks);     // what can no longer complete in time
//
// A run is a partial match: the stage that took its last event, how many events that stage has
// taken, whether an event was skipped since, and its events. On an event a run tries each of its
// transitions: its own stage again (a loop below its maximum), and once its stage has its
// minimum, the next stage (and past it, while the stages are optional). Each transition that
// takes the event makes a new run; a run that took the event by any transition is consumed
// ("skip till next match"); one that took nothing stays, marked as having skipped an event, when
// one of its transitions has relaxed contiguity, and dies otherwise. Strict transitions are
// closed to a run that has skipped an event. Every event may also start a run at the first
// stage. A run whose stage has its minimum and whose later stages are all optional is a match.
#pragma once

#include <eddy/operators/pattern.hpp>
#include <eddy/state/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace eddy::internal {

/// A partial match.
template <class T>
struct nfa_run {
  /// The stage that took the last event.
  uint16_t stage = 0;
  /// Events that stage has taken.
  uint32_t count = 0;
  /// An event was skipped since the last one taken (strict transitions are closed).
  bool skipped = false;
  /// Sequence number and event time of the first event.
  uint64_t start_seq = 0;
  timestamp start_time = 0;
  /// The events taken, in order.
  std::vector<match_event<T>> events;
};

/// The partial matches of one key.
template <class T>
struct nfa_state {
  /// The sequence number of the key's next event.
  uint64_t next_seq = 0;
  /// The partial matches, oldest first.
  std::vector<nfa_run<T>> runs;
};

/// The compiled pattern: immutable, shared by the operator's instances.
template <class T>
class nfa {
public:
  explicit nfa(const pattern<T>& p)
      : stages_(p.stages())
      , within_(p.within_ms())
      , skip_(p.skip_strategy().kind) {
    for (const auto& s : stages_)
      names_.push_back(s.name);
    for (size_t i = 0; i < stages_.size(); ++i)
      if (stages_[i].name == p.skip_strategy().stage)
        skip_stage_ = static_cast<uint16_t>(i);
    // complete_[i]: every stage after i is optional.
    complete_.assign(stages_.size(), true);
    for (size_t i = stages_.size(); i-- > 1;)
      complete_[i - 1] = complete_[i] && stages_[i].optional;
    for (size_t i = 0; i < stages_.size(); ++i)
      ignorable_ = ignorable_ && !stages_[i].iterative && !stages_[i].strict_loop &&
                   (i == 0 || !stages_[i].strict);
  }

  /// True when `x` cannot change any partial match: no condition is iterative, no contiguity
  /// strict, and `x` satisfies no condition. Every run would skip it and none would start with
  /// it; timeouts follow the watermark. Such records need not be buffered. A condition that
  /// throws makes the record relevant (the throw is reported when the record is processed).
  [[nodiscard]] bool irrelevant(const T& x) const {
    if (!ignorable_)
      return false;
    match<T> none{&names_, &no_events_};
    for (const auto& s : stages_) {
      try {
        if (s.condition(x, none))
          return false;
      } catch (...) {
        return false;
      }
    }
    return true;
  }

  /// A view of `r` as a match.
  [[nodiscard]] match<T> view(const nfa_run<T>& r) const { return match<T>{&names_, &r.events}; }

  /// The time bound in ms (0: none).
  [[nodiscard]] int64_t within() const noexcept { return within_; }

  /// The last event time at which `r` can still take an event (max_time without a bound).
  [[nodiscard]] timestamp deadline(const nfa_run<T>& r) const noexcept {
    return within_ == 0 ? max_time : r.start_time + within_ - 1;
  }

  /// Advances the runs of `s` by event `x` at `time` (events come in event-time order). Calls
  /// `cb.timed_out(run)` for runs the event is too late for, `cb.matched(run)` for matches (after
  /// the skip strategy), `cb.condition_failed(what)` once when a condition throws (it then counts
  /// as false) and `cb.overflow(dropped)` when more than `max_runs` runs remain (the most
  /// recently started are dropped).
  template <class Callbacks>
  void advance(nfa_state<T>& s, const T& x, timestamp time, size_t max_runs, Callbacks& cb) {
    if (stages_.empty())
      return;
    auto seq = s.next_seq++;
    if (within_ > 0)
      drop_if(s.runs, [&](const nfa_run<T>& r) {
        if (time <= deadline(r))
          return false;
        cb.timed_out(r);
        return true;
      });
    next_.clear();
    done_.clear();
    bool reported = false;
    auto test = [&](uint16_t j, const std::vector<match_event<T>>& events) {
      try {
        return stages_[j].condition(x, match<T>{&names_, &events});
      } catch (const std::exception& e) {
        if (!reported)
          cb.condition_failed(std::string{"pattern condition of stage '"} + names_[j] +
                              "' threw: " + e.what());
      } catch (...) {
        if (!reported)
          cb.condition_failed("pattern condition of stage '" + names_[j] + "' threw");
      }
      reported = true;
      return false;
    };
    for (auto& r : s.runs) {
      bool took = false;
      bool relaxed = false;
      for_each_transition(r, [&](uint16_t j, bool strict) {
        relaxed = relaxed || !strict;
        if ((strict && r.skipped) || !test(j, r.events))
          return;
        took = true;
        nfa_run<T> n;
        n.stage = j;
        n.count = j == r.stage ? r.count + 1 : 1;
        n.start_seq = r.start_seq;
        n.start_time = r.start_time;
        n.events.reserve(r.events.size() + 1);
        n.events = r.events;
        n.events.push_back(match_event<T>{j, seq, time, x});
        place(std::move(n));
      });
      if (!took && relaxed) {
        r.skipped = true;
        next_.push_back(std::move(r));
      }
    }
    if (test(0, no_events_)) {
      nfa_run<T> n;
      n.stage = 0;
      n.count = 1;
      n.start_seq = seq;
      n.start_time = time;
      n.events.push_back(match_event<T>{0, seq, time, x});
      place(std::move(n));
    }
    emit_matches(cb);
    std::swap(s.runs, next_);
    if (s.runs.size() > max_runs) {
      std::stable_sort(s.runs.begin(), s.runs.end(),
                       [](const auto& a, const auto& b) { return a.start_seq < b.start_seq; });
      auto dropped = s.runs.size() - max_runs;
      s.runs.resize(max_runs);
      cb.overflow(dropped);
    }
  }

  /// Times out the runs of `s` that no event after watermark `wm` can extend.
  template <class Callbacks>
  void expire(nfa_state<T>& s, timestamp wm, Callbacks& cb) const {
    if (within_ > 0)
      drop_if(s.runs, [&](const nfa_run<T>& r) {
        if (deadline(r) > wm)
          return false;
        cb.timed_out(r);
        return true;
      });
  }

private:
  /// Calls `f(stage, strict)` for each transition of `r`.
  template <class F>
  void for_each_transition(const nfa_run<T>& r, F&& f) const {
    const auto& s = stages_[r.stage];
    if (r.count < s.hi)
      f(r.stage, s.strict_loop);
    if (r.count >= s.lo)
      for (size_t j = size_t{r.stage} + 1; j < stages_.size(); ++j) {
        f(static_cast<uint16_t>(j), stages_[j].strict);
        if (!stages_[j].optional)
          break;
      }
  }

  /// Keeps `n` as a run if it can go on, and as a match if it is one.
  void place(nfa_run<T>&& n) {
    const auto& s = stages_[n.stage];
    bool complete = n.count >= s.lo && complete_[n.stage];
    bool alive = n.count < s.hi || size_t{n.stage} + 1 < stages_.size();
    if (complete && alive)
      done_.push_back(n);
    else if (complete)
      done_.push_back(std::move(n));
    if (alive)
      next_.push_back(std::move(n));
  }

  /// Emits this event's matches, earliest start first when a skip strategy prunes.
  template <class Callbacks>
  void emit_matches(Callbacks& cb) {
    if (skip_ == after_match::no_skip) {
      for (const auto& m : done_)
        cb.matched(m);
      return;
    }
    std::stable_sort(done_.begin(), done_.end(),
                     [](const auto& a, const auto& b) { return a.start_seq < b.start_seq; });
    std::vector<bool> pruned(done_.size(), false);
    for (size_t i = 0; i < done_.size(); ++i) {
      if (pruned[i])
        continue;
      cb.matched(done_[i]);
      uint64_t p = 0;
      bool inclusive = skip_ == after_match::skip_past_last;
      if (inclusive) {
        p = done_[i].events.back().seq;
      } else {
        bool found = false;
        for (const auto& e : done_[i].events)
          if (e.stage == skip_stage_) {
            if (!found || skip_ == after_match::skip_to_last)
              p = e.seq;
            found = true;
          }
        if (!found)
          continue; // the stage took no event (optional): nothing to skip to
      }
      auto prune = [&](const nfa_run<T>& r) {
        return inclusive ? r.start_seq <= p : r.start_seq < p;
      };
      for (size_t j = i + 1; j < done_.size(); ++j)
        pruned[j] = pruned[j] || prune(done_[j]);
      drop_if(next_, prune);
    }
  }

  template <class Pred>
  static void drop_if(std::vector<nfa_run<T>>& runs, Pred&& pred) {
    runs.erase(std::remove_if(runs.begin(), runs.end(), pred), runs.end());
  }

  /// The stages.
  std::vector<pattern_stage<T>> stages_;
  /// Their names, by index.
  std::vector<std::string> names_;
  /// complete_[i]: a run at stage i with its minimum is a match.
  std::vector<bool> complete_;
  /// The time bound in ms (0: none).
  int64_t within_;
  /// The skip strategy and its stage.
  after_match::kind_t skip_;
  uint16_t skip_stage_ = UINT16_MAX;
  /// Records that satisfy no condition can be left out (see irrelevant).
  bool ignorable_ = true;
  /// Scratch: the runs after the current event, its matches, the empty partial match.
  std::vector<nfa_run<T>> next_;
  std::vector<nfa_run<T>> done_;
  std::vector<match_event<T>> no_events_;
};

} // namespace eddy::internal

namespace eddy::state {

/// A match event: stage, sequence number, time, then the record's own encoding.
template <class T>
struct codec<eddy::match_event<T>> {
  static void write(byte_writer& out, const eddy::match_event<T>& x) {
    out.write_raw(x.stage);
    out.write_raw(x.seq);
    out.write_raw(x.time);
    codec<T>::write(out, x.record);
  }
  [[nodiscard]] static bool read(byte_reader& in, eddy::match_event<T>& x) {
    return in.read_raw(x.stage) && in.read_raw(x.seq) && in.read_raw(x.time) &&
           codec<T>::read(in, x.record);
  }
};

/// A partial match: stage, count, skipped, start, then its events.
template <class T>
struct codec<eddy::internal::nfa_run<T>> {
  static void write(byte_writer& out, const eddy::internal::nfa_run<T>& x) {
    out.write_raw(x.stage);
    out.write_raw(x.count);
    codec<bool>::write(out, x.skipped);
    out.write_raw(x.start_seq);
    out.write_raw(x.start_time);
    // Element by element (never one memcpy of the vector, which would copy padding bytes).
    out.write_raw(static_cast<uint32_t>(x.events.size()));
    for (const auto& e : x.events)
      codec<eddy::match_event<T>>::write(out, e);
  }
  [[nodiscard]] static bool read(byte_reader& in, eddy::internal::nfa_run<T>& x) {
    uint32_t n = 0;
    if (!in.read_raw(x.stage) || !in.read_raw(x.count) || !codec<bool>::read(in, x.skipped) ||
        !in.read_raw(x.start_seq) || !in.read_raw(x.start_time) || !in.read_raw(n) ||
        n > in.remaining())
      return false;
    x.events.resize(n);
    for (auto& e : x.events)
      if (!codec<eddy::match_event<T>>::read(in, e))
        return false;
    return true;
  }
};

/// The partial matches of a key: the next sequence number, then the runs.
template <class T>
struct codec<eddy::internal::nfa_state<T>> {
  static void write(byte_writer& out, const eddy::internal::nfa_state<T>& x) {
    out.write_raw(x.next_seq);
    codec<std::vector<eddy::internal::nfa_run<T>>>::write(out, x.runs);
  }
  [[nodiscard]] static bool read(byte_reader& in, eddy::internal::nfa_state<T>& x) {
    return in.read_raw(x.next_seq) &&
           codec<std::vector<eddy::internal::nfa_run<T>>>::read(in, x.runs);
  }
};

} // namespace eddy::state
