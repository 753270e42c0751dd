#include "backends.hpp"

#include <eddy/state/value_state.hpp>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <string>

namespace st = eddy::state;
using st::test::make_store;
using st::test::must;

namespace {

/// A value type that is not trivially copyable, serialized with Boost (the codec's fallback).
struct profile {
  std::string name;
  std::vector<double> scores;
  int64_t visits = 0;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& name& scores& visits;
  }

  friend bool operator==(const profile& x, const profile& y) {
    return x.name == y.name && x.scores == y.scores && x.visits == y.visits;
  }
};

} // namespace

SCENARIO("a value state holds one value per key, on both backends") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto count = must(store.declare_value<int64_t>("count"));
  WHEN("a thousand keys are updated twice") {
    for (int pass = 0; pass < 2; ++pass) {
      for (uint64_t k = 0; k < 1000; ++k) {
        REQUIRE(store.set_current_key(k));
        auto* c = count.value();
        REQUIRE((c == nullptr) == (pass == 0));
        count.update(c ? *c + static_cast<int64_t>(k) : static_cast<int64_t>(k));
      }
    }
    THEN("each key reads its own value") {
      for (uint64_t k = 0; k < 1000; ++k) {
        store.set_current_key(k);
        REQUIRE(count.value() != nullptr);
        CHECK(*count.value() == static_cast<int64_t>(2 * k));
      }
      CHECK(store.count_stored_entries(count) == 1000);
    }
    AND_WHEN("some keys are cleared") {
      for (uint64_t k = 0; k < 1000; k += 3) {
        store.set_current_key(k);
        count.clear();
      }
      THEN("those keys read nothing and the others keep their values") {
        for (uint64_t k = 0; k < 1000; ++k) {
          store.set_current_key(k);
          if (k % 3 == 0) {
            CHECK(count.value() == nullptr);
            CHECK(count.value_or(-1) == -1);
          } else {
            CHECK(count.value_or(-1) == static_cast<int64_t>(2 * k));
          }
        }
        CHECK(store.count_stored_entries(count) == 1000 - 334);
      }
    }
  }
}

SCENARIO("value states of the same store are independent") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store<std::string>(kind);
  auto a = must(store.declare_value<int64_t>("a"));
  auto b = must(store.declare_value<std::string>("b"));
  store.set_current_key("alice");
  a.update(1);
  b.update("one");
  store.set_current_key("bob");
  CHECK(a.value() == nullptr);
  b.update("two");
  store.set_current_key("alice");
  CHECK(*a.value() == 1);
  CHECK(*b.value() == "one");
  store.set_current_key("bob");
  CHECK(*b.value() == "two");
  CHECK(store.state_count() == 2);
}

SCENARIO("a value state stores values through the Boost fallback of the codec") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto profiles = must(store.declare_value<profile>("profiles"));
  store.set_current_key(42);
  profiles.update(profile{"ada", {1.5, 2.5}, 3});
  store.set_current_key(43);
  CHECK(profiles.value() == nullptr);
  store.set_current_key(42);
  REQUIRE(profiles.value() != nullptr);
  CHECK(*profiles.value() == profile{"ada", {1.5, 2.5}, 3});
}

SCENARIO("without a current key of its own, a store reads nothing and writes nothing") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto range = st::key_group_range::of(0, 2, 128); // key groups 0..63
  auto store = make_store(kind, range);
  auto v = must(store.declare_value<int64_t>("v"));
  CHECK(store.current_key() == nullptr);
  CHECK(v.value() == nullptr);
  v.update(1); // no current key: nothing happens
  CHECK(store.count_stored_entries(v) == 0);
  uint64_t foreign = 0;
  while (range.contains(eddy::key_group_of(eddy::hash_key(foreign), 128)))
    ++foreign;
  CHECK_FALSE(store.set_current_key(foreign));
  CHECK(store.current_key() == nullptr);
  v.update(2);
  CHECK(v.value() == nullptr);
  CHECK(store.count_stored_entries(v) == 0);
}
