// Savepoints: a job stops at a savepoint (or takes one and goes on), and a job started from it,
// also with another parallelism or a state type that gained a field, produces exactly what the
// run without the stop would have produced after it.
#include "halted.hpp"
#include "savepoint_fixtures.hpp"
#include "temp_dir.hpp"

#include <eddy/checkpoint/storage.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;
using test::event;
using test::grid_source;
using test::rows;
using test::savepoint_order;
using test::shuffled_grid;
using test::tally_row;

namespace {

/// A key's running count.
struct count_row {
  int32_t key = 0;
  int64_t count = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, count_row& x) {
  return f(x.key, x.count);
}

/// Counts each key's records in keyed state, emitting the running count.
struct running_count {
  state::value_state<int64_t> n;
  void open(keyed_context<int32_t, count_row>& ctx) {
    n = *ctx.state().declare_value<int64_t>("n");
  }
  void operator()(const event& e, keyed_context<int32_t, count_row>& ctx) {
    auto c = n.value_or(0) + 1;
    n.update(c);
    ctx.emit(count_row{e.key, c});
  }
};

/// What one run of `savepoint_job` gives.
struct outputs {
  std::vector<count_row> counts;
  std::vector<test::result> windows;
  job_report report;
};

/// source "events" (1 instance) -> key_by -> running counts "counts" and tumbling 100 ms windows
/// summing times "windows" (both `parallelism` instances) -> collect. With `lag` 0 the grid's
/// shuffled blocks make records late, which go to the dead-letter output.
outputs run_savepoint_job(job_config cfg, grid_source src, std::shared_ptr<savepoint_order> order,
                          uint32_t parallelism) {
  job j{cfg.with_parallelism(parallelism).with_batch_size(64)};
  order->j = order->at != 0 ? &j : nullptr;
  src.order = order;
  outputs out;
  auto events = j.source(src).name("events").parallelism(1);
  events.key_by([](const event& e) { return e.key; })
      .process<count_row>(running_count{})
      .name("counts")
      .sink(collect(out.counts));
  events.key_by([](const event& e) { return e.key; })
      .window(window_spec{100, 100, 0, late_policy::dead_letter})
      .aggregate(test::sum_times{})
      .name("windows")
      .sink(collect(out.windows));
  auto r = j.run();
  if (!r)
    FAIL(describe(r.error()));
  out.report = std::move(*r);
  return out;
}

std::vector<std::pair<int32_t, int64_t>> sorted(const std::vector<count_row>& xs) {
  std::vector<std::pair<int32_t, int64_t>> out;
  for (const auto& x : xs)
    out.emplace_back(x.key, x.count);
  std::sort(out.begin(), out.end());
  return out;
}

/// The records rejected as late, sorted (the reason names the watermark then, which depends on
/// when a deferred watermark caught up; the origin names an instance).
std::vector<std::string> late(const job_report& r) {
  std::vector<std::string> out;
  for (const auto& d : r.dead_letters)
    if (d.reason.find("late") != std::string::npos)
      out.push_back(d.record);
  std::sort(out.begin(), out.end());
  return out;
}

template <class T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

/// The savepoint a stopped run took (checked).
std::string savepoint_of(const outputs& o, const std::shared_ptr<savepoint_order>& order) {
  REQUIRE(order->result.valid());
  auto got = order->result.get();
  if (!got)
    FAIL(describe(got.error()));
  CHECK(o.report.stopped);
  REQUIRE(o.report.savepoints.size() == 1);
  CHECK(o.report.savepoints[0].path == got->path);
  CHECK(o.report.savepoints[0].id == got->id);
  return got->path;
}

} // namespace

SCENARIO("a job stopped at a savepoint goes on from it with other parallelism, 2 -> 4 -> 1, "
         "losing and repeating nothing") {
  shuffled_grid grid{11, 2'000, 40};
  uint64_t first = 11 * 700, second = 11 * 1500;
  // Right after each cut, records with time 0: late in every run (their window fired long
  // before), so a job started from the savepoint must know where event time was.
  grid_source src{
      grid, grid.out_of_orderness(), {first, second}, {first, first + 1, second, second + 2}};
  auto dir = test::temp_dir("eddy_savepoint_rescale");
  auto cfg = job_config{}.with_threads(2).with_checkpoints(dir, 1h);

  auto reference = run_savepoint_job(cfg, src, std::make_shared<savepoint_order>(), 2);
  REQUIRE(reference.report.late_record_count() == 4);

  auto order1 = std::make_shared<savepoint_order>();
  order1->at = first;
  auto one = run_savepoint_job(cfg, src, order1, 2);
  auto sp1 = savepoint_of(one, order1);
  // Exactly the records before the cut went through.
  CHECK(one.counts.size() == first);

  auto order2 = std::make_shared<savepoint_order>();
  order2->at = second;
  auto two = run_savepoint_job(job_config{cfg}.from_savepoint(sp1), src, order2, 4);
  auto sp2 = savepoint_of(two, order2);
  CHECK(two.counts.size() == second - first);
  REQUIRE(!two.report.notes.empty());
  CHECK(two.report.notes.front().find("with another parallelism") != std::string::npos);

  auto three = run_savepoint_job(job_config{cfg}.from_savepoint(sp2), src,
                                 std::make_shared<savepoint_order>(), 1);
  CHECK_FALSE(three.report.stopped);

  std::vector<count_row> counts;
  std::vector<test::result> windows;
  job_report all;
  for (auto* o : {&one, &two, &three}) {
    append(counts, o->counts);
    append(windows, o->windows);
    append(all.dead_letters, o->report.dead_letters);
  }
  CHECK(sorted(counts) == sorted(reference.counts));
  CHECK(test::differences(rows(windows), rows(reference.windows)).empty());
  INFO(test::differences(rows(windows), rows(reference.windows)));
  CHECK(late(all) == late(reference.report));
  // Each run rejected the late records of its part.
  CHECK(late(all).size() == 4);
  CHECK(one.report.dead_letters.empty());
  CHECK(two.report.dead_letters.size() == 2);
  CHECK(three.report.dead_letters.size() == 2);
}

SCENARIO("a savepoint taken while the job goes on is kept through pruning, and a job started "
         "from it produces exactly what followed it") {
  shuffled_grid grid{7, 1'500, 40};
  uint64_t cut = 7 * 700;
  grid_source src{grid, grid.out_of_orderness(), {cut}, {}};
  auto dir = test::temp_dir("eddy_savepoint_running");
  // Checkpoints every 5 ms, keeping only the last: the savepoint stays.
  auto cfg = job_config{}.with_threads(2).with_checkpoints(dir, 5ms);
  cfg.checkpoints.keep_last = 1;

  auto reference = run_savepoint_job(cfg, src, std::make_shared<savepoint_order>(), 2);
  auto order = std::make_shared<savepoint_order>();
  order->at = cut;
  order->stop = false;
  auto taken = run_savepoint_job(cfg, src, order, 2);
  REQUIRE(order->result.valid());
  auto sp = order->result.get();
  if (!sp)
    FAIL(describe(sp.error()));
  CHECK_FALSE(taken.report.stopped);
  CHECK(sorted(taken.counts) == sorted(reference.counts));
  CHECK(rows(taken.windows) == rows(reference.windows));
  REQUIRE(std::filesystem::is_directory(sp->path));
  auto loaded = checkpoint::storage::load_path(sp->path);
  REQUIRE(loaded);
  CHECK(loaded->m.savepoint);

  // From the savepoint, with 3 instances: the counts of the records from the cut on.
  auto rest = run_savepoint_job(job_config{}.with_threads(2).from_savepoint(sp->path), src,
                                std::make_shared<savepoint_order>(), 3);
  std::map<int32_t, int64_t> seen;
  std::vector<count_row> expected;
  for (uint64_t i = 0; i < grid.size(); ++i) {
    auto key = grid.at(i).key;
    auto c = ++seen[key];
    if (i >= cut)
      expected.push_back({key, c});
  }
  CHECK(sorted(rest.counts) == sorted(expected));
}

SCENARIO("starting from a savepoint of another job, or asking for one in vain, says what is "
         "wrong") {
  shuffled_grid grid{5, 400, 40};
  grid_source src{grid, grid.out_of_orderness(), {}, {}};
  auto dir = test::temp_dir("eddy_savepoint_mistakes");
  auto cfg = job_config{}.with_threads(2).with_checkpoints(dir, 1h);
  auto order = std::make_shared<savepoint_order>();
  order->at = 500;
  src.cuts = {500};
  auto stopped = run_savepoint_job(cfg, src, order, 2);
  auto sp = savepoint_of(stopped, order);

  WHEN("the job's operators differ") {
    job j{job_config{cfg}.from_savepoint(sp)};
    std::vector<count_row> out;
    j.source(src)
        .name("events")
        .key_by([](const event& e) { return e.key; })
        .process<count_row>(running_count{})
        .name("totals")
        .sink(collect(out));
    auto r = j.run();
    REQUIRE_FALSE(r);
    auto what = describe(r.error());
    INFO(what);
    CHECK(what.find("'counts'") != std::string::npos);
    CHECK(what.find("'totals'") != std::string::npos);
    CHECK(what.find("same operators") != std::string::npos);
  }
  WHEN("a source has another parallelism") {
    job j{job_config{cfg}.from_savepoint(sp).with_parallelism(2)};
    std::vector<count_row> counts;
    std::vector<test::result> windows;
    auto events = j.source(src).name("events").parallelism(2);
    events.key_by([](const event& e) { return e.key; })
        .process<count_row>(running_count{})
        .name("counts")
        .sink(collect(counts));
    events.key_by([](const event& e) { return e.key; })
        .window(window_spec{100, 100, 0, late_policy::dead_letter})
        .aggregate(test::sum_times{})
        .name("windows")
        .sink(collect(windows));
    auto r = j.run();
    REQUIRE_FALSE(r);
    CHECK(describe(r.error()).find("source 'events'") != std::string::npos);
  }
  WHEN("the folder is not a savepoint") {
    job j{job_config{cfg}.from_savepoint(dir + "/chk-0000009999")};
    std::vector<int> out;
    j.source(generator<int>(3, [](uint64_t i) { return int(i); })).sink(collect(out));
    auto r = j.run();
    REQUIRE_FALSE(r);
    CHECK(describe(r.error()).find("does not exist") != std::string::npos);
    job k{job_config{cfg}.from_savepoint(dir)};
    k.source(generator<int>(3, [](uint64_t i) { return int(i); })).sink(collect(out));
    auto r2 = k.run();
    REQUIRE_FALSE(r2);
    CHECK(describe(r2.error()).find("named chk-<id>") != std::string::npos);
  }
  WHEN("the job takes no checkpoints, or is not running") {
    job j{job_config{}};
    auto none = j.savepoint().get();
    REQUIRE_FALSE(none);
    CHECK(describe(none.error()).find("with_checkpoints") != std::string::npos);
    job k{cfg};
    auto idle = k.stop_with_savepoint().get();
    REQUIRE_FALSE(idle);
    CHECK(describe(idle.error()).find("not running") != std::string::npos);
  }
}

// -- broadcast state across a change of parallelism
// -------------------------------------------------

namespace {

struct threshold_rule {
  int32_t id = 0;
  int64_t threshold = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, threshold_rule& x) {
  return f(x.id, x.threshold);
}

struct flagged {
  int32_t key = 0;
  int64_t time = 0;
  int64_t threshold = 0; // -1: no rule for the key
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, flagged& x) {
  return f(x.key, x.time, x.threshold);
}

/// Tags each event with its rule's threshold from broadcast state; counts the rules it took.
struct look_up {
  using kctx = keyed_broadcast_context<int32_t, flagged, int32_t, int64_t>;
  std::shared_ptr<std::atomic<int>> rules_taken;
  void open(kctx&) {}
  void process_element(const event& e, kctx& ctx) {
    const auto* th = ctx.broadcast_state().get(e.key % 3);
    ctx.emit(flagged{e.key, e.time, th != nullptr ? *th : -1});
  }
  void process_broadcast(const threshold_rule& r,
                         broadcast_context<int32_t, int64_t, flagged>& ctx) {
    ctx.state().put(r.id, r.threshold);
    ++*rules_taken;
  }
};

std::vector<flagged> run_look_up(job_config cfg, grid_source src,
                                 std::shared_ptr<savepoint_order> order, uint32_t parallelism,
                                 job_report* report) {
  job j{cfg.with_batch_size(64)};
  order->j = order->at != 0 ? &j : nullptr;
  src.order = order;
  auto taken = std::make_shared<std::atomic<int>>(0);
  src.gate = taken; // the events wait until the rules are in the broadcast state
  src.gate_count = order->at != 0 ? 3 : 0;
  std::vector<flagged> out;
  j.source(src)
      .name("events")
      .key_by([](const event& e) { return e.key; })
      .connect(j.source(from_container(std::vector<threshold_rule>{{0, 10}, {1, 20}, {2, 30}}))
                   .name("rules")
                   .broadcast_state<int32_t, int64_t>("rules"))
      .process<flagged>(look_up{taken})
      .name("look-up")
      .parallelism(parallelism)
      .sink(collect(out));
  auto r = j.run();
  if (!r)
    FAIL(describe(r.error()));
  *report = std::move(*r);
  return out;
}

} // namespace

SCENARIO("after a change of parallelism every instance of a broadcast operator has the broadcast "
         "state") {
  shuffled_grid grid{7, 300, 40};
  uint64_t cut = 7 * 100;
  grid_source src{grid, grid.out_of_orderness(), {cut}, {}};
  auto dir = test::temp_dir("eddy_savepoint_broadcast");
  auto cfg = job_config{}.with_threads(2).with_checkpoints(dir, 1h);
  // One instance takes the three rules, then the events up to the cut, and stops.
  auto order = std::make_shared<savepoint_order>();
  order->at = cut;
  job_report first;
  auto before = run_look_up(cfg, src, order, 1, &first);
  REQUIRE(order->result.valid());
  auto sp = order->result.get();
  REQUIRE(sp);
  CHECK(before.size() == cut);
  // Three instances go on: the rules source had ended, so the new instances know the rules only
  // from the savepoint.
  job_report second;
  auto after = run_look_up(job_config{cfg}.from_savepoint(sp->path), src,
                           std::make_shared<savepoint_order>(), 3, &second);
  REQUIRE(after.size() == grid.size() - cut);
  for (const auto& x : after) {
    INFO("key " << x.key << " at " << x.time);
    CHECK(x.threshold == 10 * (x.key % 3 + 1));
  }
}

// -- a state type that gained a field -------------------------------------------------------------

namespace {

/// A key's tally as version 0 of a program kept it (version 1 is in savepoint_tally_v1.cpp).
struct tally {
  int64_t count = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& count;
  }
};

/// Counts each key's records.
struct tallying {
  state::value_state<tally> state;
  void open(keyed_context<int32_t, tally_row>& ctx) {
    state = *ctx.state().declare_value<tally>("tally");
  }
  void operator()(const event& e, keyed_context<int32_t, tally_row>& ctx) {
    auto t = state.value_or(tally{});
    ++t.count;
    state.update(t);
    ctx.emit(tally_row{e.key, t.count, 0});
  }
};

} // namespace

namespace eddy::test {

caf::expected<job_report> run_tally_v0(job_config cfg, grid_source src,
                                       std::shared_ptr<savepoint_order> order,
                                       std::vector<tally_row>& out) {
  return run_tally<tallying>(std::move(cfg), std::move(src), std::move(order), out);
}

} // namespace eddy::test

SCENARIO("a savepoint loads after its state type gained a field; a newer one is refused with the "
         "operator and the version") {
  shuffled_grid grid{5, 600, 40};
  uint64_t cut = 5 * 300;
  grid_source src{grid, grid.out_of_orderness(), {cut}, {}};
  auto dir = test::temp_dir("eddy_savepoint_versions");
  auto cfg = job_config{}.with_threads(2).with_checkpoints(dir, 1h);

  auto order = std::make_shared<savepoint_order>();
  order->at = cut;
  std::vector<tally_row> before;
  auto stopped = test::run_tally_v0(cfg, src, order, before);
  REQUIRE(stopped);
  auto sp = order->result.get();
  REQUIRE(sp);
  CHECK(before.size() == cut);

  // Version 1 goes on from version 0's state: counts continue, sums start with the new field.
  std::vector<tally_row> after;
  auto order2 = std::make_shared<savepoint_order>();
  order2->at = cut + 500;
  src.cuts.push_back(cut + 500);
  auto went_on = test::run_tally_v1(job_config{cfg}.from_savepoint(sp->path), src, order2, after);
  if (!went_on)
    FAIL(describe(went_on.error()));
  auto sp2 = order2->result.get();
  REQUIRE(sp2);
  std::map<int32_t, int64_t> counts;
  std::map<int32_t, int64_t> sums;
  std::vector<tally_row> expected;
  for (uint64_t i = 0; i < cut + 500; ++i) {
    auto e = grid.at(i);
    auto c = ++counts[e.key];
    if (i >= cut)
      expected.push_back({e.key, c, sums[e.key] += e.time});
  }
  auto key_of = [](const tally_row& x) { return std::make_tuple(x.key, x.count, x.time_sum); };
  auto order_rows = [&](std::vector<tally_row>& xs) {
    std::sort(xs.begin(), xs.end(), [&](auto& a, auto& b) { return key_of(a) < key_of(b); });
  };
  order_rows(after);
  order_rows(expected);
  REQUIRE(after.size() == expected.size());
  for (size_t i = 0; i < after.size(); ++i)
    CHECK(key_of(after[i]) == key_of(expected[i]));

  // Version 0 cannot read version 1's state: refused, naming the operator and the version.
  std::vector<tally_row> refused_out;
  auto refused = test::run_tally_v0(job_config{}.with_threads(2).from_savepoint(sp2->path), src,
                                    std::make_shared<savepoint_order>(), refused_out);
  REQUIRE_FALSE(refused);
  auto what = describe(refused.error());
  CHECK(what.find("tallies#") != std::string::npos);
  CHECK(what.find("written by version 1") != std::string::npos);
  CHECK(what.find("BOOST_CLASS_VERSION here is 0") != std::string::npos);
}

SCENARIO("a savepoint keeping an exactly-once sink's records in an earlier eddy's format is "
         "refused, not half restored") {
  auto dir = test::temp_dir("eddy_savepoint_old_sink");
  auto cfg = job_config{}.with_threads(2).with_checkpoints(dir, 10ms);
  cfg.faults.halt_after_checkpoint = 2; // the job stops dead there, naming the folder
  std::vector<int> out;
  job a{cfg};
  a.source(generator<int>(1'000'000, [](uint64_t i) { return int(i); }).at_rate(20'000))
      .name("numbers")
      .sink(collect(out))
      .name("kept");
  auto halted = a.run();
  REQUIRE_FALSE(halted);
  auto path = test::halted_at(halted.error());
  REQUIRE_FALSE(path.empty());
  // What an earlier eddy wrote: the sink instance's own state holds its uncommitted records.
  auto chk = checkpoint::storage::load_path(path);
  REQUIRE(chk);
  auto storage = checkpoint::storage::open(std::filesystem::path{path}.parent_path());
  REQUIRE(storage);
  auto m = chk->m;
  bool rewritten = false;
  for (auto& t : m.tasks)
    if (t.op == "kept" && !t.finished) {
      auto st = chk->states.at({t.op_index, t.instance});
      st.operator_state = "EKS1 an earlier eddy's blocks";
      auto bytes = storage->write_snapshot(
          checkpoint::snapshot_meta{m.id, t.op_index, t.op, t.instance, t.parallelism, 0, 0, 0},
          st);
      REQUIRE(bytes);
      t.bytes = *bytes;
      rewritten = true;
    }
  REQUIRE(rewritten);
  REQUIRE_FALSE(storage->complete(m));
  job b{job_config{}.with_threads(2).from_savepoint(path)};
  b.source(generator<int>(1'000'000, [](uint64_t i) { return int(i); }))
      .name("numbers")
      .sink(collect(out))
      .name("kept");
  auto r = b.run();
  REQUIRE_FALSE(r);
  CHECK_THAT(describe(r.error()),
             Catch::Contains("sink 'kept'") && Catch::Contains("format of an earlier eddy"));
}
