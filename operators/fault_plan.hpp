// Faults a job injects into itself, reproducibly: a product feature for testing one's own job
// under failures, built on the same supervisors that recover from real ones.
//
//   eddy::fault_plan faults;
//   faults.crashes.push_back({"windows", 1, 50'000});   // windows#1 dies after 50,000 records
//   faults.kill_every = std::chrono::milliseconds{100};  // and a random task every 100 ms,
//   faults.kill_count = 20;                              // 20 times
//   faults.seed = 42;                                    // the same seed, the same faults
//   eddy::job job{eddy::job_config{}.with_checkpoints(dir).with_faults(faults)};
//   auto report = job.run();          // report->faults: what was injected; ->recoveries
//
// The same plan as text, for a command line (`parse_fault_plan`, and back with `to_string`):
//
//   crash:windows#1@after=50000; kill:random@every=100ms,count=20; seed=42
//
// Items are separated by `;` (or `,`): `crash:<op>#<instance>@after=<records>` (`#0` when the
// instance is left out; `,times=<n>` crashes its replacements too, n incarnations in all), and the
// same crash at another moment: `@checkpoint=<id>` (right after the task took its snapshot of
// that checkpoint, or of the first later one when a recovery skipped it, while the file is
// written), `@restore` (its next replacement, while it
// restores its state) or `@end` (once its input has ended, before its final results);
// `kill:random@every=<duration>,count=<n>` (durations in ns, us, ms, s, min or h: `250ms`, `2s`;
// `,together=<n>` kills n tasks at the same instant each time; `kill:<op>@every=...` chooses among
// that operator's instances only),
// `kill:<op>#<instance>@at=<duration>` (that task killed from outside that long after the job
// started), `throw:<op>#<instance>@record=<n>` (its user function throws on the n-th record the
// instance takes, in every incarnation; the operator's error policy decides what follows),
// `fail:snapshot@checkpoint=<id>` (a snapshot write of that checkpoint fails), `corrupt:snapshot`
// and `truncate:snapshot` (the next recovery finds a snapshot file of the checkpoint it goes back
// to with a byte flipped, or cut to half; repeat the item for later recoveries),
// `delay:<op>@max=<duration>` (what the operator sends, `all` for every operator, is held back by
// up to that long at random, each channel in order), `halt:job@checkpoint=<id>` (the whole job
// stops dead once that checkpoint completed, before anything commits it: a process dying there;
// a job started from that checkpoint carries on) and `seed=<n>`.
// Numbers may be grouped with `_` (`50_000`). Whitespace around items and parameters is ignored;
// operator names cannot contain `#@;,:`.
#pragma once

#include <eddy/operators/errc.hpp>

#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eddy {

/// Faults a job injects into itself, reproducibly: the same plan and seed inject the same
/// faults. Each fault is listed in `job_report::faults`.
struct fault_plan {
  /// Instance `instance` of operator `op` crashes (stops as if its process died) once it has
  /// taken `after_records` records (a source: emitted them), or at the moment `when` says.
  struct crash {
    /// When a crash fires.
    enum when_t : uint8_t {
      /// Once the task has taken `after_records` records.
      after,
      /// Right after the task took its snapshot of checkpoint `checkpoint` (or of the first later
      /// one it takes, when a recovery skipped it), before it passes the barrier on: while the
      /// snapshot file is written.
      at_checkpoint,
      /// While the task's next replacement restores its state (its first restore attempt).
      on_restore,
      /// Once every input of the task has ended (a source: it is exhausted), before its final
      /// results and the end of its output.
      at_end,
    };
    std::string op;
    uint32_t instance = 0;
    uint64_t after_records = 0;
    /// How many incarnations crash: with 2 the replacement crashes too, after as many records
    /// (counted from its start, what it is sent again included). Default: 1.
    uint32_t times = 1;
    when_t when = after;
    /// With `at_checkpoint`: the checkpoint's id.
    int64_t checkpoint = 0;
  };
  /// Crashes by record count.
  std::vector<crash> crashes;
  /// Every `kill_every` the coordinator kills one running task chosen at random (seeded), up to
  /// `kill_count` times. 0: never. Default: 0.
  caf::timespan kill_every{0};
  /// How many timed kills. Default: 0.
  size_t kill_count = 0;
  /// The operator whose instances the timed kills choose from; empty: every task. Default: empty.
  std::string kill_among;
  /// Instance `instance` of operator `op` is killed from outside `at` after the job started
  /// (later, when the job is recovering then; not at all when the instance has finished).
  struct kill {
    std::string op;
    uint32_t instance = 0;
    caf::timespan at{0};
  };
  /// Kills of named tasks.
  std::vector<kill> kills;
  /// The user function of instance `instance` of operator `op` throws on the `record`-th record
  /// (from 1) the instance takes, counted over all its inputs from the job's start: the same
  /// record in every incarnation, as a bug that one input triggers. The operator's error policy
  /// decides what follows: a dead letter (`error_policy::dead_letter`, the default), or a failure
  /// that is recovered until `checkpoints.poison_after` failures make the record a poison record.
  struct user_throw {
    std::string op;
    uint32_t instance = 0;
    uint64_t record = 0;
  };
  /// Throwing user functions.
  std::vector<user_throw> throws;
  /// Tasks killed together at each timed kill (distinct ones, at the same instant: a node that
  /// crashes takes several actors with it). Default: 1.
  size_t kill_together = 1;
  /// A fault of the checkpoint files.
  struct snapshot_fault {
    enum kind_t : uint8_t {
      /// A snapshot write of checkpoint `checkpoint` fails: the checkpoint is abandoned.
      fail_write,
      /// The next recovery finds one snapshot file (chosen by the seed) of the checkpoint it goes
      /// back to with a byte flipped: it is detected, and the job goes back further.
      corrupt,
      /// As `corrupt`, the file cut to half its length.
      truncate,
    };
    kind_t kind = corrupt;
    /// With fail_write: the checkpoint whose writes fail.
    int64_t checkpoint = 0;
  };
  /// Faults of the checkpoint files, in order (the damage faults hit one recovery each).
  std::vector<snapshot_fault> snapshot_faults;
  /// Seeds the choice of tasks and files and the restart jitter. Default: 1.
  uint64_t seed = 1;

  /// True when the plan injects nothing.
  /// Every message operator `op` sends (`all`: every operator) is held back by a random time up
  /// to `max` (seeded), each channel keeping its order: messages of different channels reach a
  /// receiver in another order than they were sent, which the semantics allow, and watermarks,
  /// barriers and credits come late.
  struct delay {
    std::string op;
    caf::timespan max{0};
  };
  /// Delays, by operator.
  std::vector<delay> delays;
  /// The whole job stops dead right after checkpoint `halt_after_checkpoint` (or the first later
  /// one, when that one was abandoned) completed, before
  /// any sink commits it and before any task hears of it, as when its process dies there: `run()`
  /// returns an error naming the checkpoint, from which a new job carries on
  /// (`job_config::from_savepoint`). For testing exactly-once output across process deaths.
  /// 0: never. Default: 0.
  int64_t halt_after_checkpoint = 0;

  [[nodiscard]] bool empty() const noexcept {
    return crashes.empty() && (kill_every.count() <= 0 || kill_count == 0) && kills.empty() &&
           throws.empty() && snapshot_faults.empty() && delays.empty() &&
           halt_after_checkpoint == 0;
  }
};

[[nodiscard]] inline bool operator==(const fault_plan::snapshot_fault& x,
                                     const fault_plan::snapshot_fault& y) {
  return x.kind == y.kind && x.checkpoint == y.checkpoint;
}

[[nodiscard]] inline bool operator==(const fault_plan::crash& x, const fault_plan::crash& y) {
  return x.op == y.op && x.instance == y.instance && x.after_records == y.after_records &&
         x.times == y.times && x.when == y.when && x.checkpoint == y.checkpoint;
}

[[nodiscard]] inline bool operator==(const fault_plan::delay& x, const fault_plan::delay& y) {
  return x.op == y.op && x.max == y.max;
}

[[nodiscard]] inline bool operator==(const fault_plan::kill& x, const fault_plan::kill& y) {
  return x.op == y.op && x.instance == y.instance && x.at == y.at;
}

[[nodiscard]] inline bool operator==(const fault_plan::user_throw& x,
                                     const fault_plan::user_throw& y) {
  return x.op == y.op && x.instance == y.instance && x.record == y.record;
}

[[nodiscard]] inline bool operator==(const fault_plan& x, const fault_plan& y) {
  return x.crashes == y.crashes && x.kill_every == y.kill_every && x.kill_count == y.kill_count &&
         x.kill_together == y.kill_together && x.kill_among == y.kill_among && x.kills == y.kills &&
         x.throws == y.throws && x.delays == y.delays && x.snapshot_faults == y.snapshot_faults &&
         x.halt_after_checkpoint == y.halt_after_checkpoint && x.seed == y.seed;
}

[[nodiscard]] inline bool operator!=(const fault_plan& x, const fault_plan& y) {
  return !(x == y);
}

namespace internal {

/// `s` without leading and trailing whitespace.
inline std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && ws(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && ws(s.back()))
    s.remove_suffix(1);
  return s;
}

/// The mistake `what` in a fault plan, as an error whose sentence quotes it.
inline caf::error fault_plan_error(const std::string& what) {
  return make_error(errc::invalid_topology, "fault plan: " + what);
}

/// Reads a whole number, digits optionally grouped with `_`.
inline caf::expected<uint64_t> parse_count(std::string_view s, std::string_view what,
                                           std::string_view in) {
  std::string digits;
  for (auto c : s)
    if (c != '_')
      digits += c;
  uint64_t x = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), x);
  if (ec == std::errc::result_out_of_range)
    return fault_plan_error("'" + std::string{s} + "' in '" + std::string{in} + "' is too large" +
                            (what.empty() ? "" : " for " + std::string{what}));
  if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() ||
      s.front() == '_' || s.back() == '_')
    return fault_plan_error("'" + std::string{s} + "' in '" + std::string{in} +
                            "' is not a whole number" +
                            (what.empty() ? "" : " of " + std::string{what}) +
                            ": write digits, optionally grouped with _ (e.g. 50_000)");
  return x;
}

/// The checkpoint id `value` of item `item` (quoted: `quoted`): from 1.
inline caf::expected<int64_t> checkpoint_of(std::string_view value, std::string_view item,
                                            const std::string& quoted) {
  auto n = parse_count(value, "checkpoint id", item);
  if (!n)
    return n.error();
  if (*n == 0 || *n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return fault_plan_error("checkpoint=" + std::string{value} + " in " + quoted +
                            " names no checkpoint: checkpoints are numbered from 1");
  return static_cast<int64_t>(*n);
}

} // namespace internal

/// Reads a duration such as `250ms`, `2s` or `1min` (units: ns, us, ms, s, min, h).
[[nodiscard]] inline caf::expected<caf::timespan> parse_duration(std::string_view text) {
  auto s = internal::trim(text);
  size_t n = 0;
  while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '_'))
    ++n;
  auto unit = s.substr(n);
  static constexpr std::pair<std::string_view, int64_t> units[] = {{"ns", 1},
                                                                   {"us", 1'000},
                                                                   {"ms", 1'000'000},
                                                                   {"s", 1'000'000'000},
                                                                   {"min", 60'000'000'000},
                                                                   {"h", 3'600'000'000'000}};
  int64_t scale = 0;
  for (const auto& [name, ns] : units)
    if (unit == name)
      scale = ns;
  auto count = internal::parse_count(s.substr(0, n), "time units", s);
  if (n == 0 || scale == 0 || !count)
    return make_error(errc::invalid_topology,
                      "'" + std::string{s} +
                          "' is not a duration: write a whole number and a "
                          "unit (ns, us, ms, s, min or h), e.g. 250ms or 2s");
  if (*count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / scale))
    return make_error(errc::invalid_topology, "'" + std::string{s} + "' is too long a duration");
  return caf::timespan{static_cast<int64_t>(*count) * scale};
}

/// Writes `d` in the largest unit that divides it exactly (`250ms`, `2s`), as `parse_duration`
/// reads it.
[[nodiscard]] inline std::string to_duration_string(caf::timespan d) {
  static constexpr std::pair<const char*, int64_t> units[] = {{"h", 3'600'000'000'000},
                                                              {"min", 60'000'000'000},
                                                              {"s", 1'000'000'000},
                                                              {"ms", 1'000'000},
                                                              {"us", 1'000}};
  auto ns = d.count();
  for (const auto& [name, scale] : units)
    if (ns != 0 && ns % scale == 0)
      return std::to_string(ns / scale) + name;
  return std::to_string(ns) + "ns";
}

/// Reads a fault plan from text, e.g.
/// `crash:windows#1@after=50000; kill:random@every=100ms,count=20; seed=42` (the grammar is at
/// the top of this header). An empty text is a plan without faults. A mistake comes back as an
/// `errc::invalid_topology` error that quotes the bad part and says how to write it.
/// Whether the operators exist is checked when the job runs.
[[nodiscard]] inline caf::expected<fault_plan> parse_fault_plan(std::string_view spec) {
  using internal::checkpoint_of;
  using internal::fault_plan_error;
  using internal::parse_count;
  using internal::trim;
  static const std::string forms = "crash:<op>#<instance>@after=<records>, "
                                   "kill:random@every=<duration>,count=<n>, "
                                   "kill:<op>#<instance>@at=<duration>, "
                                   "throw:<op>#<instance>@record=<n>, "
                                   "fail:snapshot@checkpoint=<id>, corrupt:snapshot, "
                                   "truncate:snapshot, delay:<op>@max=<duration>, "
                                   "halt:job@checkpoint=<id> or seed=<n>";
  auto example = [](std::string_view kind) -> std::string {
    if (kind == "crash")
      return "crash:<op>#<instance>@after=<records>, e.g. crash:windows#1@after=50000";
    if (kind == "kill")
      return "kill:random@every=<duration>,count=<n>, e.g. kill:random@every=200ms,count=5, or "
             "kill:<op>#<instance>@at=<duration>, e.g. kill:windows#1@at=2s";
    if (kind == "throw")
      return "throw:<op>#<instance>@record=<n>, e.g. throw:parse#0@record=1000";
    if (kind == "fail")
      return "fail:snapshot@checkpoint=<id>, e.g. fail:snapshot@checkpoint=3";
    if (kind == "halt")
      return "halt:job@checkpoint=<id>, e.g. halt:job@checkpoint=4";
    if (kind == "delay")
      return "delay:<op>@max=<duration> (or delay:all@...), e.g. delay:windows@max=2ms";
    return std::string{kind} + ":snapshot";
  };
  // Cut at ';' and ',' into tokens. A token after ',' that does not start an item (`<kind>:`
  // or `seed=`) is a further parameter of the item before it: "...every=200ms,count=5".
  auto starts_item = [](std::string_view t) {
    auto colon = t.find(':');
    auto eq = t.find('=');
    return (colon != std::string_view::npos && colon < eq) || trim(t.substr(0, eq)) == "seed";
  };
  std::vector<std::string> items;
  char separator = ';';
  for (size_t begin = 0; begin <= spec.size();) {
    auto end = std::min(spec.find_first_of(";,", begin), spec.size());
    auto token = trim(spec.substr(begin, end - begin));
    if (!token.empty()) {
      if (separator == ',' && !items.empty() && !starts_item(token))
        items.back() += "," + std::string{token};
      else
        items.emplace_back(token);
    }
    separator = end < spec.size() ? spec[end] : ';';
    begin = end + 1;
  }
  fault_plan plan;
  bool seen_kill = false;
  bool seen_seed = false;
  for (const auto& text : items) {
    std::string_view item = text;
    auto quoted = "'" + text + "'";
    auto colon = item.find(':');
    auto equals = item.find('=');
    if (equals != std::string_view::npos && trim(item.substr(0, equals)) == "seed") {
      if (seen_seed)
        return fault_plan_error("the seed is given twice (" + quoted + "): keep one seed=<n>");
      seen_seed = true;
      auto seed = parse_count(trim(item.substr(equals + 1)), "", item);
      if (!seed)
        return seed.error();
      plan.seed = *seed;
      continue;
    }
    auto kind = colon == std::string_view::npos ? item : trim(item.substr(0, colon));
    if (kind != "crash" && kind != "kill" && kind != "fail" && kind != "corrupt" &&
        kind != "truncate" && kind != "delay" && kind != "throw" && kind != "halt")
      return fault_plan_error(quoted + " is not a fault: write " + forms + ", separated by ';'");
    if (colon == std::string_view::npos)
      return fault_plan_error(quoted + " says no more: write " + example(kind));
    auto rest = item.substr(colon + 1);
    auto at = rest.find('@');
    if (at == std::string_view::npos && rest.find('=') != std::string_view::npos) {
      auto comma = rest.find(',');
      auto fixed = comma < rest.find('=')
                       ? std::string{kind} + ":" + std::string{trim(rest.substr(0, comma))} + "@" +
                             std::string{trim(rest.substr(comma + 1))}
                       : example(kind);
      return fault_plan_error(quoted + " has parameters but no '@' before them: write " + fixed);
    }
    auto target = trim(rest.substr(0, at));
    auto params = at == std::string_view::npos ? std::string_view{} : rest.substr(at + 1);
    // The parameters, name=value separated by ','.
    std::vector<std::pair<std::string_view, std::string_view>> values;
    for (size_t b = 0; b <= params.size() && !trim(params).empty();) {
      auto e = std::min(params.find(',', b), params.size());
      auto p = trim(params.substr(b, e - b));
      auto eq = p.find('=');
      if (kind == "crash" && (p == "restore" || p == "end")) {
        values.emplace_back(p, std::string_view{}); // a moment, not name=value
        b = e + 1;
        continue;
      }
      if (eq == std::string_view::npos || trim(p.substr(0, eq)).empty())
        return fault_plan_error("'" + std::string{p} + "' in " + quoted +
                                " is not a parameter: write <name>=<value>, e.g. " +
                                (kind == "crash"   ? "after=50000"
                                 : kind == "throw" ? "record=1000"
                                                   : "every=200ms"));
      auto name = trim(p.substr(0, eq));
      for (const auto& v : values)
        if (v.first == name)
          return fault_plan_error(std::string{name} + " is given twice in " + quoted +
                                  ": keep one");
      values.emplace_back(name, trim(p.substr(eq + 1)));
      b = e + 1;
    }
    // A task named <op>#<instance> (#0 when the instance is left out).
    auto named_task = [&](std::string& op, uint32_t& instance) -> caf::error {
      auto hash = target.find('#');
      op = std::string{trim(target.substr(0, hash))};
      if (op.empty())
        return fault_plan_error(quoted + " names no operator: write " + example(kind));
      if (hash != std::string_view::npos) {
        auto digits = trim(target.substr(hash + 1));
        auto n = parse_count(digits, "instance", item);
        if (!n || *n > std::numeric_limits<uint32_t>::max())
          return fault_plan_error("'#" + std::string{digits} + "' in " + quoted +
                                  " is not an instance: instances are numbered #0, #1, ... up to "
                                  "the operator's parallelism - 1");
        instance = static_cast<uint32_t>(*n);
      }
      return caf::none;
    };
    if (kind == "throw") {
      fault_plan::user_throw t;
      if (auto err = named_task(t.op, t.instance))
        return err;
      for (const auto& [name, value] : values) {
        if (name != "record")
          return fault_plan_error("a throw has no parameter '" + std::string{name} + "' (in " +
                                  quoted + "): write " + example(kind));
        auto n = parse_count(value, "records", item);
        if (!n)
          return n.error();
        if (*n == 0)
          return fault_plan_error("record=0 in " + quoted +
                                  " names no record: records are counted from 1");
        t.record = *n;
      }
      if (t.record == 0)
        return fault_plan_error(quoted + " does not say on which record: write " + example(kind));
      plan.throws.push_back(std::move(t));
      continue;
    }
    bool random_kill = kind == "kill" &&
                       (target == "random" ||
                        (target.find('#') == std::string_view::npos &&
                         std::any_of(values.begin(), values.end(), [](const auto& v) {
                           return v.first == "every" || v.first == "count" || v.first == "together";
                         })));
    if (kind == "kill" && !random_kill) {
      fault_plan::kill k;
      if (auto err = named_task(k.op, k.instance))
        return err;
      bool has_at = false;
      for (const auto& [name, value] : values) {
        if (name != "at")
          return fault_plan_error(
              "a kill of a named task has no parameter '" + std::string{name} + "' (in " + quoted +
              "): it takes at=<duration>, e.g. kill:" + k.op + "#" + std::to_string(k.instance) +
              "@at=2s (kill:random@... picks tasks at random)");
        auto t = parse_duration(value);
        if (!t)
          return fault_plan_error("at=" + std::string{value} + " in " + quoted +
                                  " is not a duration: write a whole number and a unit (ns, us, "
                                  "ms, s, min or h), e.g. at=2s");
        k.at = *t;
        has_at = true;
      }
      if (!has_at)
        return fault_plan_error(quoted + " does not say when: add @at=<duration>, e.g. kill:" +
                                k.op + "#" + std::to_string(k.instance) + "@at=2s");
      plan.kills.push_back(std::move(k));
      continue;
    }
    if (kind == "crash") {
      fault_plan::crash c;
      if (auto err = named_task(c.op, c.instance))
        return err;
      bool has_after = false;
      for (const auto& [name, value] : values) {
        if (name == "restore" || name == "end" || name == "checkpoint") {
          if (has_after)
            return fault_plan_error(quoted + " says twice when the crash fires: give one of "
                                             "after=<records>, checkpoint=<id>, restore or end");
          has_after = true;
          c.when = name == "restore" ? fault_plan::crash::on_restore
                   : name == "end"   ? fault_plan::crash::at_end
                                     : fault_plan::crash::at_checkpoint;
          if (name == "checkpoint") {
            auto n = parse_count(value, "checkpoint", item);
            if (!n)
              return n.error();
            if (*n == 0 || *n > uint64_t{std::numeric_limits<int64_t>::max()})
              return fault_plan_error("checkpoint=" + std::string{value} + " in " + quoted +
                                      " is not a checkpoint: ids count from 1");
            c.checkpoint = static_cast<int64_t>(*n);
          }
          continue;
        }
        if (name == "times") {
          auto n = parse_count(value, "incarnations", item);
          if (!n)
            return n.error();
          if (*n == 0 || *n > 1'000'000)
            return fault_plan_error("times=" + std::string{value} + " in " + quoted +
                                    " is not a number of incarnations: write 1 to 1000000");
          c.times = static_cast<uint32_t>(*n);
          continue;
        }
        if (name != "after")
          return fault_plan_error("a crash has no parameter '" + std::string{name} + "' (in " +
                                  quoted +
                                  "): it takes after=<records>, checkpoint=<id>, restore or end, "
                                  "and times=<n>");
        if (has_after)
          return fault_plan_error(quoted + " says twice when the crash fires: give one of "
                                           "after=<records>, checkpoint=<id>, restore or end");
        auto n = parse_count(value, "records", item);
        if (!n)
          return n.error();
        if (*n == 0)
          return fault_plan_error("after=0 in " + quoted +
                                  " never fires: a crash fires once the task has taken that "
                                  "many records, so write after=1 or more");
        c.after_records = *n;
        has_after = true;
      }
      if (!has_after)
        return fault_plan_error(quoted + " does not say when: add @after=<records>, e.g. " +
                                "crash:" + c.op + "#" + std::to_string(c.instance) +
                                "@after=50000");
      plan.crashes.push_back(std::move(c));
      continue;
    }
    if (kind == "delay") {
      if (target.empty())
        return fault_plan_error(quoted + " names no operator: write " + example(kind));
      fault_plan::delay d;
      d.op = std::string{target};
      for (const auto& [name, value] : values) {
        if (name != "max")
          return fault_plan_error("a delay has no parameter '" + std::string{name} + "' (in " +
                                  quoted + "): write " + example(kind));
        auto t = parse_duration(value);
        if (!t || t->count() == 0)
          return fault_plan_error("max=" + std::string{value} + " in " + quoted +
                                  " is not a positive duration: write a whole number and a unit "
                                  "(ns, us, ms, s, min or h), e.g. max=2ms");
        d.max = *t;
      }
      if (d.max.count() == 0)
        return fault_plan_error(quoted + " does not say how long: write " + example(kind));
      plan.delays.push_back(std::move(d));
      continue;
    }
    if (kind == "halt") {
      if (target != "job")
        return fault_plan_error(quoted + ": halt stops the whole job: write " + example(kind));
      if (plan.halt_after_checkpoint != 0)
        return fault_plan_error("the job is halted twice (" + quoted +
                                "): a plan halts it once, halt:job@checkpoint=<id>");
      for (const auto& [name, value] : values) {
        if (name != "checkpoint")
          return fault_plan_error("halt:job has no parameter '" + std::string{name} + "' (in " +
                                  quoted + "): write " + example(kind));
        auto n = checkpoint_of(value, item, quoted);
        if (!n)
          return n.error();
        plan.halt_after_checkpoint = *n;
      }
      if (plan.halt_after_checkpoint == 0)
        return fault_plan_error(quoted + " does not say after which checkpoint: write " +
                                example(kind));
      continue;
    }
    if (kind != "kill") {
      // fail, corrupt or truncate: faults of the snapshot files.
      if (target != "snapshot")
        return fault_plan_error(quoted + ": " + std::string{kind} +
                                " applies to snapshot files: write " + example(kind));
      fault_plan::snapshot_fault f;
      f.kind = kind == "fail"      ? fault_plan::snapshot_fault::fail_write
               : kind == "corrupt" ? fault_plan::snapshot_fault::corrupt
                                   : fault_plan::snapshot_fault::truncate;
      for (const auto& [name, value] : values) {
        if (kind != "fail" || name != "checkpoint")
          return fault_plan_error(std::string{kind} + ":snapshot has no parameter '" +
                                  std::string{name} + "' (in " + quoted + "): write " +
                                  example(kind));
        auto n = checkpoint_of(value, item, quoted);
        if (!n)
          return n.error();
        f.checkpoint = *n;
      }
      if (kind == "fail" && f.checkpoint == 0)
        return fault_plan_error(quoted + " does not say which checkpoint: write " + example(kind));
      plan.snapshot_faults.push_back(f);
      continue;
    }
    // kill:random, or kill:<op> (at random among its instances)
    if (seen_kill)
      return fault_plan_error("random kills are given twice (" + quoted +
                              "): a plan has one schedule of random kills, "
                              "kill:random@every=<duration>,count=<n>");
    seen_kill = true;
    if (target.empty())
      return fault_plan_error(quoted + " names no operator: write " + example(kind));
    if (target != "random")
      plan.kill_among = std::string{target};
    bool has_every = false;
    bool has_count = false;
    for (const auto& [name, value] : values) {
      if (name == "every") {
        auto d = parse_duration(value);
        if (!d)
          return fault_plan_error("every=" + std::string{value} + " in " + quoted +
                                  " is not a duration: write a whole number and a unit (ns, us, "
                                  "ms, s, min or h), e.g. every=200ms");
        if (d->count() == 0)
          return fault_plan_error("every=" + std::string{value} + " in " + quoted +
                                  " is no interval: write a positive one, e.g. every=200ms");
        plan.kill_every = *d;
        has_every = true;
      } else if (name == "count") {
        auto n = parse_count(value, "kills", item);
        if (!n)
          return n.error();
        if (*n == 0)
          return fault_plan_error("count=0 in " + quoted +
                                  " kills nothing: write count=1 or more, or leave the kill out");
        plan.kill_count = static_cast<size_t>(*n);
        has_count = true;
      } else if (name == "together") {
        auto n = parse_count(value, "tasks", item);
        if (!n)
          return n.error();
        if (*n == 0 || *n > 1'000'000)
          return fault_plan_error("together=" + std::string{value} + " in " + quoted +
                                  " is not a number of tasks: write 1 or more");
        plan.kill_together = static_cast<size_t>(*n);
      } else {
        return fault_plan_error("kill:" + std::string{target} + " has no parameter '" +
                                std::string{name} + "' (in " + quoted +
                                "): it takes every=<duration>, count=<n> and together=<n>");
      }
    }
    if (!has_every || !has_count)
      return fault_plan_error(quoted + " needs " +
                              (has_every   ? "count=<n> (how many kills)"
                               : has_count ? "every=<duration> (the time between kills)"
                                           : "every=<duration> and count=<n>") +
                              ", e.g. kill:random@every=200ms,count=5");
  }
  return plan;
}

/// Writes `plan` as `parse_fault_plan` reads it: crashes in order, then the random kills, the
/// named kills, the throws, the snapshot faults in order, the delays, the halt, and the seed when
/// it is not the default (1). An empty plan is an empty text.
[[nodiscard]] inline std::string to_string(const fault_plan& plan) {
  std::string out;
  auto add = [&out](const std::string& item) { out += (out.empty() ? "" : "; ") + item; };
  for (const auto& c : plan.crashes)
    add("crash:" + c.op + "#" + std::to_string(c.instance) + "@" +
        (c.when == fault_plan::crash::after           ? "after=" + std::to_string(c.after_records)
         : c.when == fault_plan::crash::at_checkpoint ? "checkpoint=" + std::to_string(c.checkpoint)
         : c.when == fault_plan::crash::on_restore    ? std::string{"restore"}
                                                      : std::string{"end"}) +
        (c.times == 1 ? std::string{} : ",times=" + std::to_string(c.times)));
  if (plan.kill_every.count() > 0 && plan.kill_count > 0)
    add("kill:" + (plan.kill_among.empty() ? std::string{"random"} : plan.kill_among) + "@every=" +
        to_duration_string(plan.kill_every) + ",count=" + std::to_string(plan.kill_count) +
        (plan.kill_together == 1 ? std::string{}
                                 : ",together=" + std::to_string(plan.kill_together)));
  for (const auto& k : plan.kills)
    add("kill:" + k.op + "#" + std::to_string(k.instance) + "@at=" + to_duration_string(k.at));
  for (const auto& t : plan.throws)
    add("throw:" + t.op + "#" + std::to_string(t.instance) + "@record=" + std::to_string(t.record));
  for (const auto& f : plan.snapshot_faults)
    add(f.kind == fault_plan::snapshot_fault::fail_write
            ? "fail:snapshot@checkpoint=" + std::to_string(f.checkpoint)
        : f.kind == fault_plan::snapshot_fault::corrupt ? std::string{"corrupt:snapshot"}
                                                        : std::string{"truncate:snapshot"});
  for (const auto& d : plan.delays)
    add("delay:" + d.op + "@max=" + to_duration_string(d.max));
  if (plan.halt_after_checkpoint != 0)
    add("halt:job@checkpoint=" + std::to_string(plan.halt_after_checkpoint));
  if (plan.seed != fault_plan{}.seed)
    add("seed=" + std::to_string(plan.seed));
  return out;
}

} // namespace eddy
