// Location transparency: one operator of a pipeline runs in a second process, connected over a
// real socket by CAF's middleman, and the output is exactly that of the single-process run.
#include "remote_job.hpp"

#include <eddy/sinks/collect.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

using namespace eddy;
using remote_test::tagged;

namespace {

struct worker_process {
  FILE* pipe = nullptr;
  uint16_t port = 0;
  int pid = 0;

  worker_process() {
    pipe = ::popen(EDDY_TEST_WORKER " 0", "r");
    REQUIRE(pipe != nullptr);
    unsigned p = 0;
    REQUIRE(std::fscanf(pipe, "listening on %u pid %d", &p, &pid) == 2);
    port = static_cast<uint16_t>(p);
  }

  int wait() {
    auto status = ::pclose(pipe);
    pipe = nullptr;
    return status;
  }

  ~worker_process() {
    if (pipe)
      ::pclose(pipe);
  }
};

std::vector<std::pair<int64_t, int64_t>> values(const std::vector<tagged>& xs) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& x : xs)
    out.emplace_back(x.value, x.key);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

SCENARIO("an operator placed on a second process gives the single-process output") {
  std::vector<tagged> local;
  job_report local_report;
  {
    job j{job_config{}.with_threads(2).with_batch_size(300)};
    remote_test::build(j).sink(collect(local)).name("collect");
    auto report = j.run();
    REQUIRE(report);
    local_report = *report;
  }
  worker_process worker;
  std::vector<tagged> remote;
  {
    job j{job_config{}
              .with_threads(2)
              .with_batch_size(300)
              .with_node("worker", "127.0.0.1", worker.port)
              .place("scale", "worker")
              .place("sides", "worker")};
    remote_test::build(j).sink(collect(remote)).name("collect");
    auto report = j.run();
    REQUIRE(report);
    // Metrics and dead letters of the remote instances come back to the coordinator.
    CHECK(report->records_in("scale") == 20'000);
    CHECK(report->dead_letters.size() == local_report.dead_letters.size());
    REQUIRE(report->dead_letters.size() == 4);
    CHECK(report->dead_letters[0].reason == "rejected remotely");
  }
  CHECK(worker.wait() == 0); // the worker stops cleanly once the job is over
  CHECK(values(remote) == values(local));
  // The two-input operator on the worker told its inputs apart (same record type on both).
  CHECK(std::count_if(remote.begin(), remote.end(), [](const tagged& x) { return x.key == -2; }) ==
        100);
  CHECK(std::count_if(remote.begin(), remote.end(), [](const tagged& x) { return x.value < 0; }) ==
        100);
  std::set<int32_t> local_pids, remote_pids;
  for (const auto& x : local)
    local_pids.insert(x.pid);
  for (const auto& x : remote)
    remote_pids.insert(x.pid);
  CHECK(local_pids == std::set<int32_t>{static_cast<int32_t>(::getpid())});
  REQUIRE(remote_pids.size() == 1);
  CHECK(*remote_pids.begin() != ::getpid()); // "scale" really ran in the other process
}

SCENARIO("an unreachable node is an error that says how to start it") {
  job j{job_config{}.with_node("nowhere", "127.0.0.1", 1).place("scale", "nowhere")};
  std::vector<tagged> out;
  remote_test::build(j).sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::remote_failure));
  CHECK_THAT(describe(report.error()), Catch::Contains("job.serve"));
}

SCENARIO("a worker that dies during the run fails the job instead of hanging it") {
  worker_process worker;
  job j{job_config{}
            .with_threads(2)
            .with_batch_size(100)
            .with_node("worker", "127.0.0.1", worker.port)
            .place("scale", "worker")};
  // The same job, slowed down so that it is still running when the worker is killed, which
  // happens once the sink has seen records pass through the worker.
  auto seen = std::make_shared<std::atomic<int64_t>>(0);
  j.source(generator<int64_t>(1'000'000, [](uint64_t i) { return int64_t(i); }).at_rate(100'000))
      .name("numbers")
      .key_by([](const int64_t& x) { return x % 13; })
      .map([](const int64_t& x) {
        return tagged{x, x % 13, 0};
      })
      .name("scale")
      .parallelism(2)
      .sink([seen](const tagged&) { ++*seen; })
      .name("collect");
  std::atomic<bool> over{false};
  std::thread killer{[&] {
    while (*seen < 1'000 && !over)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    ::kill(worker.pid, SIGKILL);
  }};
  auto report = j.run();
  over = true;
  killer.join();
  CHECK(*seen >= 1'000); // the worker was killed mid-run, not after a failure of its own
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::job_failed));
  CHECK_THAT(describe(report.error()), Catch::Contains("stopped unexpectedly"));
}

SCENARIO("with checkpoints, a job whose worker dies recovers in this process, its output exact") {
  worker_process worker;
  auto dir = std::filesystem::temp_directory_path() / "eddy_remote_recovery";
  std::filesystem::remove_all(dir);
  job j{job_config{}
            .with_threads(2)
            .with_batch_size(300)
            .with_node("worker", "127.0.0.1", worker.port)
            .place("scale", "worker")
            .with_checkpoints(dir.string(), std::chrono::milliseconds{20})};
  // "scale" as the worker builds it (remote_job.hpp), paced so that the run lasts about a second.
  constexpr int64_t n = 60'000;
  auto seen = std::make_shared<std::atomic<int64_t>>(0);
  std::vector<tagged> out;
  j.source(generator<int64_t>(n, [](uint64_t i) { return int64_t(i); }).at_rate(60'000))
      .name("numbers")
      .key_by([](const int64_t& x) { return x % 13; })
      .map([](const int64_t& x) { return remote_test::scale(x); })
      .name("scale")
      .parallelism(2)
      .map([seen](const tagged& x) {
        ++*seen;
        return x;
      })
      .name("count")
      .sink(collect(out))
      .name("collect");
  std::atomic<bool> over{false};
  std::thread killer{[&] {
    while (*seen < 10'000 && !over)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    ::kill(worker.pid, SIGKILL);
  }};
  auto report = j.run();
  over = true;
  killer.join();
  if (!report)
    FAIL(describe(report.error()));
  // Every number once, doubled, but the rejected ones, which are dead letters once each.
  std::vector<std::pair<int64_t, int64_t>> expected;
  for (int64_t x = 0; x < n; ++x)
    if (x % 5000 != 4999)
      expected.emplace_back(2 * x, x % 13);
  CHECK(values(out) == expected);
  CHECK(report->dead_letters.size() == n / 5000);
  REQUIRE_FALSE(report->recoveries.empty());
  CHECK(std::any_of(report->notes.begin(), report->notes.end(), [](const std::string& note) {
    return note.find("node 'worker' is gone") != std::string::npos;
  }));
  // Records were scaled in both processes: on the worker before it died, here after.
  std::set<int32_t> pids;
  for (const auto& x : out)
    pids.insert(x.pid);
  CHECK(pids.count(::getpid()) == 1);
  CHECK(pids.size() == 2);
}
