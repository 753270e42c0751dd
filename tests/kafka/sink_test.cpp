// The Kafka sink (kafka/sink.hpp) against the embedded cluster: what a job writes is in the
// topic, keyed records stay in order on one partition, at least once across crashes, a topic
// read, mapped and written again, kcat reading what a job wrote, and mistakes named up front.
#include "../operators/temp_dir.hpp"

#include <eddy/kafka/internal/client.hpp>
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

/// Every record of every partition of `topic`, read from the beginning, by partition.
std::map<int32_t, std::vector<kafka::message>> read_all(const std::string& bootstrap,
                                                        const std::string& topic) {
  auto consumer = kafka::internal::consumer::open({{"bootstrap.servers", bootstrap}});
  REQUIRE(consumer);
  auto n = consumer->partitions(topic, 10s);
  REQUIRE(n);
  std::vector<std::pair<int32_t, int64_t>> from;
  int64_t total = 0;
  for (int32_t p = 0; p < *n; ++p) {
    auto range = consumer->offsets(topic, p, 10s);
    REQUIRE(range);
    total += range->high - range->low;
    from.emplace_back(p, range->low);
  }
  REQUIRE(!consumer->assign(topic, from));
  std::vector<kafka::message> got;
  std::vector<std::pair<int32_t, int64_t>> ends;
  for (int round = 0; round < 2'000 && int64_t(got.size()) < total; ++round)
    REQUIRE(!consumer->poll(got, ends, 10'000, 10ms));
  REQUIRE(int64_t(got.size()) == total);
  std::map<int32_t, std::vector<kafka::message>> by_partition;
  for (auto& m : got)
    by_partition[m.partition].push_back(std::move(m));
  return by_partition;
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
  std::map<int64_t, int> seen;
  for (const auto& [p, msgs] : read_all(cluster->bootstrap(), "out"))
    for (const auto& m : msgs)
      ++seen[nlohmann::json::parse(m.value).get<alert>().id];
  REQUIRE(seen.size() == size_t(n)); // every record, some twice (what followed the checkpoint)
  CHECK(seen.begin()->first == 0);
  CHECK(seen.rbegin()->first == n - 1);
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
