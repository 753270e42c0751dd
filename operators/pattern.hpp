// pattern: the description of a sequence of events to find per key (complex event processing, as
// Flink CEP): stages with conditions, contiguity between them, quantifiers, a time bound and what
// happens after a match.
//
//   using namespace std::chrono_literals;
//   auto p = eddy::pattern<txn>::begin("small", [](const txn& t) { return t.amount < 1.0; })
//                .followed_by("large", [](const txn& t) { return t.amount > 500.0; })
//                .within(1min);
//   auto alerts = txns.key_by([](const txn& t) { return t.card; })
//                     .pattern(p)                                  // see pattern_operator.hpp
//                     .select<alert>([](const eddy::match<txn>& m) {
//                       return alert{m.first("small")->card, m.first("large")->amount};
//                     });
//
// Stages, in order:
//   begin(name, cond)        the first stage
//   next(name, cond)         strict contiguity: the event right after the previous stage's last
//   followed_by(name, cond)  relaxed contiguity ("skip till next match"): events that do not
//                            match are skipped; the first that matches is taken (no branching)
// A condition is `bool(const T&)` or, iterative, `bool(const T&, const eddy::match<T>&)` that also
// sees the events the partial match has taken so far.
//
// Quantifiers apply to the last stage added: `times(n)`, `times(lo, hi)`, `one_or_more()` (loops
// take matching events with relaxed contiguity between them; `consecutive()` makes it strict,
// inside the loop only) and `optional()`. As in Flink's NFA, a partial match that can leave a
// stage without an event (a loop that has its minimum, an optional stage) also waits at the next
// stage ("ignore after proceed"): `a.one_or_more().followed_by(b)` on a1 a2 b3 gives a1 a2 b3,
// a1 b3 and a2 b3 (internal/nfa.hpp has the rule). `within(d)`: a match's last event is less
// than d (event time) after its first; a partial match still open when that bound passes times
// out (see `select` with a timeout function), as in Flink also one that has already matched and
// could have taken more (a loop or an optional stage at the end). `skip(after_match::...)`: what
// a match removes (no_skip by default).
//
// Mistakes in a pattern (no stage, times(0), two stages of one name, optional on the first
// stage, ...) are kept here and reported by job::run() as configuration errors.
//
// Not (yet) as in Flink: no followed_by_any, not_next, not_followed_by, allow_combinations,
// greedy, until, or_where, group patterns, skip_to_next, or a bound between consecutive events.
// When several matches complete at one event they are emitted earliest start first (of one
// start, that of the oldest partial match first: for a loop, the longest) and pruned by the skip
// strategy at once; Flink holds a match back while a partial match that started earlier is
// alive, and orders the matches of one start as its priority queue does.
#pragma once

#include <eddy/actors/messages.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

/// What remains of the other matches after one is found (Flink's AfterMatchSkipStrategy).
struct after_match {
  enum kind_t : uint8_t {
    /// Every match is emitted, overlapping ones too. Default.
    no_skip,
    /// Partial matches that started at or before the match's last event are dropped.
    skip_past_last,
    /// Partial matches that started before the first event of stage `stage` are dropped.
    skip_to_first,
    /// Partial matches that started before the last event of stage `stage` are dropped.
    skip_to_last,
  };
  kind_t kind = no_skip;
  /// The stage of skip_to_first and skip_to_last.
  std::string stage;

  [[nodiscard]] static after_match no_skip_strategy() { return {}; }
  [[nodiscard]] static after_match skip_past_last_event() { return {skip_past_last, {}}; }
  [[nodiscard]] static after_match skip_to_first_of(std::string stage) {
    return {skip_to_first, std::move(stage)};
  }
  [[nodiscard]] static after_match skip_to_last_of(std::string stage) {
    return {skip_to_last, std::move(stage)};
  }
};

/// One event of a (partial) match: its stage, its place in the key's event-time order, its time
/// and the record.
template <class T>
struct match_event {
  /// Index of the stage that took it.
  uint16_t stage = 0;
  /// Position in the key's event-time order (increasing, for the skip strategies).
  uint64_t seq = 0;
  /// Event time.
  timestamp time = 0;
  /// The record.
  T record{};
};

/// A match or a partial match: the events taken so far, per stage. A view, valid during the call
/// of the condition, select or timeout function that receives it.
template <class T>
class match {
public:
  match(const std::vector<std::string>* names, const std::vector<match_event<T>>* events) noexcept
      : names_(names)
      , events_(events) {}

  /// The number of events of stage `name`.
  [[nodiscard]] size_t count(std::string_view name) const {
    auto s = stage_index(name);
    size_t n = 0;
    for (const auto& e : *events_)
      n += e.stage == s;
    return n;
  }

  /// The first event of stage `name`, or nullptr.
  [[nodiscard]] const T* first(std::string_view name) const {
    auto s = stage_index(name);
    for (const auto& e : *events_)
      if (e.stage == s)
        return &e.record;
    return nullptr;
  }

  /// The last event of stage `name`, or nullptr.
  [[nodiscard]] const T* last(std::string_view name) const {
    auto s = stage_index(name);
    for (auto i = events_->rbegin(); i != events_->rend(); ++i)
      if (i->stage == s)
        return &i->record;
    return nullptr;
  }

  /// Calls `f(const T&)` for every event of stage `name`, in order.
  template <class F>
  void for_each(std::string_view name, F&& f) const {
    auto s = stage_index(name);
    for (const auto& e : *events_)
      if (e.stage == s)
        f(std::as_const(e.record));
  }

  /// Copies of the events of stage `name`, in order.
  [[nodiscard]] std::vector<T> events(std::string_view name) const {
    std::vector<T> out;
    for_each(name, [&](const T& x) { out.push_back(x); });
    return out;
  }

  /// Every event, in order, with its stage.
  [[nodiscard]] const std::vector<match_event<T>>& all() const noexcept { return *events_; }

  /// The name of stage `i`.
  [[nodiscard]] const std::string& stage_name(uint16_t i) const { return (*names_)[i]; }

  /// The number of events.
  [[nodiscard]] size_t size() const noexcept { return events_->size(); }

  /// Event time of the first event (min_time when there is none).
  [[nodiscard]] timestamp start_time() const noexcept {
    return events_->empty() ? min_time : events_->front().time;
  }

  /// Event time of the last event (min_time when there is none).
  [[nodiscard]] timestamp end_time() const noexcept {
    return events_->empty() ? min_time : events_->back().time;
  }

private:
  uint16_t stage_index(std::string_view name) const {
    for (size_t i = 0; i < names_->size(); ++i)
      if ((*names_)[i] == name)
        return static_cast<uint16_t>(i);
    return std::numeric_limits<uint16_t>::max();
  }

  /// Stage names, by index.
  const std::vector<std::string>* names_;
  /// The events.
  const std::vector<match_event<T>>* events_;
};

/// One stage of a pattern.
template <class T>
struct pattern_stage {
  /// Unique within the pattern.
  std::string name;
  /// Whether an event takes this stage; sees the partial match so far.
  std::function<bool(const T&, const match<T>&)> condition;
  /// Strict contiguity with the previous stage (next) or relaxed (followed_by).
  bool strict = false;
  /// Strict contiguity between the events of a loop (consecutive()).
  bool strict_loop = false;
  /// Events this stage takes: at least `lo`, at most `hi`.
  uint32_t lo = 1;
  uint32_t hi = 1;
  /// The stage may take no event at all.
  bool optional = false;
  /// The condition reads the partial match (an iterative condition).
  bool iterative = false;
};

/// The description of a pattern over records of type `T`: immutable once built, shared by every
/// instance of the operator.
template <class T>
class pattern {
public:
  /// No limit on a loop's events (one_or_more).
  static constexpr uint32_t unbounded = std::numeric_limits<uint32_t>::max();

  /// An empty pattern (a mistake, reported when used): start with `begin`.
  pattern() = default;

  /// A pattern whose first stage `name` takes events satisfying `cond`.
  template <class Cond>
  [[nodiscard]] static pattern begin(std::string name, Cond cond) {
    pattern p;
    p.add(std::move(name), std::move(cond), false, "begin");
    return p;
  }

  /// Then stage `name`, on the event right after the previous stage's last (strict contiguity).
  template <class Cond>
  [[nodiscard]] pattern next(std::string name, Cond cond) const {
    auto p = *this;
    p.add(std::move(name), std::move(cond), true, "next");
    return p;
  }

  /// Then stage `name`, on the first later event satisfying `cond` (relaxed contiguity).
  template <class Cond>
  [[nodiscard]] pattern followed_by(std::string name, Cond cond) const {
    auto p = *this;
    p.add(std::move(name), std::move(cond), false, "followed_by");
    return p;
  }

  /// The last stage takes exactly `n` events.
  [[nodiscard]] pattern times(uint32_t n) const { return times(n, n); }

  /// The last stage takes from `lo` to `hi` events.
  [[nodiscard]] pattern times(uint32_t lo, uint32_t hi) const {
    auto p = *this;
    if (auto* s = p.last("times")) {
      if (lo == 0 || hi < lo)
        p.mistakes_.push_back("pattern: times(" + std::to_string(lo) + ", " + std::to_string(hi) +
                              ") on stage '" + s->name +
                              "' must take at least one event and lo <= hi; use optional() for "
                              "a stage that may take none");
      s->lo = lo;
      s->hi = hi;
    }
    return p;
  }

  /// The last stage takes one or more events.
  [[nodiscard]] pattern one_or_more() const { return times(1, unbounded); }

  /// The last stage may take no event.
  [[nodiscard]] pattern optional() const {
    auto p = *this;
    if (auto* s = p.last("optional")) {
      s->optional = true;
      if (p.stages_.size() == 1)
        p.mistakes_.push_back("pattern: optional() on the first stage '" + s->name +
                              "' is not supported: begin with a stage that takes an event");
    }
    return p;
  }

  /// The events of the last stage's loop must follow each other (strict contiguity).
  [[nodiscard]] pattern consecutive() const {
    auto p = *this;
    if (auto* s = p.last("consecutive"))
      s->strict_loop = true;
    return p;
  }

  /// A match's last event is less than `d` of event time after its first.
  [[nodiscard]] pattern within(std::chrono::milliseconds d) const {
    auto p = *this;
    if (d.count() <= 0)
      p.mistakes_.push_back("pattern: within(" + std::to_string(d.count()) +
                            " ms) must be positive, e.g. within(std::chrono::minutes{1})");
    p.within_ = d.count();
    return p;
  }

  /// What a match removes of the other (partial) matches. Default: after_match::no_skip.
  [[nodiscard]] pattern skip(after_match s) const {
    auto p = *this;
    p.skip_ = std::move(s);
    return p;
  }

  // -- properties -----------------------------------------------------------------------------

  [[nodiscard]] const std::vector<pattern_stage<T>>& stages() const noexcept { return stages_; }

  /// The time bound in ms, or 0 for none.
  [[nodiscard]] int64_t within_ms() const noexcept { return within_; }

  [[nodiscard]] const after_match& skip_strategy() const noexcept { return skip_; }

  /// Every mistake in the pattern, each a sentence saying how to fix it (empty when none).
  [[nodiscard]] std::vector<std::string> mistakes() const {
    auto out = mistakes_;
    if (stages_.empty())
      out.push_back("pattern: the pattern has no stage; start it with "
                    "eddy::pattern<T>::begin(name, condition)");
    if (stages_.size() > 1000)
      out.push_back("pattern: more than 1000 stages");
    if (skip_.kind == after_match::skip_to_first || skip_.kind == after_match::skip_to_last) {
      bool found = false;
      for (const auto& s : stages_)
        found = found || s.name == skip_.stage;
      if (!found)
        out.push_back("pattern: the skip strategy names stage '" + skip_.stage +
                      "', which the pattern does not have; name one of its stages");
    }
    return out;
  }

private:
  template <class Cond>
  void add(std::string name, Cond cond, bool strict, const char* what) {
    constexpr bool plain = std::is_invocable_r_v<bool, const Cond&, const T&>;
    constexpr bool iterative = std::is_invocable_r_v<bool, const Cond&, const T&, const match<T>&>;
    static_assert(plain || iterative,
                  "pattern: a condition must be bool(const T&) or bool(const T&, const "
                  "eddy::match<T>&) (an iterative condition)");
    if (what != std::string_view{"begin"} && stages_.empty())
      mistakes_.push_back(std::string{"pattern: "} + what +
                          " on an empty pattern; start it with eddy::pattern<T>::begin");
    if (name.empty())
      mistakes_.push_back(std::string{"pattern: "} + what + " has an empty stage name; name it");
    for (const auto& s : stages_)
      if (s.name == name)
        mistakes_.push_back("pattern: two stages are named '" + name + "'; name them apart");
    pattern_stage<T> s;
    s.name = std::move(name);
    s.strict = strict;
    s.iterative = iterative;
    if constexpr (iterative)
      s.condition = std::move(cond);
    else
      s.condition = [c = std::move(cond)](const T& x, const match<T>&) { return c(x); };
    stages_.push_back(std::move(s));
  }

  pattern_stage<T>* last(const char* what) {
    if (!stages_.empty())
      return &stages_.back();
    mistakes_.push_back(std::string{"pattern: "} + what +
                        "() on an empty pattern; start it with eddy::pattern<T>::begin");
    return nullptr;
  }

  /// The stages, in order.
  std::vector<pattern_stage<T>> stages_;
  /// The time bound in ms (0: none).
  int64_t within_ = 0;
  /// The after-match skip strategy.
  after_match skip_;
  /// Mistakes found while building.
  std::vector<std::string> mistakes_;
};

} // namespace eddy
