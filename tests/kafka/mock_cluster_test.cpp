// The embedded cluster: brokers that a real Kafka client talks to, topics, and the faults tests
// inject; librdkafka's producer and consumer against it.
#include <eddy/kafka/errc.hpp>
#include <eddy/kafka/internal/client.hpp>
#include <eddy/kafka/mock_cluster.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace eddy;
using namespace eddy::kafka;
using namespace std::chrono_literals;

SCENARIO("a mock cluster serves a real Kafka producer and consumer on loopback") {
  auto cluster = mock_cluster::start(3);
  REQUIRE(cluster);
  CHECK(cluster->brokers() == 3);
  // Three brokers, three host:port pairs.
  CHECK(std::count(cluster->bootstrap().begin(), cluster->bootstrap().end(), ',') == 2);
  REQUIRE(!cluster->create_topic("numbers", 2, 2));

  auto producer = internal::producer::open({{"bootstrap.servers", cluster->bootstrap()}});
  REQUIRE(producer);
  for (int i = 0; i < 10; ++i)
    REQUIRE(!producer->send("numbers", i % 2, "", std::to_string(i), 1000 + i));
  REQUIRE(!producer->flush(10s));

  auto consumer = internal::consumer::open({{"bootstrap.servers", cluster->bootstrap()}});
  REQUIRE(consumer);
  auto partitions = consumer->partitions("numbers", 10s);
  REQUIRE(partitions);
  CHECK(*partitions == 2);
  auto range = consumer->offsets("numbers", 1, 10s);
  REQUIRE(range);
  CHECK(range->low == 0);
  CHECK(range->high == 5);
  // Partition 1 from offset 2: records 5, 7, 9 in order, with their timestamps.
  REQUIRE(!consumer->assign("numbers", {{1, 2}}));
  std::vector<message> got;
  std::vector<std::pair<int32_t, int64_t>> ends;
  for (int round = 0; round < 500 && ends.empty(); ++round)
    REQUIRE(!consumer->poll(got, ends, 100, 20ms));
  REQUIRE(ends.size() == 1); // the end of partition 1 is reported, at its high offset
  CHECK(ends[0] == std::pair<int32_t, int64_t>{1, 5});
  REQUIRE(got.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(got[i].topic == "numbers");
    CHECK(got[i].partition == 1);
    CHECK(got[i].offset == int64_t(i) + 2);
    CHECK(got[i].value == std::to_string(2 * (i + 2) + 1));
    CHECK(got[i].timestamp == 1000 + 2 * int64_t(i + 2) + 1);
  }
}

SCENARIO("mock cluster mistakes are refused with how to fix them") {
  CHECK(is(mock_cluster::start(0).error(), errc::invalid_config));
  auto cluster = mock_cluster::start(2);
  REQUIRE(cluster);
  auto err = cluster->create_topic("t", 0);
  CHECK(is(err, errc::invalid_config));
  CHECK_THAT(describe(err), Catch::Contains("at least one partition"));
  CHECK_THAT(describe(cluster->create_topic("t", 1, 3)), Catch::Contains("1 to 2 replicas"));
  CHECK_THAT(describe(cluster->set_broker_down(7)), Catch::Contains("numbered from 1"));
  auto bad = internal::consumer::open(
      {{"bootstrap.servers", cluster->bootstrap()}, {"no.such.setting", "1"}});
  REQUIRE(!bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("no.such.setting"));
}

SCENARIO("a broker that goes down and comes back loses no acknowledged record") {
  auto cluster = mock_cluster::start(1);
  REQUIRE(cluster);
  REQUIRE(!cluster->create_topic("t", 1));
  auto producer = internal::producer::open({{"bootstrap.servers", cluster->bootstrap()}});
  REQUIRE(producer);
  REQUIRE(!producer->send("t", 0, "", "before"));
  REQUIRE(!producer->flush(10s));
  REQUIRE(!cluster->set_broker_down(1));
  REQUIRE(!producer->send("t", 0, "", "while down"));
  CHECK(producer->flush(300ms)); // not acknowledged while the only broker is down
  REQUIRE(!cluster->set_broker_up(1));
  REQUIRE(!producer->flush(20s)); // the idempotent producer delivers it once it is back
  auto consumer = internal::consumer::open({{"bootstrap.servers", cluster->bootstrap()}});
  REQUIRE(consumer);
  auto range = consumer->offsets("t", 0, 10s);
  REQUIRE(range);
  CHECK(range->high == 2);
}

#ifdef EDDY_KAFKA_TOOL
#include <csignal>
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>

SCENARIO("eddy-kafka runs a cluster with its topics until it is told to stop") {
  int out[2];
  REQUIRE(pipe(out) == 0);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(EDDY_KAFKA_TOOL, EDDY_KAFKA_TOOL, "--brokers", "2", "--topic", "sensors:4", "--topic",
          "alerts", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  auto* lines = fdopen(out[0], "r");
  REQUIRE(lines != nullptr);
  std::string bootstrap;
  std::vector<std::string> said;
  char buf[512];
  while (bootstrap.empty() && std::fgets(buf, sizeof(buf), lines) != nullptr) {
    std::string line{buf};
    said.push_back(line);
    if (line.rfind("bootstrap ", 0) == 0)
      bootstrap = line.substr(10, line.size() - 11);
  }
  REQUIRE(!bootstrap.empty());
  CHECK(said[0] == "topic sensors with 4 partitions\n");
  CHECK(said[1] == "topic alerts with 1 partition\n");
  auto consumer = internal::consumer::open({{"bootstrap.servers", bootstrap}});
  REQUIRE(consumer);
  auto sensors = consumer->partitions("sensors", 10s);
  REQUIRE(sensors);
  CHECK(*sensors == 4);
  kill(pid, SIGTERM);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::fclose(lines);
}

SCENARIO("eddy-kafka refuses a topic it cannot make and says how to write it") {
  auto cmd = std::string{EDDY_KAFKA_TOOL} + " --topic sensors:none 2>&1";
  auto* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr)
    text += buf;
  CHECK(pclose(p) != 0);
  CHECK_THAT(text, Catch::Contains("name:partitions"));
}
#endif
