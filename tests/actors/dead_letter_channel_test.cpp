// Dead letters travel like records: in batches, under credit, from every task to the job's
// dead-letter stream (or to the report), so a slow dead-letter sink slows the job instead of
// filling memory, and every dead letter arrives.
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace eddy;

SCENARIO("half the records rejected, a slow dead-letter sink: bounded backlog, none lost") {
  constexpr uint64_t n = 40'000;
  // The map counts what it rejects; the dead-letter sink counts what it receives and samples
  // the gap between the two. Without credits on dead letters the map runs ahead of the slow sink
  // by nearly all of its rejections.
  struct counters {
    std::atomic<int64_t> rejected{0};
    std::atomic<int64_t> delivered{0};
    std::atomic<int64_t> max_gap{0};
    std::atomic<int64_t> sum{0};
  };
  auto c = std::make_shared<counters>();
  job j{job_config{}.with_threads(2).with_batch_size(64).with_credit(2)};
  std::vector<int64_t> good;
  j.source(generator<int64_t>(n, [](uint64_t i) { return int64_t(i); }))
      .map([c](const int64_t& x) {
        if (x % 2 == 1) {
          ++c->rejected;
          throw std::runtime_error("odd");
        }
        return x;
      })
      .name("evens")
      .sink(collect(good));
  j.dead_letters()
      .sink([c](const dead_letter& d) {
        std::this_thread::sleep_for(std::chrono::microseconds{20});
        auto delivered = ++c->delivered;
        c->sum += std::stoll(d.record);
        auto gap = c->rejected.load() - delivered;
        if (gap > c->max_gap)
          c->max_gap = gap;
      })
      .name("slow-dead-letters");
  auto report = j.run();
  REQUIRE(report);
  CHECK(good.size() == n / 2);
  // Every dead letter arrived, each exactly once (the sum of the odd numbers below n).
  CHECK(c->delivered == int64_t(n / 2));
  CHECK(c->sum == int64_t((n / 2) * (n / 2)));
  CHECK(report->dead_letter_count() == n / 2);
  // The backlog is bounded by credits and buffers: per hop 2 credits of batches of at most 256
  // dead letters, a buffer being filled, a batch queued, one input batch of the map: under 2,500.
  // Without flow control it grows to nearly n/2 (20,000).
  INFO("largest backlog of dead letters: " << c->max_gap);
  CHECK(c->max_gap < 2'500);
  for (const auto& m : report->metrics)
    if (m.op == "evens")
      CHECK(m.credit_wait_ns > 0); // the map did wait for the dead-letter sink
}

SCENARIO("without a dead-letter stream the report keeps them, up to its limit") {
  job_config cfg = job_config{}.with_threads(2).with_batch_size(50);
  cfg.kept_dead_letters = 300;
  job j{cfg};
  std::vector<int64_t> good;
  j.source(generator<int64_t>(2'000, [](uint64_t i) { return int64_t(i); }))
      .filter([](const int64_t& x) {
        if (x % 4 == 0)
          throw std::runtime_error("multiple of four");
        return true;
      })
      .sink(collect(good));
  auto report = j.run();
  REQUIRE(report);
  CHECK(good.size() == 1'500);
  CHECK(report->dead_letters.size() == 300);
  CHECK(report->dead_letters_not_kept == 200);
  CHECK(report->dead_letter_count() == 500);
}

SCENARIO("dead letters travel in batches of up to 256 while the job's channels debloat") {
  // The dead-letter channel sizes its batches itself (up to 256 dead letters): it takes no part
  // in buffer debloating, whose senders start at 64 records and grow only with the limit their
  // receiver's credits carry. Every record here is rejected, in input batches of 1,024.
  constexpr uint64_t n = 100'000;
  job j{job_config{}.with_threads(2).with_batch_size(1024)};
  std::vector<int64_t> good;
  j.source(generator<int64_t>(n, [](uint64_t i) { return int64_t(i); }))
      .map([](const int64_t& x) -> int64_t { throw std::runtime_error("no " + std::to_string(x)); })
      .name("reject-all")
      .sink(collect(good));
  uint64_t received = 0;
  j.dead_letters().sink([&received](const dead_letter&) { ++received; }).name("dead-letter-sink");
  auto report = j.run();
  REQUIRE(report);
  CHECK(good.empty());
  CHECK(received == n);
  uint64_t batches = 0;
  for (const auto& m : report->metrics)
    if (m.op == "dead-letter-sink")
      batches += m.batches_in;
  // At 256 per batch, 391 batches and a few partial ones where the source's first, debloated
  // batches were small; at 64 per batch (the debloating start), at least 1,563.
  INFO("dead-letter batches: " << batches);
  CHECK(batches > 0);
  CHECK(batches < n / 128);
}
