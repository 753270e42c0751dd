// Single-task recovery: a failed task restarts alone from its snapshot, its upstream tasks send
// again what they sent since (in-flight logs), it replays its predecessor's choices
// (determinants), its downstream tasks drop what they have seen, and nothing else restarts.
#include "temp_dir.hpp"
#include "window_fixtures.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;
using test::closed_form;
using test::differences;
using test::event;
using test::rows;
using test::shuffled_grid;

namespace {

/// A running sum per key, emitted at every record: which sums appear depends on the order in
/// which the operator took its inputs, so a replacement that took them in another order than
/// its predecessor would leave sums that no single order gives.
struct sum_so_far {
  int32_t key = 0;
  int64_t sum = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sum_so_far& x) {
  return f(x.key, x.sum);
}

struct running_sum {
  state::value_state<int64_t> sum;
  void open(keyed_context<int32_t, sum_so_far>& ctx) {
    sum = *ctx.state().declare_value<int64_t>("sum");
  }
  void operator()(const event& e, keyed_context<int32_t, sum_so_far>& ctx) {
    auto s = sum.value_or(0) + e.time + 1;
    sum.update(s);
    ctx.emit(sum_so_far{e.key, s});
  }
};

/// Key and value (time + 1) of record i: 7 keys, values 1..n.
event numbered(uint64_t i) {
  return event{static_cast<int32_t>((i * 2654435761u) % 7), static_cast<int64_t>(i)};
}

/// Empty when, for every key, the sums are exactly the prefix sums of one order of that key's
/// values: sorted, their differences are the key's values, each once.
std::string consistency(const std::vector<sum_so_far>& out, uint64_t n) {
  std::map<int32_t, std::vector<int64_t>> values, sums;
  for (uint64_t i = 0; i < n; ++i) {
    auto e = numbered(i);
    values[e.key].push_back(e.time + 1);
  }
  for (const auto& x : out)
    sums[x.key].push_back(x.sum);
  for (auto& [key, vs] : values) {
    auto& ss = sums[key];
    if (ss.size() != vs.size())
      return "key " + std::to_string(key) + ": " + std::to_string(ss.size()) + " sums for " +
             std::to_string(vs.size()) + " records";
    std::sort(ss.begin(), ss.end());
    std::vector<int64_t> steps;
    int64_t before = 0;
    for (auto s : ss) {
      steps.push_back(s - before);
      before = s;
    }
    std::sort(steps.begin(), steps.end());
    std::sort(vs.begin(), vs.end());
    if (steps != vs)
      return "key " + std::to_string(key) + ": the sums are no prefix sums of its records";
  }
  return {};
}

} // namespace

SCENARIO("a failed window task restarts alone: the sources never restart, the sums are exact") {
  shuffled_grid g;
  g.keys = 5;
  g.times = 1'500;
  for (bool rocksdb : {false, true}) {
    struct crash {
      const char* victim;
      uint32_t instance;
      uint64_t after;
    };
    // The sink sees 75 window results in all.
    for (auto [victim, instance, after] :
         {crash{"windows", 1, 1'500}, crash{"collect", 0, 30}, crash{"events", 1, 1'500}}) {
      INFO((rocksdb ? "RocksDB" : "memory")
           << " backend, " << victim << "#" << instance << " crashes");
      fault_plan faults;
      faults.crashes.push_back({victim, instance, after});
      auto cfg = job_config{}
                     .with_threads(2)
                     .with_batch_size(32)
                     .with_checkpoints(test::temp_dir("eddy_recovery_windows"), 20ms)
                     .with_faults(faults);
      cfg.checkpoints.recovery = recovery_mode::single_task;
      if (rocksdb)
        cfg.with_state_backend(
            state::backend_config{}.with_rocksdb(test::temp_dir("eddy_recovery_windows_db")));
      job_report report;
      auto got = test::run_paced_windows(cfg, g, 15'000, &report);
      CHECK(differences(rows(got), closed_form(g, 100, 100)) == "");
      REQUIRE(report.recoveries.size() == 1);
      CHECK(report.recoveries[0].single_task);
      CHECK(report.recoveries[0].cause.find(std::string{victim} + "#" + std::to_string(instance)) !=
            std::string::npos);
      if (std::string{victim} != "events") {
        // The sources kept running: each emitted its part once, in one incarnation.
        CHECK(report.records_out("events") == g.size());
      }
    }
  }
}

SCENARIO("a replacement that fails before a checkpoint completes is replaced alone again") {
  // No checkpoint starts in this run (one an hour): windows#1 and then its replacement
  // crash, each after 1,500 records, and both go back to the start of the input alone; the
  // tasks feeding them send everything again, twice.
  shuffled_grid g;
  g.keys = 5;
  g.times = 1'500;
  auto faults = parse_fault_plan("crash:windows#1@after=1500,times=2");
  REQUIRE(faults);
  auto cfg = job_config{}
                 .with_threads(2)
                 .with_batch_size(32)
                 .with_checkpoints(test::temp_dir("eddy_recovery_again"), 1h)
                 .with_faults(*faults);
  job_report report;
  auto got = test::run_paced_windows(cfg, g, 15'000, &report);
  CHECK(differences(rows(got), closed_form(g, 100, 100)) == "");
  CHECK(report.checkpoints.empty());
  std::string causes;
  for (const auto& r : report.recoveries)
    causes += r.cause + " [" + r.fallback + "]; ";
  INFO("recoveries: " << causes);
  CHECK(report.faults.size() == 2);
  REQUIRE(report.recoveries.size() == 2);
  for (const auto& r : report.recoveries) {
    CHECK(r.single_task);
    CHECK(r.from_checkpoint == 0);
    CHECK(r.cause.find("windows#1") != std::string::npos);
  }
  CHECK(report.records_out("events") == g.size()); // the sources never went back
}

SCENARIO("the same failure recovered by restarting the whole job gives the same sums") {
  shuffled_grid g;
  g.keys = 5;
  g.times = 1'500;
  fault_plan faults;
  faults.crashes.push_back({"windows", 0, 1'500});
  auto cfg = job_config{}
                 .with_threads(2)
                 .with_batch_size(32)
                 .with_checkpoints(test::temp_dir("eddy_recovery_whole"), 20ms)
                 .with_faults(faults);
  cfg.checkpoints.recovery = recovery_mode::whole_job;
  job_report report;
  auto got = test::run_paced_windows(cfg, g, 15'000, &report);
  CHECK(differences(rows(got), closed_form(g, 100, 100)) == "");
  REQUIRE(report.recoveries.size() == 1);
  CHECK_FALSE(report.recoveries[0].single_task);
  CHECK(report.recoveries[0].fallback.empty()); // asked for, not a fallback
  CHECK(report.recoveries[0].backoff > std::chrono::nanoseconds{0});
  CHECK(report.recoveries[0].backoff < report.recoveries[0].downtime);
  CHECK(report.records_out("events") < g.size()); // the sources went back too
}

SCENARIO("a replacement takes its inputs in its predecessor's order") {
  // Two source instances feed one keyed task that emits a running sum per record: the sums
  // depend on the order it interleaved its two inputs.
  constexpr uint64_t n = 8'000;
  for (uint64_t after : {500u, 3'000u, 6'500u}) {
    INFO("the keyed task crashes after " << after << " records");
    fault_plan faults;
    faults.crashes.push_back({"sums", 0, after});
    auto cfg = job_config{}
                   .with_threads(2)
                   .with_batch_size(16)
                   .with_checkpoints(test::temp_dir("eddy_recovery_order"), 15ms)
                   .with_faults(faults);
    cfg.checkpoints.recovery = recovery_mode::single_task;
    job j{cfg};
    std::vector<sum_so_far> out;
    j.source(generator<event>(n, numbered).at_rate(20'000))
        .name("numbers")
        .parallelism(2)
        .key_by([](const event& e) { return e.key; })
        .process<sum_so_far>(running_sum{})
        .name("sums")
        .parallelism(1)
        .sink(collect(out))
        .name("collect");
    auto report = j.run();
    REQUIRE(report);
    std::string causes;
    for (const auto& r : report->recoveries)
      causes += r.cause + "; ";
    INFO("recoveries: " << causes);
    REQUIRE(report->recoveries.size() == 1);
    CHECK(report->recoveries[0].single_task);
    CHECK(consistency(out, n) == "");
    CHECK(report->records_out("numbers") == n);
  }
}

namespace {

/// Runs the paced window job over a 5-key grid with fault plan `plan`, recovering by `mode`;
/// checks the closed-form sums and returns the report.
job_report run_windows_with(const char* plan, recovery_mode mode) {
  shuffled_grid g;
  g.keys = 5;
  g.times = 1'500;
  INFO(plan << ", " << (mode == recovery_mode::single_task ? "single-task" : "whole-job")
            << " recovery");
  auto parsed = parse_fault_plan(plan);
  REQUIRE(parsed);
  auto cfg = job_config{}
                 .with_threads(2)
                 .with_batch_size(32)
                 .with_checkpoints(test::temp_dir("eddy_recovery_plans"), 20ms)
                 .with_faults(*parsed);
  cfg.checkpoints.recovery = mode;
  job_report report;
  auto got = test::run_paced_windows(cfg, g, 15'000, &report);
  CHECK(differences(rows(got), closed_form(g, 100, 100)) == "");
  return report;
}

/// The failures the recoveries of `r` covered: each its own, and those that came while it was
/// already under way (two at once).
size_t covered(const job_report& r) {
  size_t n = 0;
  for (const auto& x : r.recoveries)
    n += 1 + x.also.size();
  return n;
}

} // namespace

SCENARIO("failures in every phase (processing, a snapshot write, the first restore, the end of "
         "the input, two at once): the sums are exact and every fault is recovered") {
  struct phase {
    const char* plan;
    size_t faults;
  };
  for (auto [plan, faults] : {
           phase{"crash:windows#0@after=1500", 1},                          // processing
           phase{"crash:windows#1@checkpoint=3", 1},                        // a snapshot write
           phase{"crash:windows#0@after=1500; crash:windows#0@restore", 2}, // the first restore
           phase{"crash:windows#1@end; crash:collect#0@end", 2},            // the end
           phase{"crash:windows#0@checkpoint=4; crash:windows#1@checkpoint=4", 2}, // two apart
           phase{"kill:random@every=120ms,count=2,together=2; seed=5", 4},         // two at random
           phase{"kill:windows#1@at=200ms", 1},                                    // named, timed
       }) {
    for (auto mode : {recovery_mode::single_task, recovery_mode::whole_job}) {
      INFO(plan);
      auto report = run_windows_with(plan, mode);
      CHECK(report.faults.size() == faults);
      CHECK(covered(report) == faults);
    }
  }
}

SCENARIO("messages held back at random and overtaken by other channels change no sum, with or "
         "without a failure") {
  for (const char* plan :
       {"delay:all@max=3ms; seed=3", "delay:all@max=3ms; crash:windows#0@after=1500; seed=4",
        "delay:events@max=5ms; kill:random@every=100ms,count=2; seed=5"}) {
    for (auto mode : {recovery_mode::single_task, recovery_mode::whole_job}) {
      INFO(plan);
      auto report = run_windows_with(plan, mode);
      REQUIRE_FALSE(report.faults.empty());
      CHECK(report.faults.front().find("held back") != std::string::npos);
      CHECK(covered(report) == report.faults.size() - 1); // every fault but the delay
    }
  }
}

/// 15,000 events at 20,000/s through run_paced_windows under 8 kills 50 ms apart among the
/// tasks of operator `among` (every task when empty), recovered alone where the rules allow;
/// checks the output is exact and returns the report.
job_report kill_storm(const std::string& among, const char* dir) {
  shuffled_grid g;
  g.keys = 5;
  g.times = 3'000;
  fault_plan faults;
  faults.kill_every = 50ms;
  faults.kill_count = 8;
  faults.kill_among = among;
  faults.seed = 11;
  auto cfg = job_config{}
                 .with_threads(2)
                 .with_batch_size(32)
                 .with_checkpoints(test::temp_dir(dir), 15ms)
                 .with_faults(faults);
  cfg.checkpoints.recovery = recovery_mode::single_task;
  job_report report;
  auto got = test::run_paced_windows(cfg, g, 20'000, &report);
  CHECK(differences(rows(got), closed_form(g, 100, 100)) == "");
  CHECK(covered(report) == report.faults.size());
  return report;
}

SCENARIO("a storm of kills on a keyed window job's windows: every kill recovered alone, output "
         "exact") {
  // The windows' instances feed no one but the sink, so each kill is recovered alone whenever
  // it comes, however many came since the last checkpoint.
  auto report = kill_storm("windows", "eddy_recovery_storm");
  CHECK(report.faults.size() == report.recoveries.size());
  CHECK(report.recoveries.size() >= 4);
  for (const auto& r : report.recoveries) {
    INFO(r.cause);
    CHECK(r.cause.find("windows#") != std::string::npos);
    CHECK(r.single_task);
  }
}

SCENARIO("a storm of kills on every task of a keyed window job: output exact, each kill recovered "
         "alone unless a neighbour was replaced since the checkpoint") {
  // A source killed after a window instance it feeds was replaced (or the reverse) before a
  // checkpoint completed goes back with the whole job: how often depends on how fast the
  // checkpoints complete, so this asserts the rule, not a count.
  auto report = kill_storm("", "eddy_recovery_storm_all");
  REQUIRE_FALSE(report.recoveries.empty());
  CHECK(report.recoveries.front().single_task); // nothing was replaced before the first
  for (const auto& r : report.recoveries) {
    INFO(r.cause << " / " << r.fallback);
    if (!r.single_task)
      CHECK(r.fallback.find("was replaced since the checkpoint") != std::string::npos);
  }
}

SCENARIO("a task whose receiver was replaced since the checkpoint is not recovered alone") {
  // The map crashes, and its replacement replays its predecessor's choices of input, which name
  // the batches the sources sent. A source crashing before a checkpoint completes would be
  // replaced too and cut what it sends again into other batches: the map's replay would take
  // other records in other places (records were repeated and lost before this rule). So that
  // second recovery goes back with the whole job.
  constexpr int64_t n = 20'000;
  for (int round = 0; round < 4; ++round) {
    INFO("round " << round);
    fault_plan faults;
    faults.crashes.push_back({"slow", 0, 4'000});
    fault_plan::crash at_checkpoint;
    at_checkpoint.op = "numbers";
    at_checkpoint.when = fault_plan::crash::at_checkpoint;
    at_checkpoint.checkpoint = 2;
    faults.crashes.push_back(at_checkpoint);
    job j{job_config{}
              .with_threads(2)
              .with_batch_size(100)
              .with_checkpoints(test::temp_dir("eddy_receiver_replaced"), 5ms)
              .with_faults(faults)};
    std::vector<int64_t> out;
    j.source(generator<int64_t>(n, [](uint64_t i) { return int64_t(i); }))
        .name("numbers")
        .parallelism(2)
        .map([](const int64_t& x) {
          volatile int64_t spin = 0; // slow enough for checkpoints to come while it runs
          for (int k = 0; k < 2'000; ++k)
            spin = spin + k;
          return x;
        })
        .name("slow")
        .sink(collect(out));
    auto report = j.run();
    if (!report)
      FAIL(describe(report.error()));
    REQUIRE(!report->recoveries.empty());
    // When the map was recovered alone first and no checkpoint completed before the source
    // failed, the source's recovery must not be a single-task one. (Whether both crashes come,
    // and in which order, depends on timing: checkpoint 2 may be abandoned by the first
    // recovery.)
    const auto& first = report->recoveries.front();
    const auto& second = report->recoveries.back();
    if (report->recoveries.size() == 2 && first.cause.find("slow#0") != std::string::npos &&
        first.single_task && second.cause.find("numbers#0") != std::string::npos &&
        second.from_checkpoint == first.from_checkpoint) {
      CHECK(!second.single_task);
      CHECK_THAT(second.fallback, Catch::Contains("slow#0, which it feeds, was replaced"));
    }
    std::string recoveries;
    for (const auto& r : report->recoveries)
      recoveries += "recovery of " + r.cause + (r.single_task ? " alone" : " with the job") +
                    " from checkpoint " + std::to_string(r.from_checkpoint) + " " + r.fallback +
                    "; ";
    INFO(recoveries);
    std::map<int64_t, int> times;
    for (auto x : out)
      ++times[x];
    size_t missing = 0, repeated = 0;
    for (int64_t i = 0; i < n; ++i) {
      missing += times.count(i) == 0 ? 1 : 0;
      repeated += times.count(i) != 0 && times[i] > 1 ? 1 : 0;
    }
    std::string odd; // the first records missing, and repeated
    for (int want : {0, 2})
      for (int64_t i = 0, k = 0; i < n && k < 12; ++i)
        if (times[i] == want || (want == 2 && times[i] > 2)) {
          odd += std::to_string(i) + "x" + std::to_string(times[i]) + " ";
          ++k;
        }
    INFO(missing << " missing, " << repeated << " repeated: " << odd);
    CHECK(out.size() == size_t(n));
    CHECK(missing == 0);
    CHECK(repeated == 0);
  }
}
