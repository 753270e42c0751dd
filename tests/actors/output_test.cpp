// Credit-based flow control, seen through the metrics (never through time).
#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace eddy;

namespace {

/// A sink about ten times slower than the source: it sleeps a little per batch of records.
struct slow_sink {
  std::shared_ptr<std::atomic<uint64_t>> seen;
  std::shared_ptr<std::atomic<uint64_t>> sum;
  uint64_t n = 0;
  void operator()(const uint64_t& x) {
    seen->fetch_add(1, std::memory_order_relaxed);
    sum->fetch_add(x, std::memory_order_relaxed);
    if (++n % 64 == 0)
      std::this_thread::sleep_for(std::chrono::microseconds{50});
  }
};

} // namespace

SCENARIO("a slow sink bounds what is in flight and queued, and loses nothing") {
  constexpr uint64_t n = 200'000;
  constexpr uint32_t credit = 3;
  auto seen = std::make_shared<std::atomic<uint64_t>>(0);
  auto sum = std::make_shared<std::atomic<uint64_t>>(0);
  job j{job_config{}.with_threads(2).with_batch_size(256).with_credit(credit)};
  j.source(generator<uint64_t>(n, [](uint64_t i) { return i; }))
      .name("fast")
      .map([](const uint64_t& x) { return x; })
      .name("relay")
      .sink(slow_sink{seen, sum})
      .name("slow");
  auto report = j.run();
  REQUIRE(report);
  CHECK(seen->load() == n);
  CHECK(sum->load() == n * (n - 1) / 2);
  for (const auto& m : report->metrics) {
    INFO(m.op);
    // A sender never has more batches in flight than its receiver granted ...
    CHECK(m.peak_in_flight <= credit);
    // ... and holds at most a few batches of its own while it waits (its output queue plus
    // the input batches deferred because it had no credit, bounded by the credits it granted).
    CHECK(m.peak_queued <= 2 * credit + 2);
  }
  // The source really was held back: it spent time waiting for credit.
  uint64_t waited = 0;
  for (const auto& m : report->metrics)
    if (m.op == "fast")
      waited = m.credit_wait_ns;
  CHECK(waited > 0);
}

SCENARIO("metrics are readable while the job runs") {
  auto seen = std::make_shared<std::atomic<uint64_t>>(0);
  auto sum = std::make_shared<std::atomic<uint64_t>>(0);
  job j{job_config{}.with_threads(2).with_batch_size(128).with_credit(2)};
  j.source(generator<uint64_t>(100'000, [](uint64_t i) { return i; }))
      .name("fast")
      .sink(slow_sink{seen, sum})
      .name("slow");
  bool ok = false;
  std::thread runner{[&] { ok = static_cast<bool>(j.run()); }};
  uint64_t observed = 0;
  while (observed == 0 && seen->load() < 100'000) {
    for (const auto& m : j.metrics())
      if (m.op == "slow")
        observed = m.records_in;
    std::this_thread::yield();
  }
  runner.join();
  CHECK(ok);
  CHECK(observed > 0);
}
