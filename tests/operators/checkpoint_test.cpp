// Checkpoints and recovery as a job sees them: checkpoints complete while records flow, a task
// that fails is restarted from the last completed checkpoint, and the output is exactly what a
// run without failures gives.
#include "temp_dir.hpp"
#include "window_fixtures.hpp"

#include <eddy/checkpoint/storage.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
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

/// 0, 2, 4, ...: what doubling 0..n-1 gives.
std::vector<int64_t> doubled(int64_t n) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(2 * i);
  return out;
}

/// A paced source of 0..n-1 doubled by a map named "double", into `out`.
void doubling_job(job& j, int64_t n, double rate, std::vector<int64_t>& out) {
  j.source(generator<int64_t>(static_cast<uint64_t>(n),
                              [](uint64_t i) { return static_cast<int64_t>(i); })
               .at_rate(rate))
      .name("numbers")
      .map([](const int64_t& x) { return 2 * x; })
      .name("double")
      .sink(collect(out))
      .name("collect");
}

/// Runs `doubling_job` over 0..n-1 at 20,000 records a second with `cfg`; checks that the
/// output is exact and returns the report.
job_report run_doubling(const job_config& cfg, int64_t n) {
  job j{cfg};
  std::vector<int64_t> out;
  doubling_job(j, n, 20'000, out);
  auto report = j.run();
  REQUIRE(report);
  std::sort(out.begin(), out.end());
  CHECK(out == doubled(n));
  return *report;
}

} // namespace

SCENARIO("checkpoints complete while records flow, and change nothing in the output") {
  auto dir = test::temp_dir("eddy_checkpoints_flow");
  job j{job_config{}.with_threads(2).with_batch_size(64).with_checkpoints(dir, 20ms)};
  std::vector<int64_t> out;
  doubling_job(j, 6'000, 20'000, out);
  auto report = j.run();
  REQUIRE(report);
  std::sort(out.begin(), out.end());
  CHECK(out == doubled(6'000));
  // About 300 ms of input at one checkpoint every 20 ms.
  REQUIRE(report->checkpoints.size() >= 3);
  for (size_t k = 1; k < report->checkpoints.size(); ++k)
    CHECK(report->checkpoints[k].id > report->checkpoints[k - 1].id);
  // Every task wrote a snapshot file (the source its position); only a checkpoint that started
  // as the input ended may find every task finished and hold nothing.
  CHECK(report->checkpoints.front().bytes > 0);
  // Only the last three are kept, and each of them loads.
  auto storage = checkpoint::storage::open(dir);
  REQUIRE(storage);
  auto kept = storage->completed();
  CHECK(kept.size() == 3);
  CHECK(kept.back() == report->checkpoints.back().id);
  auto last = storage->load(kept.back());
  REQUIRE(last);
  CHECK(last->m.tasks.size() == 3); // numbers, double, collect
  CHECK(report->recoveries.empty());
}

SCENARIO("a crashed task is restarted from the last completed checkpoint: nothing lost, nothing "
         "repeated") {
  auto dir = test::temp_dir("eddy_checkpoints_crash");
  fault_plan faults;
  faults.crashes.push_back({"double", 0, 4'000});
  auto report = run_doubling(
      job_config{}.with_threads(2).with_batch_size(64).with_checkpoints(dir, 20ms).with_faults(
          faults),
      8'000);
  REQUIRE(report.faults.size() == 1);
  CHECK(report.faults[0].find("double#0 crashed after") != std::string::npos);
  REQUIRE(report.recoveries.size() == 1);
  CHECK(report.recoveries[0].single_task);         // the default: the task alone
  CHECK(report.recoveries[0].from_checkpoint > 0); // it went back to a checkpoint, not the start
  CHECK(report.recoveries[0].cause.find("double#0") != std::string::npos);
}

SCENARIO("without checkpoints a crash fails the job and says what happened") {
  fault_plan faults;
  faults.crashes.push_back({"double", 0, 100});
  job j{job_config{}.with_threads(2).with_batch_size(16).with_faults(faults)};
  std::vector<int64_t> out;
  doubling_job(j, 1'000, 0, out);
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK(describe(report.error()).find("injected fault: double#0 crashed") != std::string::npos);
  CHECK(out.empty()); // nothing was committed
}

SCENARIO("a task that keeps failing stops the job once the restart limit is reached") {
  auto dir = test::temp_dir("eddy_checkpoints_limit");
  auto cfg = job_config{}.with_threads(2).with_checkpoints(dir, 10ms);
  cfg.checkpoints.max_restarts = 3;
  cfg.checkpoints.poison_after = 0; // the record never becomes poison
  job j{cfg};
  std::vector<int64_t> out;
  j.source(generator<int64_t>(100, [](uint64_t i) { return static_cast<int64_t>(i); }))
      .map([](const int64_t& x) -> int64_t {
        if (x == 42)
          throw std::runtime_error("cannot take 42");
        return x;
      })
      .name("picky")
      .on_error(error_policy::fail)
      .sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  auto why = describe(report.error());
  CHECK(why.find("failed 4 times") != std::string::npos);
  CHECK(why.find("cannot take 42") != std::string::npos);
  CHECK(why.find("max_restarts (3)") != std::string::npos);
  CHECK(out.empty());
}

SCENARIO("a record that fails an operator poison_after times goes to the dead letters, and every "
         "other record is processed exactly once") {
  for (auto mode : {recovery_mode::single_task, recovery_mode::whole_job}) {
    auto dir = test::temp_dir("eddy_checkpoints_poison");
    auto cfg = job_config{}.with_threads(2).with_batch_size(16).with_checkpoints(dir, 10ms);
    cfg.checkpoints.recovery = mode;
    job j{cfg};
    std::vector<int64_t> out;
    j.source(generator<int64_t>(3'000, [](uint64_t i) { return static_cast<int64_t>(i); })
                 .at_rate(20'000))
        .name("numbers")
        .map([](const int64_t& x) -> int64_t {
          if (x == 1'234)
            throw std::runtime_error("cannot take 1234");
          return 2 * x;
        })
        .name("picky")
        .on_error(error_policy::fail)
        .sink(collect(out));
    auto report = j.run();
    if (!report)
      FAIL(describe(report.error()));
    auto expected = doubled(3'000);
    expected.erase(std::find(expected.begin(), expected.end(), 2'468));
    std::sort(out.begin(), out.end());
    CHECK(out == expected);
    // Three failures on the record (poison_after's default), each recovered; the fourth
    // attempt skips it.
    REQUIRE(report->recoveries.size() == 3);
    for (const auto& r : report->recoveries) {
      CHECK(r.cause.find("cannot take 1234") != std::string::npos);
      CHECK(r.single_task == (mode == recovery_mode::single_task));
    }
    REQUIRE(report->dead_letters.size() == 1);
    const auto& d = report->dead_letters.front();
    CHECK(d.record == "1234");
    CHECK(d.origin == "picky#0");
    CHECK(d.reason.find("poison record") != std::string::npos);
    CHECK(d.reason.find("cannot take 1234") != std::string::npos);
    CHECK(std::any_of(report->notes.begin(), report->notes.end(), [](const std::string& n) {
      return n.find("record 1234 failed picky#0 3 times") != std::string::npos;
    }));
  }
}

SCENARIO("a fault plan makes a user function throw on a record: the error policy decides, the "
         "job goes on") {
  // throw:double#0@record=1235: the 1,235th record double#0 takes, the value 1234 here.
  auto plan = parse_fault_plan("throw:double#0@record=1235");
  REQUIRE(plan);
  auto expected = doubled(3'000);
  expected.erase(std::find(expected.begin(), expected.end(), 2'468));
  GIVEN("the default error policy (dead letters), without checkpoints") {
    job j{job_config{}.with_threads(2).with_batch_size(100).with_faults(*plan)};
    std::vector<int64_t> out;
    j.source(generator<int64_t>(3'000, [](uint64_t i) { return static_cast<int64_t>(i); }))
        .map([](const int64_t& x) { return 2 * x; })
        .name("double")
        .sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    THEN("that record goes to the dead letters, every other one through") {
      std::sort(out.begin(), out.end());
      CHECK(out == expected);
      REQUIRE(report->dead_letters.size() == 1);
      CHECK(report->dead_letters[0].record == "1234");
      CHECK(report->dead_letters[0].origin == "double#0");
      CHECK(report->dead_letters[0].reason == "injected fault: double#0 threw on its record 1235");
      CHECK(report->faults == std::vector<std::string>{report->dead_letters[0].reason});
      CHECK(report->recoveries.empty());
    }
  }
  GIVEN("error_policy::fail with checkpoints: the record throws in every incarnation") {
    for (auto mode : {recovery_mode::single_task, recovery_mode::whole_job}) {
      auto cfg = job_config{}
                     .with_threads(2)
                     .with_batch_size(16)
                     .with_checkpoints(test::temp_dir("eddy_checkpoints_throw"), 10ms)
                     .with_faults(*plan);
      cfg.checkpoints.recovery = mode;
      job j{cfg};
      std::vector<int64_t> out;
      j.source(generator<int64_t>(3'000, [](uint64_t i) { return static_cast<int64_t>(i); })
                   .at_rate(20'000))
          .name("numbers")
          .map([](const int64_t& x) { return 2 * x; })
          .name("double")
          .on_error(error_policy::fail)
          .sink(collect(out));
      auto report = j.run();
      if (!report)
        FAIL(describe(report.error()));
      THEN("three failures are recovered, the fourth attempt makes it a poison record") {
        std::sort(out.begin(), out.end());
        CHECK(out == expected);
        CHECK(report->recoveries.size() == 3);
        CHECK(report->faults.size() == 4); // thrown four times, the last one dead-lettered
        REQUIRE(report->dead_letters.size() == 1);
        CHECK(report->dead_letters[0].record == "1234");
        CHECK(report->dead_letters[0].reason.find("poison record") != std::string::npos);
      }
    }
  }
  GIVEN("a plan that names a source or an instance that does not exist") {
    for (auto [text, says] :
         {std::pair{"throw:numbers@record=5", "'numbers' is a source"},
          std::pair{"throw:double#2@record=5", "there is no #2 to make throw"},
          std::pair{"kill:nothing@at=1s", "no operator named 'nothing' to kill"}}) {
      job j{job_config{}.with_faults(*parse_fault_plan(text))};
      std::vector<int64_t> out;
      j.source(generator<int64_t>(10, [](uint64_t i) { return static_cast<int64_t>(i); }))
          .name("numbers")
          .map([](const int64_t& x) { return 2 * x; })
          .name("double")
          .sink(collect(out));
      auto report = j.run();
      REQUIRE_FALSE(report);
      CHECK_THAT(describe(report.error()), Catch::Contains(says));
    }
  }
}

SCENARIO("checkpoints complete within twice their interval behind a sink far slower than the "
         "rest of the job") {
  // The sink takes 50 us of busy work per record, the source and the map well under 1 us: the
  // job runs at the sink's pace, every channel full. Barriers are aligned and queue behind the
  // records in flight. Credits bound those to 4 batches per channel, but a default batch (65,536
  // records here) is over 3 s of the sink's work: buffer debloating makes each channel's batches
  // about 20 ms of it (channel_config::debloat_target), so a barrier waits for a few hundred
  // records, not for seconds.
  struct slow_sink {
    std::shared_ptr<std::atomic<uint64_t>> seen;
    void operator()(const int64_t&) {
      auto until = std::chrono::steady_clock::now() + 50us;
      while (std::chrono::steady_clock::now() < until) {
      }
      seen->fetch_add(1, std::memory_order_relaxed);
    }
  };
  auto seen = std::make_shared<std::atomic<uint64_t>>(0);
  // The bound is on the barriers' way through the job; the snapshot files are fsynced, and on
  // this machine's shared disk an fsync alone sometimes took 150 ms. In memory, only the
  // alignment counts.
  auto dir = test::memory_temp_dir("eddy_checkpoints_slow_sink");
  // Alone, they take 35-60 ms (twice that with both cores busy with other work, rarely more).
  constexpr auto interval = 200ms;
  job j{job_config{}.with_threads(2).with_checkpoints(dir, interval)};
  j.source(generator<int64_t>(40'000, [](uint64_t i) { return static_cast<int64_t>(i); }))
      .name("numbers")
      .map([](const int64_t& x) { return 2 * x; })
      .name("double")
      .sink(slow_sink{seen})
      .name("slow");
  auto report = j.run();
  REQUIRE(report);
  CHECK(seen->load() == 40'000);
  // About 2 s at the sink's pace: a checkpoint started every 200 ms, each completed in time.
  CHECK(report->checkpoints.size() >= 5);
  CHECK(report->checkpoints_abandoned == 0);
  for (const auto& c : report->checkpoints) {
    INFO("checkpoint " << c.id << " took " << c.duration.count() / 1'000'000 << " ms");
    CHECK(c.duration < 2 * interval);
  }
}

SCENARIO("a source that cannot seek is refused when checkpoints are on") {
  struct once {
    using value_type = int;
    produce_result produce(source_context<int>& ctx) {
      ctx.emit(1);
      return {produce_result::done, {}};
    }
  };
  job j{job_config{}.with_checkpoints(test::temp_dir("eddy_checkpoints_refused"))};
  std::vector<int> out;
  j.source(once{}).name("once").sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK(describe(report.error()).find("source 'once' cannot go back") != std::string::npos);
}

SCENARIO("dead letters are reported exactly once across a recovery") {
  auto dir = test::temp_dir("eddy_checkpoints_dead_letters");
  fault_plan faults;
  faults.crashes.push_back({"collect", 0, 3'000});
  job j{job_config{}.with_threads(2).with_batch_size(32).with_checkpoints(dir, 20ms).with_faults(
      faults)};
  std::vector<int64_t> out;
  j.source(generator<int64_t>(6'000, [](uint64_t i) { return static_cast<int64_t>(i); })
               .at_rate(20'000))
      .map([](const int64_t& x) -> int64_t {
        if (x % 100 == 7)
          throw std::runtime_error("bad " + std::to_string(x));
        return x;
      })
      .name("check")
      .sink(collect(out))
      .name("collect");
  auto report = j.run();
  REQUIRE(report);
  CHECK(report->recoveries.size() == 1);
  CHECK(out.size() == 6'000 - 60);
  REQUIRE(report->dead_letters.size() == 60);
  std::vector<std::string> reasons;
  for (const auto& d : report->dead_letters)
    reasons.push_back(d.reason);
  std::sort(reasons.begin(), reasons.end());
  CHECK(std::adjacent_find(reasons.begin(), reasons.end()) == reasons.end());
}

SCENARIO("keyed windows restored by a whole-job restart give the closed-form sums on both "
         "backends") {
  shuffled_grid g;
  g.keys = 5;
  g.times = 1'500; // 7,500 events at 15,000/s
  for (bool rocksdb : {false, true}) {
    INFO((rocksdb ? "RocksDB" : "memory") << " backend");
    fault_plan faults;
    faults.crashes.push_back({"windows", 1, 2'000});
    auto cfg = job_config{}
                   .with_threads(2)
                   .with_batch_size(32)
                   .with_checkpoints(test::temp_dir("eddy_checkpoints_windows"), 20ms)
                   .with_faults(faults);
    cfg.checkpoints.recovery = recovery_mode::whole_job; // single_task_recovery_test: the other
    if (rocksdb)
      cfg.with_state_backend(
          state::backend_config{}.with_rocksdb(test::temp_dir("eddy_checkpoints_windows_db")));
    job_report report;
    auto got = test::run_paced_windows(cfg, g, 15'000, &report);
    CHECK(differences(rows(got), closed_form(g, 100, 100)) == "");
    REQUIRE(report.recoveries.size() == 1);
    CHECK_FALSE(report.recoveries[0].single_task);
    CHECK(report.recoveries[0].from_checkpoint > 0);
    CHECK(report.checkpoints.size() >= 2);
  }
}

SCENARIO("a damaged snapshot file is detected: the job goes back to the checkpoint before, and "
         "the output is exact") {
  // windows#1 crashes after at least two checkpoints completed; the recovery finds a snapshot
  // file of the checkpoint it goes back to corrupted (or cut short), and the whole job goes
  // back one checkpoint further.
  shuffled_grid g;
  g.keys = 5;
  g.times = 1'500; // 7,500 events at 15,000/s
  for (auto damage : {"corrupt:snapshot", "truncate:snapshot"}) {
    INFO(damage);
    auto faults = parse_fault_plan(std::string{"crash:windows#1@after=2000; "} + damage);
    REQUIRE(faults);
    auto cfg = job_config{}
                   .with_threads(2)
                   .with_batch_size(32)
                   .with_checkpoints(test::temp_dir("eddy_checkpoints_damaged"), 20ms)
                   .with_faults(*faults);
    job_report report;
    auto got = test::run_paced_windows(cfg, g, 15'000, &report);
    CHECK(differences(rows(got), closed_form(g, 100, 100)) == "");
    std::string faults_seen;
    for (const auto& f : report.faults)
      faults_seen += f + "; ";
    INFO("faults: " << faults_seen);
    REQUIRE(report.faults.size() == 2);
    CHECK(report.faults[0].find("windows#1 crashed after") != std::string::npos);
    auto damaged = report.faults[1];
    CHECK(damaged.find(std::string{"injected fault: "} +
                       (damage[0] == 'c' ? "corrupted " : "truncated ")) == 0);
    // The damaged checkpoint's id ends the sentence.
    auto id = std::stoll(damaged.substr(damaged.rfind(' ') + 1));
    REQUIRE(report.recoveries.size() == 1);
    CHECK_FALSE(report.recoveries[0].single_task);
    CHECK(report.recoveries[0].fallback.find("its snapshot does not load") == 0);
    CHECK(report.recoveries[0].from_checkpoint < id); // one further back (or more, had one
    CHECK(report.recoveries[0].from_checkpoint > 0);  // in between been abandoned)
    std::string notes;
    for (const auto& n : report.notes)
      notes += n + "; ";
    CHECK(notes.find("checkpoint " + std::to_string(id) + " is damaged") != std::string::npos);
  }
}

SCENARIO("a failed snapshot write abandons its checkpoint; the next one completes") {
  auto faults = parse_fault_plan("fail:snapshot@checkpoint=2");
  REQUIRE(faults);
  auto report =
      run_doubling(job_config{}
                       .with_threads(2)
                       .with_batch_size(64)
                       .with_checkpoints(test::temp_dir("eddy_checkpoints_failed_write"), 20ms)
                       .with_faults(*faults),
                   6'000);
  REQUIRE(report.faults.size() == 1);
  CHECK(report.faults[0] == "injected fault: a snapshot write of checkpoint 2 fails");
  CHECK(report.checkpoints_abandoned == 1);
  REQUIRE(report.notes.size() == 1);
  CHECK(report.notes[0].find("checkpoint 2 abandoned") == 0);
  REQUIRE(report.checkpoints.size() >= 2);
  CHECK(report.checkpoints[0].id == 1);
  CHECK(report.checkpoints[1].id == 3);
  CHECK(report.recoveries.empty());
}

SCENARIO("faults of checkpoints in a job without checkpoints are a configuration mistake") {
  for (auto [plan, says] :
       {std::pair{"corrupt:snapshot", "damages snapshot files (corrupt:snapshot)"},
        std::pair{"halt:job@checkpoint=2",
                  "halts the job after a checkpoint (halt:job@checkpoint=2)"}}) {
    INFO(plan);
    auto faults = parse_fault_plan(plan);
    REQUIRE(faults);
    job j{job_config{}.with_threads(2).with_faults(*faults)};
    std::vector<int64_t> out;
    doubling_job(j, 100, 0, out);
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains(says));
    CHECK_THAT(describe(report.error()),
               Catch::Contains("but the job takes no checkpoints: turn them on with "
                               "job_config.with_checkpoints"));
  }
}
