#include "backends.hpp"

#include <eddy/state/reducing_state.hpp>

#include <algorithm>

namespace st = eddy::state;
using st::test::make_store;
using st::test::must;

SCENARIO("a reducing state folds every add into one value per key, on both backends") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto sum = must(store.declare_reducing<int64_t>(
      "sum", [](const int64_t& a, const int64_t& b) { return a + b; }));
  auto max = must(store.declare_reducing<double>(
      "max", [](const double& a, const double& b) { return std::max(a, b); }));
  for (int64_t i = 1; i <= 1000; ++i) {
    store.set_current_key(static_cast<uint64_t>(i % 10));
    sum.add(i);
    max.add(static_cast<double>((i * 7919) % 1000));
  }
  THEN("each key holds the fold of its own inputs") {
    for (uint64_t k = 0; k < 10; ++k) {
      store.set_current_key(k);
      int64_t expected_sum = 0;
      double expected_max = -1;
      for (int64_t i = 1; i <= 1000; ++i) {
        if (static_cast<uint64_t>(i % 10) != k)
          continue;
        expected_sum += i;
        expected_max = std::max(expected_max, static_cast<double>((i * 7919) % 1000));
      }
      REQUIRE(sum.get() != nullptr);
      CHECK(*sum.get() == expected_sum);
      CHECK(*max.get() == expected_max);
    }
  }
  WHEN("a key's value is cleared") {
    store.set_current_key(3);
    sum.clear();
    THEN("the next add starts the fold again") {
      CHECK(sum.get() == nullptr);
      sum.add(5);
      CHECK(*sum.get() == 5);
    }
  }
}
