// The same keyed job with random parallelism, batch sizes, credits and linger times gives the
// same result as a sequential reference: per key, exactly the reference's values in an order
// whose running sums are consistent, and the reference's very order when one path carries a key.
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

#include <map>
#include <random>
#include <unordered_map>

using namespace eddy;

namespace {

struct event {
  int32_t key = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(x.key, x.value);
}

struct running {
  int32_t key = 0;
  int64_t sum = 0;
  int64_t count = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, running& x) {
  return f(x.key, x.sum, x.count);
}

event make_event(uint64_t i) {
  auto h = mix64(i + 1);
  return event{static_cast<int32_t>(h % 61), static_cast<int64_t>((h >> 16) % 1000)};
}

bool keep(const event& e) {
  return e.value % 7 != 0;
}

event scale(const event& e) {
  return event{e.key, e.value * 3 + 1};
}

} // namespace

SCENARIO("a keyed job gives the sequential result whatever its parallelism and batching") {
  constexpr uint64_t n = 20'000;
  // Sequential reference: per key, the sequence of running sums and the values it adds up.
  std::map<int32_t, std::vector<int64_t>> reference;
  std::map<int32_t, std::vector<int64_t>> ref_values;
  std::map<int32_t, int64_t> ref_sum;
  for (uint64_t i = 0; i < n; ++i) {
    auto e = make_event(i);
    if (!keep(e))
      continue;
    e = scale(e);
    reference[e.key].push_back(ref_sum[e.key] += e.value);
    ref_values[e.key].push_back(e.value);
  }
  for (auto& [key, values] : ref_values)
    std::sort(values.begin(), values.end());
  std::mt19937 rng{20261122};
  for (int round = 0; round < 8; ++round) {
    auto pick = [&](uint32_t lo, uint32_t hi) {
      return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
    };
    // The first round has one path per key, where even the order is the reference's.
    uint32_t sources = round == 0 ? 1 : pick(1, 3);
    uint32_t mappers = round == 0 ? 1 : pick(1, 4);
    uint32_t keyed = pick(1, 5);
    size_t batch = pick(1, 600);
    uint32_t credit = pick(1, 6);
    auto linger = std::chrono::microseconds{pick(0, 2000)};
    INFO("round " << round << ": sources " << sources << ", mappers " << mappers << ", keyed "
                  << keyed << ", batch " << batch << ", credit " << credit << ", linger "
                  << linger.count() << "us");
    job j{job_config{}.with_threads(2).with_batch_size(batch).with_credit(credit).with_linger(
        linger)};
    std::vector<running> out;
    j.source(generator<event>(n, make_event))
        .parallelism(sources)
        .filter(keep)
        .parallelism(sources)
        .rebalance()
        .map(scale)
        .parallelism(mappers)
        .key_by([](const event& e) { return e.key; })
        .process<running>([sums = std::unordered_map<int32_t, running>{}](
                              const event& e, collector<running>& c) mutable {
          auto& r = sums[e.key];
          r.key = e.key;
          r.sum += e.value;
          ++r.count;
          c.emit(r);
        })
        .parallelism(keyed)
        .sink(collect(out));
    REQUIRE(j.run());
    std::map<int32_t, std::vector<int64_t>> got;
    for (const auto& r : out)
      got[r.key].push_back(r.sum);
    REQUIRE(got.size() == reference.size());
    for (auto& [key, sums] : got) {
      INFO("key " << key);
      auto& ref = reference[key];
      REQUIRE(sums.size() == ref.size());
      // In arrival order, the running sums of a key rise (every value is positive) and the steps
      // between them are exactly the key's values, whatever order the paths delivered them in.
      std::vector<int64_t> steps;
      int64_t previous = 0;
      for (auto sum : sums) {
        steps.push_back(sum - previous);
        previous = sum;
      }
      CHECK(std::all_of(steps.begin(), steps.end(), [](int64_t d) { return d > 0; }));
      std::sort(steps.begin(), steps.end());
      CHECK(steps == ref_values[key]);
      if (sources == 1 && mappers == 1)
        CHECK(sums == ref); // one path per key: the reference's order, record for record
    }
  }
}
