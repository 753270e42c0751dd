#include "backends.hpp"

#include <eddy/state/list_state.hpp>

#include <string>
#include <vector>

namespace st = eddy::state;
using st::test::make_store;
using st::test::must;

SCENARIO("a list state keeps each key's elements in insertion order, on both backends") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto events = must(store.declare_list<std::string>("events"));
  for (uint64_t k = 0; k < 200; ++k) {
    store.set_current_key(k);
    CHECK(events.get().empty());
    for (uint64_t i = 0; i <= k % 5; ++i)
      events.add(std::to_string(k) + ":" + std::to_string(i));
  }
  THEN("each key reads back its own elements, oldest first") {
    for (uint64_t k = 0; k < 200; ++k) {
      store.set_current_key(k);
      std::vector<std::string> expected;
      for (uint64_t i = 0; i <= k % 5; ++i)
        expected.push_back(std::to_string(k) + ":" + std::to_string(i));
      CHECK(events.get() == expected);
      std::vector<std::string> reused{"stale"};
      CHECK(events.get(reused));
      CHECK(reused == expected);
    }
  }
  WHEN("a list is replaced, emptied by update, or cleared") {
    store.set_current_key(1);
    events.update({"x", "y"});
    store.set_current_key(2);
    events.update({});
    store.set_current_key(3);
    events.clear();
    THEN("it reads the new elements, or none") {
      store.set_current_key(1);
      CHECK(events.get() == std::vector<std::string>{"x", "y"});
      store.set_current_key(2);
      CHECK(events.get().empty());
      std::vector<std::string> out;
      CHECK_FALSE(events.get(out));
      store.set_current_key(3);
      CHECK(events.get().empty());
      store.set_current_key(4);
      CHECK(events.get().size() == 5);
      CHECK(store.count_stored_entries(events) == 198);
    }
  }
}

SCENARIO("a list state holds trivially copyable elements as bytes") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  struct point {
    double x;
    double y;
  };
  auto store = make_store(kind);
  auto points = must(store.declare_list<point>("points"));
  store.set_current_key(9);
  for (int i = 0; i < 1000; ++i)
    points.add(point{i * 0.5, -i * 0.25});
  auto all = points.get();
  REQUIRE(all.size() == 1000);
  for (int i = 0; i < 1000; ++i) {
    CHECK(all[i].x == i * 0.5);
    CHECK(all[i].y == -i * 0.25);
  }
}
