// The Kafka source (kafka/source.hpp) against the embedded cluster: every record once in
// partition order, event time and windows, dead letters with coordinates, exactly-once across
// crashes and recoveries from checkpoints, mistakes named before the job starts, and kcat.
#include "../operators/temp_dir.hpp"
#include "fixtures.hpp"

#include <eddy/kafka/internal/client.hpp>
#include <eddy/kafka/mock_cluster.hpp>
#include <eddy/kafka/source.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

using test::reading;
using test::seeded;
using test::wait_for;

SCENARIO("a Kafka source reads every record once, in partition order, at any parallelism") {
  auto cluster = seeded("readings", 4, 2'000);
  for (uint32_t p : {1u, 2u, 3u}) {
    INFO("parallelism " << p);
    job j{job_config{}.with_threads(2).with_batch_size(64)};
    std::vector<reading> out;
    j.source(kafka::from_topic<reading>(cluster.bootstrap(), "readings").json().until_end())
        .parallelism(p)
        .sink(collect(out));
    auto report = j.run();
    if (!report)
      FAIL(describe(report.error()));
    REQUIRE(out.size() == 2'000);
    // Per partition (id % 4) the ids come in order; together, each once.
    std::map<int64_t, int64_t> last;
    for (const auto& r : out) {
      auto part = r.id % 4;
      CHECK((last.count(part) == 0 || last[part] < r.id));
      last[part] = r.id;
    }
    std::vector<int64_t> ids;
    for (const auto& r : out)
      ids.push_back(r.id);
    std::sort(ids.begin(), ids.end());
    CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
    CHECK(ids.front() == 0);
    CHECK(ids.back() == 1'999);
  }
}

SCENARIO("a Kafka source's event time drives windows: from the record or the Kafka timestamp") {
  auto cluster = seeded("timed", 3, 3'000);
  for (bool from_record : {true, false}) {
    INFO((from_record ? "event time from the record" : "event time = Kafka timestamp"));
    job j{job_config{}.with_threads(2).with_batch_size(50)};
    std::vector<window_result<int32_t, int64_t>> out;
    auto src = kafka::from_topic<reading>(cluster.bootstrap(), "timed").json().until_end();
    src = from_record ? src.with_event_time([](const reading& r) { return r.time; }, 10)
                      : src.max_out_of_orderness(10ms);
    j.source(src)
        .parallelism(2)
        .key_by([](const reading& r) { return r.mote; })
        .window(tumbling(100ms))
        .aggregate(count_of<reading>{})
        .sink(collect(out));
    auto report = j.run();
    if (!report)
      FAIL(describe(report.error()));
    CHECK(report->late_record_count() == 0);
    // 30 windows of 100 ms, 7 motes: every (mote, window) counted as the loop would.
    std::map<std::pair<int32_t, int64_t>, int64_t> expected, got;
    auto base = from_record ? 0 : 1'000'000;
    for (int64_t i = 0; i < 3'000; ++i)
      ++expected[{int32_t(i % 7), (base + i) / 100 * 100}];
    for (const auto& w : out)
      got[{w.key, w.start}] += w.value;
    CHECK(got == expected);
  }
}

SCENARIO("a Kafka source's lag keeps records out of order within it on time") {
  // One partition; times reversed in blocks of 10 ms: up to 9 ms out of order.
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("shuffled", 1));
  auto producer = kafka::internal::producer::open({{"bootstrap.servers", cluster->bootstrap()}});
  REQUIRE(producer);
  for (int64_t i = 0; i < 1'000; ++i) {
    auto t = i / 10 * 10 + (9 - i % 10);
    REQUIRE(!producer->send("shuffled", 0, "", std::to_string(t), 5'000 + t));
  }
  REQUIRE(!producer->flush(30s));
  // Late records of a tumbling-window count over `src`'s times.
  auto late_of = [](kafka::topic_source<int64_t> src) {
    job j{job_config{}.with_threads(2).with_batch_size(8)};
    std::vector<window_result<int, int64_t>> out;
    j.source(src.until_end())
        .key_by([](const int64_t&) { return 0; })
        .window(tumbling(5ms))
        .on_late(late_policy::count)
        .aggregate(count_of<int64_t>{})
        .sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    return report->late_record_count();
  };
  auto src = kafka::from_topic<int64_t>(cluster->bootstrap(), "shuffled")
                 .decode([](const kafka::message& m) { return std::stoll(m.value); });
  auto field = [](const int64_t& t) { return t; };
  CHECK(late_of(src.with_event_time(field, 9)) == 0);
  CHECK(late_of(src.max_out_of_orderness(9ms)) == 0); // Kafka timestamps 5,000 + t: the same
  CHECK(late_of(src.with_event_time(field, 0)) > 0);
  CHECK(late_of(src) > 0);
  // with_event_time(f) keeps an earlier lag.
  CHECK(late_of(src.max_out_of_orderness(9ms).with_event_time(field)) == 0);
}

SCENARIO("a Kafka source recovered alone replays how it interleaved its partitions") {
  constexpr int64_t n = 20'000;
  auto cluster = seeded("alone", 3, n);
  fault_plan::crash at_checkpoint;
  at_checkpoint.op = "kafka";
  at_checkpoint.when = fault_plan::crash::at_checkpoint;
  at_checkpoint.checkpoint = 2;
  fault_plan faults;
  faults.crashes.push_back(at_checkpoint);
  job j{job_config{}
            .with_threads(2)
            .with_batch_size(100)
            .with_checkpoints(test::temp_dir("eddy_kafka_alone"), 5ms)
            .with_faults(faults)};
  std::vector<int64_t> out;
  j.source(kafka::from_topic<reading>(cluster.bootstrap(), "alone").json().until_end())
      .name("kafka")
      .parallelism(2)
      .map([](const reading& r) {
        volatile int64_t spin = 0; // slow enough that checkpoints come while the topic is read
        for (int k = 0; k < 5'000; ++k)
          spin = spin + k;
        return r.id;
      })
      .sink(collect(out));
  auto report = j.run();
  if (!report)
    FAIL(describe(report.error()));
  REQUIRE(report->recoveries.size() == 1);
  CHECK(report->recoveries[0].single_task); // instance 0 of the source alone, its choices replayed
  CHECK_THAT(report->recoveries[0].cause, Catch::Contains("kafka#0"));
  std::sort(out.begin(), out.end());
  REQUIRE(out.size() == size_t(n));
  for (int64_t i = 0; i < n; ++i)
    if (out[size_t(i)] != i)
      FAIL("record " << i << " missing or repeated");
}

SCENARIO("records that do not decode are dead letters with their coordinates") {
  auto cluster = seeded("dirty", 2, 500, [](int64_t i) { return i % 100 == 7; });
  job j{job_config{}.with_threads(2)};
  std::vector<reading> out;
  j.source(kafka::from_topic<reading>(cluster.bootstrap(), "dirty").json().until_end())
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(out.size() == 495);
  REQUIRE(report->dead_letters.size() == 5);
  std::vector<std::string> origins;
  for (const auto& d : report->dead_letters) {
    CHECK_THAT(d.reason, Catch::Contains("cannot decode"));
    CHECK(d.record == "{\"mote\": oops");
    origins.push_back(d.origin);
  }
  std::sort(origins.begin(), origins.end());
  // Reading i is at offset i / 2 of partition i % 2: 7 -> 1@3, 107 -> 1@53, ...
  CHECK(origins == std::vector<std::string>{"kafka://dirty/1@103", "kafka://dirty/1@153",
                                            "kafka://dirty/1@203", "kafka://dirty/1@3",
                                            "kafka://dirty/1@53"});
}

SCENARIO("a Kafka source decodes CSV lines, and a line that does not parse is a dead letter") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("lines", 1));
  auto producer = kafka::internal::producer::open({{"bootstrap.servers", cluster->bootstrap()}});
  REQUIRE(producer);
  for (int64_t i = 0; i < 100; ++i) {
    auto line = std::to_string(i % 7) + ";" + std::to_string(i) + ";" + std::to_string(10 * i);
    REQUIRE(!producer->send("lines", 0, "", i == 42 ? "6;42" : line));
  }
  REQUIRE(!producer->flush(30s));
  job j;
  std::vector<reading> out;
  j.source(kafka::from_topic<reading>(cluster->bootstrap(), "lines").csv(';').until_end())
      .sink(collect(out));
  auto report = j.run();
  if (!report)
    FAIL(describe(report.error()));
  REQUIRE(out.size() == 99);
  for (const auto& r : out) {
    CHECK(r.mote == r.id % 7);
    CHECK(r.time == 10 * r.id);
  }
  REQUIRE(report->dead_letters.size() == 1);
  CHECK(report->dead_letters[0].origin == "kafka://lines/0@42");
  CHECK_THAT(report->dead_letters[0].reason, Catch::Contains("has 2 fields, expected 3"));
}

SCENARIO("crashes and recoveries from checkpoints neither lose nor repeat a Kafka record") {
  constexpr int64_t n = 20'000;
  auto cluster = seeded("replayed", 3, n);
  for (auto mode : {recovery_mode::single_task, recovery_mode::whole_job}) {
    INFO((mode == recovery_mode::single_task ? "single-task recovery" : "whole-job recovery"));
    fault_plan faults;
    faults.crashes.push_back({"tag", 0, 4'000});
    fault_plan::crash at_checkpoint;
    at_checkpoint.op = "kafka";
    at_checkpoint.when = fault_plan::crash::at_checkpoint;
    at_checkpoint.checkpoint = 2;
    faults.crashes.push_back(at_checkpoint);
    auto cfg = job_config{}
                   .with_threads(2)
                   .with_batch_size(100)
                   .with_checkpoints(test::temp_dir("eddy_kafka_replay"), 5ms)
                   .with_faults(faults);
    cfg.checkpoints.recovery = mode;
    job j{cfg};
    std::vector<int64_t> out;
    j.source(kafka::from_topic<reading>(cluster.bootstrap(), "replayed").json().until_end())
        .name("kafka")
        .parallelism(2)
        .map([](const reading& r) {
          // Slow enough that checkpoints complete while the topic is read.
          volatile int64_t spin = 0;
          for (int k = 0; k < 2'000; ++k)
            spin = spin + k;
          return r.id;
        })
        .name("tag")
        .sink(collect(out));
    auto report = j.run();
    if (!report)
      FAIL(describe(report.error()));
    CHECK(!report->recoveries.empty());
    std::sort(out.begin(), out.end());
    REQUIRE(out.size() == size_t(n));
    for (int64_t i = 0; i < n; ++i)
      if (out[size_t(i)] != i)
        FAIL("record " << i << " missing or repeated");
  }
}

namespace {

/// Counts what reaches it, readable while the job runs.
struct counting {
  std::shared_ptr<std::atomic<int64_t>> n = std::make_shared<std::atomic<int64_t>>(0);
  void operator()(const reading&) { ++*n; }
};

} // namespace

SCENARIO("a Kafka source with a group commits each completed checkpoint's offsets, and a job "
         "can start from them") {
  auto cluster = seeded("grouped", 2, 3'000);
  counting seen;
  job j{job_config{}.with_threads(2).with_checkpoints(test::temp_dir("eddy_kafka_group"), 5ms)};
  j.source(kafka::from_topic<reading>(cluster.bootstrap(), "grouped").json().group("lag-readers"))
      .parallelism(2)
      .sink(seen);
  caf::expected<job_report> report{caf::error{}};
  std::thread running{[&] { report = j.run(); }};
  auto group = kafka::internal::consumer::open(
      {{"bootstrap.servers", cluster.bootstrap()}, {"group.id", "lag-readers"}});
  REQUIRE(group);
  auto committed = [&] {
    auto offsets = group->committed("grouped", {0, 1}, 5s);
    return offsets ? *offsets : std::vector<int64_t>{};
  };
  // Everything read and through the job: the next checkpoint to complete holds the ends.
  CHECK(wait_for([&] { return *seen.n == 3'000; }));
  auto saved = j.savepoint().get();
  CHECK(saved);
  CHECK(wait_for([&] { return committed() == std::vector<int64_t>{1'500, 1'500}; }));
  CHECK(j.stop_with_savepoint().get());
  running.join();
  if (!report)
    FAIL(describe(report.error()));
  // 1,000 more; a new job without a checkpoint starts where the group committed.
  auto producer = kafka::internal::producer::open({{"bootstrap.servers", cluster.bootstrap()}});
  REQUIRE(producer);
  for (int64_t i = 3'000; i < 4'000; ++i)
    REQUIRE(!producer->send("grouped", int32_t(i % 2), "",
                            test::json_of(reading{int32_t(i % 7), i, i})));
  REQUIRE(!producer->flush(30s));
  job again;
  std::vector<reading> out;
  again
      .source(kafka::from_topic<reading>(cluster.bootstrap(), "grouped")
                  .json()
                  .group("lag-readers")
                  .start_from_committed()
                  .until_end())
      .sink(collect(out));
  REQUIRE(again.run());
  REQUIRE(out.size() == 1'000);
  std::vector<int64_t> ids;
  for (const auto& r : out)
    ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  CHECK(ids.front() == 3'000);
  CHECK(ids.back() == 3'999);
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
}

SCENARIO("an idle Kafka partition stops holding the watermark back after idle_after") {
  // Partition 1 holds one reading at 0 ms and then nothing; partition 0 gets readings at 1 ms
  // steps for as long as the test waits. Read by one instance, partition 1 would hold event time
  // at 0 and no window would fire; idle after 50 ms, it lets partition 0's windows fire.
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("quiet", 2));
  auto producer = kafka::internal::producer::open({{"bootstrap.servers", cluster->bootstrap()}});
  REQUIRE(producer);
  REQUIRE(!producer->send("quiet", 1, "", test::json_of(reading{1, 0, 0})));
  REQUIRE(!producer->flush(30s));
  std::atomic<bool> done{false};
  std::atomic<bool> send_failed{false};
  std::thread feeder{[&] {
    for (int64_t i = 1; !done; ++i) {
      if (producer->send("quiet", 0, "", test::json_of(reading{0, i, i})))
        send_failed = true;
      if (i % 10 == 0)
        std::this_thread::sleep_for(1ms);
    }
  }};
  auto fired = std::make_shared<std::atomic<int64_t>>(0);
  struct counting_windows {
    std::shared_ptr<std::atomic<int64_t>> n;
    void operator()(const window_result<int32_t, int64_t>&) { ++*n; }
  };
  job j{job_config{}.with_threads(2).with_checkpoints(test::temp_dir("eddy_kafka_idle"), 1s)};
  j.source(kafka::from_topic<reading>(cluster->bootstrap(), "quiet")
               .json()
               .with_event_time([](const reading& r) { return r.time; }, 0)
               .idle_after(50ms))
      .key_by([](const reading& r) { return r.mote; })
      .window(tumbling(100ms))
      .aggregate(count_of<reading>{})
      .sink(counting_windows{fired});
  caf::expected<job_report> report{caf::error{}};
  std::thread running{[&] { report = j.run(); }};
  CHECK(wait_for([&] { return *fired >= 10; })); // windows fire while the job runs
  done = true;
  feeder.join();
  CHECK(j.stop_with_savepoint().get());
  running.join();
  CHECK_FALSE(send_failed);
  if (!report)
    FAIL(describe(report.error()));
}

SCENARIO("Kafka source mistakes are named before the job starts") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("exists", 1));
  {
    job j;
    std::vector<reading> out;
    j.source(kafka::from_topic<reading>(cluster->bootstrap(), "exists").until_end())
        .sink(collect(out));
    auto r = j.run();
    REQUIRE(!r);
    CHECK_THAT(describe(r.error()), Catch::Contains(".json(), .decode(f)"));
  }
  {
    job j;
    std::vector<reading> out;
    j.source(kafka::from_topic<reading>(cluster->bootstrap(), "exists")
                 .json()
                 .property("no.such.setting", "1"))
        .sink(collect(out));
    auto r = j.run();
    REQUIRE(!r);
    CHECK_THAT(describe(r.error()), Catch::Contains("no.such.setting"));
  }
  {
    job j;
    std::vector<reading> out;
    j.source(kafka::from_topic<reading>(cluster->bootstrap(), "missing").json().until_end())
        .sink(collect(out));
    auto r = j.run();
    REQUIRE(!r);
    CHECK_THAT(describe(r.error()), Catch::Contains("topic 'missing' does not exist"));
  }
  {
    job j;
    std::vector<reading> out;
    j.source(kafka::from_topic<reading>(cluster->bootstrap(), "exists")
                 .json()
                 .start_from_committed()
                 .until_end())
        .sink(collect(out));
    auto r = j.run();
    REQUIRE(!r);
    CHECK_THAT(describe(r.error()), Catch::Contains("needs the group whose offsets to start from: "
                                                    "add .group(id)"));
  }
  {
    job j;
    std::vector<kafka::message> out;
    j.source(kafka::from_topic<kafka::message>("127.0.0.1:1", "exists")
                 .request_timeout(300ms)
                 .until_end())
        .sink(collect(out));
    auto r = j.run();
    REQUIRE(!r);
    CHECK_THAT(describe(r.error()), Catch::Contains("is bootstrap.servers right"));
  }
}

SCENARIO("a slow sink stops a Kafka source from reading ahead, and the job then reads on") {
  // The sink takes one record and blocks. The source's consumer reports librdkafka's statistics
  // from its own thread, also while the source waits for credit: once its fetch position stops
  // moving, it must be a bounded distance ahead of what the sink took (what waits in the job's
  // channels and the source, plus librdkafka's prefetch, capped here at 64 KiB and one fetch of
  // 16 KiB per partition), far from the whole topic. No consumer group is joined, so nothing can
  // rebalance.
  constexpr int64_t n = 40'000;
  // Batches of at most 100 records: a broker returns whole batches, however small the fetch.
  auto cluster = seeded("slow", 4, n, nullptr, {{"batch.num.messages", "100"}});
  auto taken = std::make_shared<std::atomic<int64_t>>(0);
  auto open = std::make_shared<std::atomic<bool>>(false);
  struct gate {
    std::shared_ptr<std::atomic<int64_t>> taken;
    std::shared_ptr<std::atomic<bool>> open;
    void operator()(const reading&) {
      ++*taken;
      while (!*open)
        std::this_thread::sleep_for(1ms);
    }
  };
  std::mutex mtx;
  std::vector<int64_t> fetched; // the fetch position over all partitions, per report
  auto on_report = [&](uint32_t, const std::string& json) {
    int64_t next = 0;
    auto parts = nlohmann::json::parse(json).at("topics").at("slow").at("partitions");
    for (const auto& [id, p] : parts.items())
      if (std::stoi(id) >= 0)
        next += std::max<int64_t>(p.at("next_offset").get<int64_t>(), 0);
    std::lock_guard<std::mutex> guard{mtx};
    fetched.push_back(next);
  };
  job j{job_config{}.with_threads(3).with_batch_size(64)};
  j.source(kafka::from_topic<reading>(cluster.bootstrap(), "slow")
               .json()
               .until_end()
               .property("queued.max.messages.kbytes", "64")
               .property("max.partition.fetch.bytes", "16384")
               .on_statistics(on_report, 20ms))
      .sink(gate{taken, open});
  caf::expected<job_report> report{caf::error{}};
  std::thread running{[&] { report = j.run(); }};
  // Stalled: five reports in a row with the same position, the sink still on its first record.
  auto stalled = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    auto k = fetched.size();
    return *taken == 1 && k >= 5 && fetched[k - 1] > 0 &&
           std::all_of(fetched.end() - 5, fetched.end(),
                       [&](int64_t x) { return x == fetched.back(); });
  };
  CHECK(wait_for(stalled));
  int64_t ahead = 0;
  {
    std::lock_guard<std::mutex> guard{mtx};
    ahead = fetched.empty() ? 0 : fetched.back() - *taken;
  }
  INFO("the source's consumer fetched " << ahead << " records past what the sink took");
  CHECK(ahead > 0);
  CHECK(ahead < n / 4);
  *open = true;
  running.join();
  if (!report)
    FAIL(describe(report.error()));
  CHECK(*taken == n);
}

#ifdef EDDY_KCAT
SCENARIO("records kcat produces are read by an eddy job") {
  auto cluster = kafka::mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("from-kcat", 1));
  auto path = test::temp_dir("eddy_kcat") + "/lines.txt";
  {
    auto* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    for (int i = 0; i < 100; ++i)
      std::fprintf(f, "%s\n", test::json_of(reading{i % 3, i, i}).c_str());
    std::fclose(f);
  }
  auto cmd =
      std::string{EDDY_KCAT} + " -q -b " + cluster->bootstrap() + " -t from-kcat -P -l " + path;
  REQUIRE(std::system(cmd.c_str()) == 0);
  job j;
  std::vector<reading> out;
  j.source(kafka::from_topic<reading>(cluster->bootstrap(), "from-kcat").json().until_end())
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  REQUIRE(out.size() == 100);
  for (int i = 0; i < 100; ++i)
    CHECK(out[size_t(i)].id == i);
}
#else
SCENARIO("records kcat produces are read by an eddy job") {
  WARN("kcat is not installed (apt install kcat; ./dev test installs it): interoperability with "
       "a real Kafka client is not checked");
}
#endif
