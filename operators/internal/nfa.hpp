// The NFA behind the pattern operator: advances the partial matches (runs) of one key by one
// event at a time, in event-time order, and times them out. Pure C++: no actors, no state
// backend; the pattern operator keeps `nfa_state` in keyed state (its codec is below).
//
//   internal::nfa<txn> machine{p};                  // compiled once from an eddy::pattern<txn>
//   internal::nfa_state<txn> runs;                  // per key
//   machine.advance(runs, x, time, callbacks);      // for each event, in event-time order
//   machine.expire(runs, watermark, callbacks);     // what can no longer complete in time
//
// It is Flink's NFA (NFACompiler, NFA.computeNextStates) with its states named by stage and
// count. A run is a partial match: the stage it is in, how many events that stage has taken (0:
// it waits for the stage's first event), whether it has ignored an event since, and its events.
// A run can leave its stage without an event (Flink's PROCEED) when the stage has its minimum and
// room for more (a loop: times(lo, hi), one_or_more) or, waiting for its first event, is
// optional; not once it has ignored an event there (Flink's ignore states have no PROCEED edge).
// On an event a run acts from its own stage and then, while it can leave, from the entry of each
// next stage, in that order; in each the event is
//   - taken when it satisfies the stage's condition: a new run, one event longer, which moves on
//     to the next stage's entry once its stage has its maximum;
//   - else ignored when contiguity there is relaxed (followed_by for a stage's first event, no
//     consecutive() between a loop's events): in its own stage the run stays, marked as having
//     ignored; at a next stage's entry it makes a new run waiting there, with the same events
//     (Flink's IGNORE after PROCEED).
// A run that neither takes nor ignores in its own stage ends: the event took it elsewhere or
// broke a strict contiguity. So `a.one_or_more().followed_by(b)` on a1 a2 b3 matches a1 a2 b3,
// a1 b3 (at a2, a1 also waits for b) and a2 b3; a loop ignores only what fails its own
// condition, so after a1 b2 the run a1 still waits for more a's; times(n) leaves its stage only
// by its n-th event and gains no branch. Every event may also start a run at the first stage. A
// run that took an event is a match when it can reach the end without another (its stage has its
// minimum and every later stage is optional), and goes on while a stage can take more. As in
// Flink, every run that outlives its `within` bound times out: also one that already matched (a
// loop or an optional stage at the end), and each of two branches with the same events.
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
  /// The stage it is in.
  uint16_t stage = 0;
  /// Events that stage has taken, below its maximum (0: it waits for the stage's first event).
  uint32_t count = 0;
  /// It ignored an event in its stage since it came there: it cannot leave the stage without
  /// taking an event.
  bool ignored = false;
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
    // optional_from_[i]: every stage from i on is optional (true past the last stage).
    optional_from_.assign(stages_.size() + 1, true);
    for (size_t i = stages_.size(); i-- > 0;)
      optional_from_[i] = optional_from_[i + 1] && stages_[i].optional;
    // An event that satisfies no condition makes every run ignore it and stay as it is, unless a
    // run ends (strict contiguity), reads it (iterative) or branches to wait at a next stage (a
    // stage before the last that can be left without an event).
    for (size_t i = 0; i < stages_.size(); ++i) {
      const auto& s = stages_[i];
      bool last = i + 1 == stages_.size();
      ignorable_ = ignorable_ && !s.iterative && !s.strict_loop && (i == 0 || !s.strict) &&
                   (last || (!s.optional && s.lo == s.hi));
    }
  }

  /// True when `x` cannot change any partial match: no condition is iterative, no contiguity
  /// strict, no stage but the last can be left without an event (optional, or a loop with a
  /// range), and `x` satisfies no condition. Every run would ignore it and stay as it is, and
  /// none would start with it; timeouts follow the watermark. Such records need not be buffered.
  /// A condition that throws makes the record relevant (the throw is reported when the record is
  /// processed).
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
    // The runs stay in order of their first event, and those of one first event in the order
    // Flink makes them: what a run's own stage takes or ignores, then each next stage's.
    for (auto& r : s.runs) {
      if (!upgraded(r))
        continue;
      auto j = r.stage;
      auto k = r.count;
      bool leaves = !r.ignored && can_leave(j, k);
      size_t stays = npos; // where the run goes if its own stage ignores the event
      for (bool own = true;; own = false) {
        if (test(j, r.events)) {
          place(taken(r.events, r.start_seq, r.start_time, j, k, seq, time, x));
        } else if (k == 0 ? !stages_[j].strict : !stages_[j].strict_loop) {
          if (own) {
            stays = next_.size();
            next_.emplace_back();
          } else {
            next_.push_back(waiting(r, j)); // ignore after proceed
          }
        }
        if (!leaves || size_t{++j} == stages_.size())
          break;
        k = 0;
        leaves = stages_[j].optional;
      }
      if (stays != npos) {
        r.ignored = true;
        next_[stays] = std::move(r);
      }
    }
    if (test(0, no_events_))
      place(taken(no_events_, seq, time, 0, 0, seq, time, x));
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
  static constexpr size_t npos = static_cast<size_t>(-1);

  /// Whether a run in stage `j` with `k` of its events can leave it without an event (Flink's
  /// PROCEED): a loop from its minimum on (below its maximum, as every run is), a stage waiting
  /// for its first event when it is optional.
  [[nodiscard]] bool can_leave(uint16_t j, uint32_t k) const noexcept {
    return k == 0 ? stages_[j].optional : k >= stages_[j].lo;
  }

  /// Makes a run stored by an older version, which stayed in a stage at its maximum while it
  /// waited for the next (its flag then closing strict stages to it), wait at the next stage's
  /// entry, past the strict optional stages closed to it. False when nothing is left of it.
  [[nodiscard]] bool upgraded(nfa_run<T>& r) const noexcept {
    if (r.stage >= stages_.size())
      return false;
    if (r.count == 0 || r.count < stages_[r.stage].hi)
      return true;
    do
      ++r.stage;
    while (r.ignored && r.stage < stages_.size() && stages_[r.stage].strict &&
           stages_[r.stage].optional);
    r.count = 0;
    r.ignored = false;
    return r.stage < stages_.size();
  }

  /// The run of `events` (first event `start_seq` at `start_time`) with `x` taken by stage `j`,
  /// which had `k` of them; in the next stage's entry once stage `j` has its maximum.
  [[nodiscard]] nfa_run<T> taken(const std::vector<match_event<T>>& events, uint64_t start_seq,
                                 timestamp start_time, uint16_t j, uint32_t k, uint64_t seq,
                                 timestamp time, const T& x) const {
    nfa_run<T> n;
    n.stage = j;
    n.count = k + 1;
    if (n.count == stages_[j].hi) {
      n.stage = static_cast<uint16_t>(j + 1);
      n.count = 0;
    }
    n.start_seq = start_seq;
    n.start_time = start_time;
    n.events.reserve(events.size() + 1);
    n.events = events;
    n.events.push_back(match_event<T>{j, seq, time, x});
    return n;
  }

  /// A copy of `r` waiting for the first event of stage `j`, having ignored the current one.
  [[nodiscard]] static nfa_run<T> waiting(const nfa_run<T>& r, uint16_t j) {
    nfa_run<T> n;
    n.stage = j;
    n.count = 0;
    n.ignored = true;
    n.start_seq = r.start_seq;
    n.start_time = r.start_time;
    n.events = r.events;
    return n;
  }

  /// Keeps `n` as a run if it can go on, and as a match if it can reach the end without another
  /// event.
  void place(nfa_run<T>&& n) {
    bool alive = n.stage < stages_.size();
    bool complete = n.count == 0 ? optional_from_[n.stage]
                                 : n.count >= stages_[n.stage].lo && optional_from_[n.stage + 1];
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
  /// optional_from_[i]: every stage from i on is optional (true for i = the number of stages).
  std::vector<bool> optional_from_;
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

/// A partial match: stage, count, ignored, start, then its events.
template <class T>
struct codec<eddy::internal::nfa_run<T>> {
  static void write(byte_writer& out, const eddy::internal::nfa_run<T>& x) {
    out.write_raw(x.stage);
    out.write_raw(x.count);
    codec<bool>::write(out, x.ignored);
    out.write_raw(x.start_seq);
    out.write_raw(x.start_time);
    // Element by element (never one memcpy of the vector, which would copy padding bytes).
    out.write_raw(static_cast<uint32_t>(x.events.size()));
    for (const auto& e : x.events)
      codec<eddy::match_event<T>>::write(out, e);
  }
  [[nodiscard]] static bool read(byte_reader& in, eddy::internal::nfa_run<T>& x) {
    uint32_t n = 0;
    if (!in.read_raw(x.stage) || !in.read_raw(x.count) || !codec<bool>::read(in, x.ignored) ||
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
