// What the Kafka tests share: a reading type, a cluster seeded with readings, and a reader of a
// whole topic.
#pragma once

#include <eddy/kafka/internal/client.hpp>
#include <eddy/kafka/mock_cluster.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace eddy::test {

struct reading {
  int32_t mote = 0;
  int64_t id = 0;
  int64_t time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reading& x) {
  return f(x.mote, x.id, x.time);
}

inline void from_json(const nlohmann::json& j, reading& x) {
  j.at("mote").get_to(x.mote);
  j.at("id").get_to(x.id);
  j.at("time").get_to(x.time);
}

inline std::string json_of(const reading& r) {
  return nlohmann::json{{"mote", r.mote}, {"id", r.id}, {"time", r.time}}.dump();
}

/// A cluster with topic `topic` of `partitions` partitions holding `n` readings: reading i on
/// partition i % partitions, mote i % 7, event time i ms; `bad` makes some values malformed;
/// `producer_props` are the seeding producer's settings (its batches are what a fetch returns at
/// least).
inline kafka::mock_cluster seeded(const std::string& topic, int partitions, int64_t n,
                                  bool (*bad)(int64_t) = nullptr,
                                  kafka::internal::properties producer_props = {}) {
  using namespace std::chrono_literals;
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic(topic, partitions));
  producer_props["bootstrap.servers"] = cluster->bootstrap();
  auto producer = kafka::internal::producer::open(producer_props);
  REQUIRE(producer);
  for (int64_t i = 0; i < n; ++i) {
    auto value = bad != nullptr && bad(i) ? std::string{"{\"mote\": oops"}
                                          : json_of(reading{int32_t(i % 7), i, i});
    REQUIRE(!producer->send(topic, int32_t(i % partitions), "", value, 1'000'000 + i));
  }
  REQUIRE(!producer->flush(30s));
  return std::move(*cluster);
}

/// Every record of every partition of `topic`, read from the beginning, by partition.
inline std::map<int32_t, std::vector<kafka::message>>
read_all(const std::string& bootstrap, const std::string& topic,
         kafka::internal::properties props = {}) {
  using namespace std::chrono_literals;
  props["bootstrap.servers"] = bootstrap;
  auto consumer = kafka::internal::consumer::open(props);
  REQUIRE(consumer);
  auto n = consumer->partitions(topic, 10s);
  REQUIRE(n);
  std::vector<std::pair<int32_t, int64_t>> from;
  std::map<int32_t, int64_t> end;
  for (int32_t p = 0; p < *n; ++p) {
    auto range = consumer->offsets(topic, p, 10s);
    REQUIRE(range);
    from.emplace_back(p, range->low);
    if (range->high > range->low)
      end[p] = range->high;
  }
  REQUIRE(!consumer->assign(topic, from));
  // Read until every partition reported its end (records of aborted transactions and
  // transaction markers are skipped, so counting records would not tell).
  std::vector<kafka::message> got;
  std::vector<std::pair<int32_t, int64_t>> ends;
  for (int round = 0; round < 3'000 && !end.empty(); ++round) {
    ends.clear();
    REQUIRE(!consumer->poll(got, ends, 10'000, 10ms));
    for (const auto& [p, offset] : ends)
      if (end.count(p) != 0 && offset >= end[p])
        end.erase(p);
  }
  REQUIRE(end.empty());
  std::map<int32_t, std::vector<kafka::message>> by_partition;
  for (auto& m : got)
    by_partition[m.partition].push_back(std::move(m));
  return by_partition;
}

/// Waits up to `limit` for `done()` (a bound for a failing test, not a duration a passing one
/// relies on).
template <class F>
bool wait_for(F done, std::chrono::seconds limit = std::chrono::seconds{20}) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return true;
}

} // namespace eddy::test
