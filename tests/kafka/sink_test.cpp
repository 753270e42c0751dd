// The Kafka sink (kafka/sink.hpp) against the embedded cluster: what a job writes is in the
// topic, keyed records stay in order on one partition, at least once across crashes, a topic
// read, mapped and written again, kcat reading what a job wrote, and mistakes named up front.
#include "../operators/temp_dir.hpp"
#include "fixtures.hpp"

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
#include <string>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

using test::read_all;

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

generator<alert> alerts(int64_t n) {
  return generator<alert>(uint64_t(n), [](uint64_t i) {
    return alert{int32_t(i % 5), int64_t(i)};
  });
}

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
    fault_plan faults;
    faults.crashes.push_back({"write", 0, 2'500});
    faults.crashes.push_back({"double", 1, 1'800});
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
  auto one = [](int64_t id) {
    std::vector<kafka::internal::outgoing> xs;
    xs.push_back({-1, "", nlohmann::json(alert{0, id}).dump()});
    return xs;
  };
  kafka::internal::transaction_committer a{props, "txn", "eddy-test-txn", 10s};
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
  // Another producer with the same transactional id fences the first.
  kafka::internal::transaction_committer b{props, "txn", "eddy-test-txn", 10s};
  b.stage(1, 0, one(4));
  CHECK_FALSE(b.commit(1));
  // The fenced one finds out at its next commit, and a new producer takes over.
  CHECK_FALSE(a.commit(2));
  CHECK(a.transactions() == 2);
  CHECK(a.staged_bytes() == 0);
  CHECK(a.failure().empty());
  auto seen = ids_in(cluster->bootstrap(), "txn");
  CHECK(seen.count(1) == 1);
  CHECK(seen.count(2) == 1);
  CHECK(seen.count(3) == 0);
  CHECK(seen.count(4) == 1);
  // What is aborted is gone before it reaches Kafka.
  a.stage(3, 0, one(5));
  a.abort_after(2);
  CHECK(a.staged_bytes() == 0);
  CHECK_FALSE(a.commit(3));
  CHECK(ids_in(cluster->bootstrap(), "txn").count(5) == 0);
}

SCENARIO("an exactly-once Kafka sink makes records Kafka would refuse dead letters") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("small", 2));
  job j;
  j.source(alerts(100))
      .sink(kafka::to_topic<alert>(cluster->bootstrap(), "small")
                .encode([](const alert& a) {
                  return a.id == 7 ? std::string(2'000, 'x') : nlohmann::json(a).dump();
                })
                .partition([](const alert& a) { return a.id == 9 ? 5 : int32_t(a.id % 2); })
                .property("message.max.bytes", "1500")
                .exactly_once());
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
