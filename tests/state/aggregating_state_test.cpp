#include "backends.hpp"

#include <eddy/state/aggregating_state.hpp>

#include <optional>
#include <utility>

namespace st = eddy::state;
using st::test::make_store;
using st::test::must;

namespace {

using mean_acc = std::pair<double, int64_t>;

/// The mean of the inputs, mergeable (what a session window needs).
struct mean {
  mean_acc create_accumulator() const { return {0.0, 0}; }
  void add(const double& x, mean_acc& acc) const {
    acc.first += x;
    ++acc.second;
  }
  double get_result(const mean_acc& acc) const { return acc.first / acc.second; }
  void merge(mean_acc& acc, const mean_acc& other) const {
    acc.first += other.first;
    acc.second += other.second;
  }
};

/// The number of inputs, without merge.
struct counter {
  int64_t create_accumulator() const { return 0; }
  void add(const int&, int64_t& acc) const { ++acc; }
  int64_t get_result(const int64_t& acc) const { return acc; }
};

} // namespace

SCENARIO("an aggregating state feeds an accumulator per key, on both backends") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto avg = must(store.declare_aggregating<double>("avg", mean{}));
  auto n = must(store.declare_aggregating<int>("n", counter{}));
  for (int i = 0; i < 100; ++i) {
    store.set_current_key(static_cast<uint64_t>(i % 2));
    avg.add(i);
    n.add(i);
  }
  THEN("each key reads the result of its own inputs") {
    store.set_current_key(0);
    CHECK(avg.get() == std::optional<double>{49.0}); // mean of 0, 2, ..., 98
    CHECK(n.get() == std::optional<int64_t>{50});
    store.set_current_key(1);
    CHECK(avg.get() == std::optional<double>{50.0});
    REQUIRE(avg.accumulator() != nullptr);
    CHECK(avg.accumulator()->second == 50);
    store.set_current_key(2);
    CHECK_FALSE(avg.get().has_value());
  }
  WHEN("accumulators are merged, as session windows merge") {
    store.set_current_key(0);
    auto left = *avg.accumulator();
    store.set_current_key(1);
    CHECK(avg.merge(left));
    store.set_current_key(7);
    CHECK(avg.merge(left)); // into a key without an accumulator: a fresh one first
    THEN("the results are those of all inputs together") {
      store.set_current_key(1);
      CHECK(avg.get() == std::optional<double>{49.5});
      store.set_current_key(7);
      CHECK(avg.get() == std::optional<double>{49.0});
    }
  }
  WHEN("the aggregate function has no merge") {
    THEN("merge says so and changes nothing") {
      store.set_current_key(0);
      CHECK_FALSE(n.merge(int64_t{10}));
      CHECK(n.get() == std::optional<int64_t>{50});
    }
  }
  WHEN("an accumulator is set or cleared") {
    store.set_current_key(0);
    avg.set_accumulator({10.0, 4});
    store.set_current_key(1);
    avg.clear();
    THEN("it reads what was set, or nothing") {
      store.set_current_key(0);
      CHECK(avg.get() == std::optional<double>{2.5});
      store.set_current_key(1);
      CHECK_FALSE(avg.get().has_value());
    }
  }
}
