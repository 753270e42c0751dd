// The Kafka sink (kafka/sink.hpp) against the embedded cluster: what a job writes is in the
// topic, keyed records stay in order on one partition, at least once across crashes, a topic
// read, mapped and written again, kcat reading what a job wrote, and mistakes named up front.
#include "../operators/halted.hpp"
#include "../operators/temp_dir.hpp"
#include "fixtures.hpp"

#include <eddy/checkpoint/storage.hpp>
#include <eddy/kafka/internal/client.hpp>
#include <eddy/kafka/internal/transaction_committer.hpp>
#include <eddy/kafka/mock_cluster.hpp>
#include <eddy/kafka/sink.hpp>
#include <eddy/kafka/source.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

using test::read_all;
using test::wait_for;

namespace {

struct alert {
  int32_t mote = 0;
  int64_t id = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alert& x) {
  return f(x.mote, x.id);
}

void to_json(nlohmann::json& j, const alert& x) {
  j = nlohmann::json{{"mote", x.mote}, {"id", x.id}};
}

void from_json(const nlohmann::json& j, alert& x) {
  j.at("mote").get_to(x.mote);
  j.at("id").get_to(x.id);
}

/// How often each alert id is in `topic`.
std::map<int64_t, int> ids_in(const std::string& bootstrap, const std::string& topic) {
  std::map<int64_t, int> seen;
  for (const auto& [p, msgs] : read_all(bootstrap, topic))
    for (const auto& m : msgs)
      ++seen[nlohmann::json::parse(m.value).get<alert>().id];
  return seen;
}

/// One alert `id` as a committer's staged records.
std::vector<kafka::internal::outgoing> one(int64_t id) {
  std::vector<kafka::internal::outgoing> xs;
  xs.push_back({-1, "", nlohmann::json(alert{0, id}).dump()});
  return xs;
}

generator<alert> alerts(int64_t n) {
  return generator<alert>(uint64_t(n), [](uint64_t i) {
    return alert{int32_t(i % 5), int64_t(i)};
  });
}

/// Two instances: instance 0 emits alerts [0, early) at once and ends; instance 1 emits
/// [early, n), 20 at a time with a millisecond between (replayable: its position is the next id).
struct uneven {
  using value_type = alert;
  using position_type = int64_t;
  int64_t n = 0;
  int64_t early = 0;
  int64_t next = 0;
  int64_t end = 0;
  void open(uint32_t instance, uint32_t) {
    next = instance == 0 ? 0 : early;
    end = instance == 0 ? early : n;
  }
  produce_result produce(source_context<alert>& ctx) {
    auto stop = std::min(end, end == early ? early : next + 20);
    for (; next < stop; ++next)
      ctx.emit(alert{int32_t(next % 5), next});
    if (next >= end)
      return {produce_result::done, {}};
    return {produce_result::wait, std::chrono::milliseconds{1}};
  }
  [[nodiscard]] int64_t position() const { return next; }
  void seek(int64_t at) { next = at; }
};

} // namespace

SCENARIO("a Kafka sink writes every record, each key's records on one partition") {
  auto cluster = kafka::mock_cluster::start(2);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("alerts", 3));
  job j{job_config{}.with_threads(2).with_batch_size(64)};
  j.source(alerts(3'000))
      .sink(kafka::to_topic<alert>(cluster->bootstrap(), "alerts").json().key([](const alert& a) {
        return std::to_string(a.mote);
      }))
      .parallelism(2);
  auto report = j.run();
  if (!report)
    FAIL(describe(report.error()));
  auto topic = read_all(cluster->bootstrap(), "alerts");
  std::vector<int64_t> ids;
  std::map<std::string, int32_t> partition_of_key;
  for (const auto& [p, msgs] : topic) {
    for (const auto& m : msgs) {
      auto a = nlohmann::json::parse(m.value).get<alert>();
      CHECK(m.key == std::to_string(a.mote));
      CHECK((partition_of_key.count(m.key) == 0 || partition_of_key[m.key] == p));
      partition_of_key[m.key] = p;
      ids.push_back(a.id);
    }
  }
  std::sort(ids.begin(), ids.end());
  REQUIRE(ids.size() == 3'000);
  for (int64_t i = 0; i < 3'000; ++i)
    CHECK(ids[size_t(i)] == i);
}

SCENARIO("a Kafka sink ending a keyed stream keys its records by the stream's key") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("keyed", 4));
  REQUIRE(!cluster->create_topic("parted", 4));
  job j{job_config{}.with_threads(2).with_batch_size(64)};
  auto keyed = j.source(alerts(2'000)).key_by([](const alert& a) { return a.mote; });
  keyed.sink(kafka::to_topic<alert>(cluster->bootstrap(), "keyed").json()).parallelism(2);
  // .partition(f) says otherwise: no key.
  keyed
      .sink(
          kafka::to_topic<alert>(cluster->bootstrap(), "parted").json().partition([](const alert&) {
            return 3;
          }))
      .parallelism(2);
  auto report = j.run();
  if (!report)
    FAIL(describe(report.error()));
  std::map<std::string, std::set<int32_t>> partitions_of_key;
  size_t n = 0;
  for (const auto& [p, msgs] : read_all(cluster->bootstrap(), "keyed"))
    for (const auto& m : msgs) {
      CHECK(m.key == std::to_string(nlohmann::json::parse(m.value).get<alert>().mote));
      partitions_of_key[m.key].insert(p);
      ++n;
    }
  CHECK(n == 2'000);
  CHECK(partitions_of_key.size() == 5);
  for (const auto& [key, ps] : partitions_of_key)
    CHECK(ps.size() == 1);
  auto parted = read_all(cluster->bootstrap(), "parted");
  REQUIRE(parted.size() == 1);
  CHECK(parted.begin()->first == 3);
  CHECK(parted.begin()->second.size() == 2'000);
  CHECK(parted.begin()->second.front().key.empty());
}

SCENARIO("a Kafka sink delivers at least once across crashes and recoveries") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("out", 2));
  // Acknowledgements take 10 ms: at every barrier records are still in flight, so a sink that
  // did not wait for them at the barrier would lose them with the crash.
  REQUIRE(!cluster->set_round_trip_time(1, 10ms));
  constexpr int64_t n = 6'000;
  fault_plan faults;
  faults.crashes.push_back({"write", 0, 2'500});
  auto cfg = job_config{}
                 .with_threads(2)
                 .with_batch_size(50)
                 .with_checkpoints(test::temp_dir("eddy_kafka_sink"), 5ms)
                 .with_faults(faults);
  job j{cfg};
  j.source(alerts(n).at_rate(200'000))
      .parallelism(2)
      .sink(kafka::to_topic<alert>(cluster->bootstrap(), "out").json())
      .name("write")
      .parallelism(2);
  auto report = j.run();
  if (!report)
    FAIL(describe(report.error()));
  CHECK(report->recoveries.size() == 1);
  auto seen = ids_in(cluster->bootstrap(), "out");
  REQUIRE(seen.size() == size_t(n)); // every record, some twice (what followed the checkpoint)
  CHECK(seen.begin()->first == 0);
  CHECK(seen.rbegin()->first == n - 1);
}

SCENARIO("an exactly-once Kafka sink writes every record once across crashes, recovered alone "
         "or with the whole job") {
  // The mock cluster does not hide aborted transactions from readers (kafka/README.md), so
  // this checks the stronger property the sink gives: what a failed attempt wrote never
  // reached Kafka at all.
  constexpr int64_t n = 6'000;
  for (auto mode : {recovery_mode::single_task, recovery_mode::whole_job}) {
    auto cluster = kafka::mock_cluster::start(1);
    REQUIRE(cluster);
    REQUIRE(!cluster->create_topic("once", 2));
    // Early in each instance's ~3,000 records: a replacement that goes back to a checkpoint
    // taken after the first crash still takes enough records for the second to fire.
    fault_plan faults;
    faults.crashes.push_back({"write", 0, 700});
    faults.crashes.push_back({"double", 1, 500});
    auto cfg = job_config{}
                   .with_threads(2)
                   .with_batch_size(50)
                   .with_checkpoints(test::temp_dir("eddy_kafka_exactly_once"), 5ms)
                   .with_faults(faults);
    cfg.checkpoints.recovery = mode;
    auto sink = kafka::to_topic<alert>(cluster->bootstrap(), "once")
                    .json()
                    .key([](const alert& a) { return std::to_string(a.mote); })
                    .exactly_once("eddy-test-once");
    job j{cfg};
    j.source(alerts(n).at_rate(200'000))
        .parallelism(2)
        .map([](const alert& a) {
          return alert{a.mote, 2 * a.id};
        })
        .name("double")
        .parallelism(2)
        .sink(sink)
        .name("write")
        .parallelism(2);
    auto report = j.run();
    if (!report)
      FAIL(describe(report.error()));
    size_t covered = 0; // both crashes: recovered, or covered by a recovery under way
    for (const auto& r : report->recoveries)
      covered += 1 + r.also.size();
    CHECK(covered == 2);
    auto seen = ids_in(cluster->bootstrap(), "once");
    REQUIRE(seen.size() == size_t(n));
    int64_t expected = 0;
    for (const auto& [id, times] : seen) {
      INFO("id " << id);
      CHECK(id == 2 * expected++);
      CHECK(times == 1);
    }
    // Everything was committed, in at least one transaction (one per completed checkpoint
    // that had records, and the end).
    auto committer =
        std::dynamic_pointer_cast<kafka::internal::transaction_committer>(sink.committer());
    REQUIRE(committer);
    CHECK(committer->transactions() >= 1);
    CHECK(committer->staged_bytes() == 0);
  }
}

SCENARIO("an exactly-once Kafka sink tries a commit the cluster refuses again, and a fenced "
         "producer is replaced") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("txn", 1));
  auto props = kafka::internal::properties{{"bootstrap.servers", cluster->bootstrap()}};
  kafka::internal::transaction_committer a{props, "txn", "eddy-test-txn", "txn.commits", 10s};
  a.stage(1, 0, one(1));
  a.stage(2, 0, one(2));
  a.stage(2, 1, one(3));
  CHECK(a.staged_bytes() > 0);
  // Ending the transaction fails twice with errors a client retries (the coordinator is
  // loading, then moved): the commit goes through.
  cluster->push_request_errors(kafka::request::end_txn, {14, 16});
  CHECK_FALSE(a.commit(1));
  CHECK(a.transactions() == 1);
  a.abort_instance_after(1, 1); // drops id 3 only
  a.abort_after(2);             // drops nothing
  // The producer is fenced, not by another eddy job (none wrote a claim to the commit log): as
  // when the transaction coordinator bumped its epoch after a timeout. (The mock does not fence
  // a producer when another one initialises the same transactional id: the broker's answer,
  // PRODUCER_FENCED, is injected.)
  cluster->push_request_errors(kafka::request::add_partitions_to_txn, {90});
  // The fenced one finds out at its next commit, and a new producer takes over.
  CHECK(a.producers() == 1);
  CHECK_FALSE(a.commit(2));
  CHECK(a.producers() == 2);
  CHECK(a.transactions() == 2);
  CHECK(a.staged_bytes() == 0);
  CHECK(a.failure().empty());
  auto seen = ids_in(cluster->bootstrap(), "txn");
  CHECK(seen.count(1) == 1);
  CHECK(seen.count(2) == 1);
  CHECK(seen.count(3) == 0);
  // What is aborted is gone before it reaches Kafka.
  a.stage(3, 0, one(5));
  a.abort_after(2);
  CHECK(a.staged_bytes() == 0);
  CHECK_FALSE(a.commit(3));
  CHECK(ids_in(cluster->bootstrap(), "txn").count(5) == 0);
}

SCENARIO("an exactly-once Kafka sink whose transactional id another job took over stops for "
         "good instead of fencing it back") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("zombie", 1));
  auto props = kafka::internal::properties{{"bootstrap.servers", cluster->bootstrap()}};
  auto committer = [&] {
    return std::make_unique<kafka::internal::transaction_committer>(props, "zombie", "eddy-zombie",
                                                                    "eddy-zombie.commits", 10s);
  };
  auto old = committer();
  old->stage(1, 0, one(1));
  CHECK_FALSE(old->commit(1));
  // Its process was given up for dead, and a job started from its checkpoint takes over (what
  // the sink's check() does before that job starts) while the old process lives on.
  // (The mock does not fence the old producer when the new one initialises the same
  // transactional id: the broker's answer to the old one's next commit, PRODUCER_FENCED, is
  // injected.)
  auto next = committer();
  REQUIRE_FALSE(next->take_over());
  // The old one commits once more before any fence reaches it (the mock lets it): its commit
  // record lies after the new one's claim. The new one is then fenced for an ordinary reason (an
  // epoch bump): a commit record is no claim, so it replaces its producer and goes on.
  old->stage(2, 0, one(2));
  CHECK_FALSE(old->commit(2));
  cluster->push_request_errors(kafka::request::add_partitions_to_txn, {90});
  next->stage(2, 0, one(3));
  CHECK_FALSE(next->commit(2));
  CHECK(next->producers() == 2);
  CHECK(next->superseded().empty());
  // The old one's next commit meets the fence: the log holds a newer claim, so it stops.
  cluster->push_request_errors(kafka::request::add_partitions_to_txn, {90});
  old->stage(3, 0, one(4));
  auto err = old->commit(3);
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("another job took over transactional id"));
  CHECK_FALSE(old->superseded().empty());
  CHECK(old->transactions() == 2);
  // The new one was not fenced back: it commits, and the old one never sends again.
  auto before = ids_in(cluster->bootstrap(), "zombie");
  CHECK(old->commit(3));
  next->stage(3, 0, one(5));
  CHECK_FALSE(next->commit(3));
  CHECK(next->transactions() == 2);
  CHECK(old->transactions() == 2);
  CHECK(old->producers() == 1);
  CHECK(before == std::map<int64_t, int>{{1, 1}, {2, 1}, {3, 1}});
  CHECK(ids_in(cluster->bootstrap(), "zombie") ==
        std::map<int64_t, int>{{1, 1}, {2, 1}, {3, 1}, {5, 1}});
  // A sink object used again claims anew at its next start (take_over), superseded for good
  // or not: the superseded one refuses.
  CHECK(old->take_over());
  CHECK_FALSE(next->take_over());
  CHECK(next->producers() == 3);
}

SCENARIO("a job whose exactly-once Kafka sink another job took over ends, saying so") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("taken", 1));
  auto sink = kafka::to_topic<alert>(cluster->bootstrap(), "taken").json().exactly_once();
  auto committer =
      std::dynamic_pointer_cast<kafka::internal::transaction_committer>(sink.committer());
  REQUIRE(committer);
  auto cfg = job_config{}.with_threads(2).with_batch_size(20).with_checkpoints(
      test::temp_dir("eddy_kafka_taken"), 20ms);
  cfg.checkpoints.max_restarts = 2;
  job a{cfg};
  a.source(alerts(40'000).at_rate(2'000)).sink(sink);
  caf::expected<job_report> report{caf::error{}};
  std::thread running{[&] { report = a.run(); }};
  bool committed = wait_for([&] { return committer->transactions() >= 1; });
  // Another job takes the id over while this one runs; the fence its producer then meets (which
  // the mock does not give) is injected.
  auto props = kafka::internal::properties{{"bootstrap.servers", cluster->bootstrap()}};
  kafka::internal::transaction_committer other{props, "taken", "eddy-taken", "eddy-taken.commits",
                                               10s};
  auto took = other.take_over();
  cluster->push_request_errors(kafka::request::add_partitions_to_txn, {90});
  running.join();
  CHECK(committed);
  CHECK_FALSE(took);
  REQUIRE_FALSE(report);
  // Its barriers failed (not just its last commit, after reading all its input).
  CHECK_THAT(describe(report.error()),
             Catch::Contains("another job took over transactional id 'eddy-taken'") &&
                 Catch::Contains("max_restarts") && Catch::Contains("snapshot"));
  CHECK(committer->producers() == 1);
}

SCENARIO("an exactly-once Kafka sink's uncommitted records survive the process: a new one "
         "commits what the commit log lacks, and nothing twice") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("kept", 1));
  auto props = kafka::internal::properties{{"bootstrap.servers", cluster->bootstrap()}};
  auto committer = [&] {
    return std::make_unique<kafka::internal::transaction_committer>(props, "kept", "eddy-kept",
                                                                    "eddy-kept.commits", 10s);
  };
  auto dead = committer();
  dead->stage(1, 0, one(1));
  dead->stage(2, 0, one(2));
  dead->stage(2, 1, one(3));
  dead->stage(3, 1, one(-3)); // an instance ahead: after checkpoint 2, not in it
  CHECK_FALSE(dead->commit(1));
  // Checkpoint 2 completed: what the committer holds for it and has not committed.
  auto at2 = dead->checkpoint_state(2);
  CHECK_FALSE(at2.empty());
  // The process dies before committing 2. A new one starts from checkpoint 2: 1 is in the log,
  // 2 and 3 are not.
  dead.reset();
  auto next = committer();
  CHECK_FALSE(next->restore(2, at2));
  next->stage(3, 0, one(4)); // its own records, before checkpoint 3
  // Checkpoint 3 completes, and the process keeps it while the commit of 3 is under way.
  auto at3 = next->checkpoint_state(3);
  CHECK_FALSE(next->commit(3));
  next->stage(4, 1, one(5));
  next->stage(5, 0, one(-5));           // after checkpoint 4
  auto at4 = next->checkpoint_state(4); // never committed
  auto seen = ids_in(cluster->bootstrap(), "kept");
  CHECK(seen == std::map<int64_t, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}});
  // It dies too. A third one is given both checkpoints' states: 2, 3 and 4 are in the log under
  // the second run, 5 is not.
  next.reset();
  auto third = committer();
  CHECK_FALSE(third->restore(4, at3 + at4));
  CHECK(third->staged_bytes() == nlohmann::json(alert{0, 5}).dump().size());
  // The same state again changes nothing: those records are held already.
  CHECK_FALSE(third->restore(4, at4));
  CHECK(third->staged_bytes() == nlohmann::json(alert{0, 5}).dump().size());
  CHECK_FALSE(third->commit(5));
  seen = ids_in(cluster->bootstrap(), "kept");
  CHECK(seen == std::map<int64_t, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}});
  // Bytes of another kind are refused with the reason.
  auto bad = third->restore(4, "not a checkpoint state");
  REQUIRE(bad);
  CHECK_THAT(describe(bad), Catch::Contains("does not decode"));
}

SCENARIO("an exactly-once Kafka sink restored in a new job commits exactly what the job before "
         "it did not") {
  // Job A runs paced and ends (a) halted by the fault plan right after checkpoint 4 completed,
  // before anything committed it, as when its process dies there, or (b) stopped with a
  // savepoint, whose records it committed. Job B starts from that checkpoint with a new sink, as
  // a new process would: in both cases the topic ends with every record once.
  constexpr int64_t n = 20'000;
  // (c) is (a) with the sink's parallelism going from 2 to 1: the one instance left restores
  // both old instances' uncommitted records.
  for (auto [halt, rescaled] :
       {std::pair{true, false}, std::pair{false, false}, std::pair{true, true}}) {
    INFO((halt ? "halted after checkpoint 4" : "stopped with a committed savepoint")
         << (rescaled ? ", restored with one sink instance" : ""));
    auto cluster = kafka::mock_cluster::start(1);
    REQUIRE(cluster);
    REQUIRE(!cluster->create_topic("durable", 2));
    auto sink = [&] {
      return kafka::to_topic<alert>(cluster->bootstrap(), "durable")
          .json()
          .exactly_once("eddy-durable");
    };
    auto dir = test::temp_dir("eddy_kafka_durable");
    auto cfg = job_config{}.with_threads(2).with_batch_size(20).with_checkpoints(dir, 20ms);
    if (halt)
      cfg.faults.halt_after_checkpoint = 4;
    auto first = sink();
    job a{cfg};
    a.source(alerts(n).at_rate(2'000)).sink(first).parallelism(2);
    std::string from;
    if (halt) {
      auto report = a.run();
      REQUIRE_FALSE(report);
      // Checkpoint 4, or the first after it when 4 was abandoned: the error names its folder.
      from = test::halted_at(report.error());
      REQUIRE_FALSE(from.empty());
    } else {
      caf::expected<job_report> report{caf::error{}};
      std::thread running{[&] { report = a.run(); }};
      auto committer =
          std::dynamic_pointer_cast<kafka::internal::transaction_committer>(first.committer());
      REQUIRE(committer);
      CHECK(wait_for([&] { return committer->transactions() >= 2; }));
      auto saved = a.stop_with_savepoint().get();
      running.join();
      REQUIRE(saved);
      if (!report)
        FAIL(describe(report.error()));
      from = saved->path;
    }
    auto before = ids_in(cluster->bootstrap(), "durable");
    CHECK(before.size() < size_t(n));
    job b{job_config{}.with_threads(2).with_batch_size(500).from_savepoint(from)};
    b.source(alerts(n)).sink(sink()).parallelism(rescaled ? 1 : 2);
    auto rest = b.run();
    if (!rest)
      FAIL(describe(rest.error()));
    auto seen = ids_in(cluster->bootstrap(), "durable");
    CHECK(seen.size() == size_t(n));
    size_t twice = 0;
    for (const auto& [id, times] : seen)
      twice += times > 1 ? 1 : 0;
    CHECK(twice == 0);
  }
}

SCENARIO("records of an exactly-once Kafka sink instance that finished early survive a process "
         "dying before their commit") {
  // Sink instance 0 gets 50 records and finishes at once, so they belong to checkpoint 1; a
  // finished task takes no snapshot, so only the committer's state in the checkpoint holds them.
  // The job halts right after checkpoint 1 completed, before its commit (instance 1 needs at
  // least 200 ms for its records: it is still running), and a new job from there ends with each
  // record once.
  constexpr int64_t n = 4'000;
  constexpr int64_t early = 50;
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("early", 2));
  auto sink = [&] {
    return kafka::to_topic<alert>(cluster->bootstrap(), "early").json().exactly_once();
  };
  auto dir = test::temp_dir("eddy_kafka_early");
  auto cfg = job_config{}.with_threads(2).with_batch_size(20).with_checkpoints(dir, 100ms);
  cfg.faults.halt_after_checkpoint = 1;
  job a{cfg};
  a.source(uneven{n, early}).parallelism(2).sink(sink()).parallelism(2);
  auto report = a.run();
  REQUIRE_FALSE(report);
  auto from = test::halted_at(report.error());
  REQUIRE_FALSE(from.empty());
  auto chk = checkpoint::storage::load_path(from);
  REQUIRE(chk);
  // What this test is about: the checkpoint counts sink instance 0 finished, instance 1 not.
  CHECK(checkpoint::finished(*chk, 1, 0));
  CHECK_FALSE(checkpoint::finished(*chk, 1, 1));
  CHECK(ids_in(cluster->bootstrap(), "early").empty());
  job b{job_config{}.with_threads(2).with_batch_size(500).from_savepoint(from)};
  b.source(uneven{n, early}).parallelism(2).sink(sink()).parallelism(2);
  auto rest = b.run();
  if (!rest)
    FAIL(describe(rest.error()));
  auto seen = ids_in(cluster->bootstrap(), "early");
  CHECK(seen.size() == size_t(n));
  size_t twice = 0;
  for (const auto& [id, times] : seen)
    twice += times > 1 ? 1 : 0;
  CHECK(twice == 0);
  for (int64_t id = 0; id < early; ++id)
    CHECK(seen.count(id) == 1);
}

SCENARIO("an exactly-once Kafka sink object used again does not commit what an earlier run "
         "left behind") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("again", 1));
  auto sink = kafka::to_topic<alert>(cluster->bootstrap(), "again").json().exactly_once();
  auto committer =
      std::dynamic_pointer_cast<kafka::internal::transaction_committer>(sink.committer());
  REQUIRE(committer);
  // What a failed run's task, still running after the run gave up, pre-committed.
  committer->stage(7, 0, one(-1));
  job j{job_config{}.with_checkpoints(test::temp_dir("eddy_kafka_again"), 10ms)};
  j.source(alerts(100)).sink(sink);
  auto report = j.run();
  if (!report)
    FAIL(describe(report.error()));
  auto seen = ids_in(cluster->bootstrap(), "again");
  CHECK(seen.size() == 100);
  CHECK(seen.count(-1) == 0);
}

SCENARIO("a Kafka sink makes records Kafka would refuse dead letters, exactly-once or not") {
  for (bool once : {true, false}) {
    INFO((once ? "exactly-once" : "at-least-once"));
    auto cluster = kafka::mock_cluster::start(1);
    REQUIRE(cluster);
    REQUIRE(!cluster->create_topic("small", 2));
    auto sink = kafka::to_topic<alert>(cluster->bootstrap(), "small")
                    .encode([](const alert& a) {
                      return a.id == 7 ? std::string(2'000, 'x') : nlohmann::json(a).dump();
                    })
                    .partition([](const alert& a) { return a.id == 9 ? 5 : int32_t(a.id % 2); })
                    .property("message.max.bytes", "1500");
    job j;
    j.source(alerts(100)).sink(once ? sink.exactly_once() : sink);
    auto report = j.run();
    if (!report)
      FAIL(describe(report.error()));
    REQUIRE(report->dead_letters.size() == 2);
    CHECK_THAT(report->dead_letters[0].reason, Catch::Contains("larger than message.max.bytes"));
    CHECK_THAT(report->dead_letters[1].reason, Catch::Contains("partition 5 does not exist"));
    auto seen = ids_in(cluster->bootstrap(), "small");
    CHECK(seen.size() == 98);
    CHECK(seen.count(7) == 0);
    CHECK(seen.count(9) == 0);
  }
}

SCENARIO("a job reads a topic, maps it and writes another") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("in", 2));
  REQUIRE(!cluster->create_topic("doubled", 2));
  {
    job j;
    j.source(alerts(1'000)).sink(kafka::to_topic<alert>(cluster->bootstrap(), "in").json());
    REQUIRE(j.run());
  }
  job j{job_config{}.with_threads(2)};
  j.source(kafka::from_topic<alert>(cluster->bootstrap(), "in").json().until_end())
      .parallelism(2)
      .map([](const alert& a) {
        return alert{a.mote, 2 * a.id};
      })
      .sink(kafka::to_topic<alert>(cluster->bootstrap(), "doubled").json());
  REQUIRE(j.run());
  std::vector<int64_t> ids;
  for (const auto& [p, msgs] : read_all(cluster->bootstrap(), "doubled"))
    for (const auto& m : msgs)
      ids.push_back(nlohmann::json::parse(m.value).get<alert>().id);
  std::sort(ids.begin(), ids.end());
  REQUIRE(ids.size() == 1'000);
  for (int64_t i = 0; i < 1'000; ++i)
    CHECK(ids[size_t(i)] == 2 * i);
}

SCENARIO("Kafka sink mistakes are named before the job starts") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("t", 1));
  job j;
  j.source(alerts(10)).sink(kafka::to_topic<alert>(cluster->bootstrap(), "t"));
  auto r = j.run();
  REQUIRE(!r);
  CHECK_THAT(describe(r.error()), Catch::Contains(".json() or .encode(f)"));
}

#ifdef EDDY_KCAT
SCENARIO("kcat reads what an eddy job wrote") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("for-kcat", 1));
  job j;
  j.source(alerts(50)).sink(kafka::to_topic<alert>(cluster->bootstrap(), "for-kcat").json());
  REQUIRE(j.run());
  auto cmd = std::string{EDDY_KCAT} + " -q -b " + cluster->bootstrap() +
             " -t for-kcat -C -e -o beginning -f '%s\\n'";
  auto* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::vector<int64_t> ids;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) {
    std::string line{buf};
    if (line.size() > 1)
      ids.push_back(nlohmann::json::parse(line).get<alert>().id);
  }
  CHECK(pclose(p) == 0);
  REQUIRE(ids.size() == 50);
  for (int64_t i = 0; i < 50; ++i)
    CHECK(ids[size_t(i)] == i);
}
#endif
