// Buffer debloating: the batch limit a receiver grants follows its consumption rate.
#include <eddy/actors/batch_sizer.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

/// Feeds `sizer` batches of `n` records, one every `every`, for `count` batches from `t`;
/// returns the last limit and advances `t`.
uint32_t feed(batch_sizer& sizer, batch_sizer::clock::time_point& t, size_t n,
              std::chrono::nanoseconds every, int count) {
  uint32_t limit = 0;
  for (int k = 0; k < count; ++k) {
    t += every;
    limit = sizer.consumed(n, t);
  }
  return limit;
}

} // namespace

SCENARIO("the batch limit drains what is in flight in about the target time") {
  auto t = batch_sizer::clock::time_point{} + 1h;
  GIVEN("a receiver with one input of 4 credits and a target of 50 ms") {
    batch_sizer sizer{50ms, 1, 4};
    THEN("it grants nothing until it has measured") {
      CHECK(sizer.consumed(256, t) == 0);
      CHECK(sizer.rate() < 0);
    }
    WHEN("it consumes 20,000 records per second (256 every 12.8 ms)") {
      sizer.consumed(256, t);
      auto limit = feed(sizer, t, 256, 12'800us, 50);
      THEN("4 batches of the limit take the target: 20,000 x 0.05 / 4 = 250 records") {
        CHECK(sizer.rate() == Approx(20'000).epsilon(0.01));
        CHECK(limit == Approx(250).margin(2));
      }
      AND_WHEN("it becomes ten times faster") {
        limit = feed(sizer, t, 250, 1'250us, 100);
        THEN("the limit follows") {
          CHECK(limit == Approx(2'500).epsilon(0.02));
        }
      }
    }
    WHEN("it is very slow") {
      sizer.consumed(10, t);
      auto limit = feed(sizer, t, 10, 100ms, 20);
      THEN("batches keep a floor of a few records") {
        CHECK(limit == debloat_min_batch);
      }
    }
    WHEN("batches come faster than a sample's span") {
      sizer.consumed(1'000, t);
      THEN("samples span at least a millisecond, and the limit at most doubles per sample") {
        CHECK(feed(sizer, t, 1'000, 100us, 9) == 0);
        // The tenth batch closes the first sample: 10,000 records in 1 ms, a limit of 125,000
        // records, but twice the 64 the senders started with.
        CHECK(feed(sizer, t, 1'000, 100us, 1) == 2 * debloat_start_batch);
        CHECK(sizer.rate() == Approx(10'000'000).epsilon(0.001));
        CHECK(feed(sizer, t, 1'000, 100us, 10) == 4 * debloat_start_batch);
        // Ten more samples (doublings) reach the rate's limit.
        CHECK(feed(sizer, t, 1'000, 100us, 100) == Approx(10'000'000 * 0.05 / 4).epsilon(0.001));
      }
    }
    WHEN("it is fast before backpressure reaches it, then slow") {
      sizer.consumed(64, t);
      feed(sizer, t, 640, 1ms, 20);                // 640,000/s: a limit of 8,000
      auto limit = feed(sizer, t, 64, 3'200us, 1); // then 20,000/s
      THEN("the rate follows the drop at once") {
        CHECK(sizer.rate() == Approx(20'000).epsilon(0.01));
        CHECK(limit == Approx(250).margin(2));
      }
    }
  }
  GIVEN("a receiver with 3 inputs") {
    batch_sizer sizer{50ms, 3, 4};
    sizer.consumed(300, t);
    THEN("they share its rate: 24,000/s x 0.05 / (3 x 4) = 100 records") {
      CHECK(feed(sizer, t, 300, 12'500us, 40) == Approx(100).margin(1));
    }
  }
  GIVEN("debloating off") {
    batch_sizer sizer{0ms, 1, 4};
    THEN("it never limits") {
      CHECK(sizer.consumed(256, t) == 0);
      CHECK(feed(sizer, t, 256, 10ms, 10) == 0);
    }
  }
}
