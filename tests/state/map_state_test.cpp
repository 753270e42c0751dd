#include "backends.hpp"

#include <eddy/state/map_state.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace st = eddy::state;
using st::test::make_store;
using st::test::must;

SCENARIO("a map state holds a map per key, on both backends") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store<std::string>(kind);
  auto views = must(store.declare_map<std::string, int64_t>("views"));
  // Keys whose bytes are prefixes of each other must not see each other's entries.
  std::vector<std::string> users{"a", "ab", "abc", "b", ""};
  std::map<std::string, std::map<std::string, int64_t>> expected;
  for (int round = 0; round < 3; ++round) {
    for (const auto& u : users) {
      store.set_current_key(u);
      for (const std::string page : {"", "c", "bc", "home"}) {
        auto* n = views.get(page);
        views.put(page, n ? *n + 1 : 1);
        expected[u][page] += 1;
      }
    }
  }
  THEN("every key sees exactly its own entries") {
    for (const auto& u : users) {
      store.set_current_key(u);
      auto entries = views.entries();
      std::map<std::string, int64_t> got(entries.begin(), entries.end());
      CHECK(got == expected[u]);
      CHECK(views.keys().size() == 4);
      CHECK(views.contains("home"));
      CHECK_FALSE(views.contains("away"));
      CHECK_FALSE(views.empty());
      CHECK(*views.get("bc") == 3);
    }
    CHECK(store.count_stored_entries(views) == 20);
  }
  WHEN("entries are removed and a key is cleared") {
    store.set_current_key("a");
    CHECK(views.remove("home"));
    CHECK_FALSE(views.remove("home"));
    store.set_current_key("ab");
    views.clear();
    THEN("they are gone and the rest stays") {
      store.set_current_key("a");
      CHECK(views.get("home") == nullptr);
      CHECK(views.keys().size() == 3);
      store.set_current_key("ab");
      CHECK(views.empty());
      CHECK(views.entries().empty());
      store.set_current_key("abc");
      CHECK(views.keys().size() == 4);
      CHECK(store.count_stored_entries(views) == 15);
    }
  }
}

SCENARIO("a map state iterates the current key's entries with for_each") {
  auto kind = GENERATE(st::backend_kind::memory, st::backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto windows = must(store.declare_map<int64_t, double>("windows"));
  store.set_current_key(5);
  for (int64_t w = 0; w < 100; ++w)
    windows.put(w * 1000, w * 0.5);
  double sum = 0;
  int64_t n = 0;
  windows.for_each([&](const int64_t& w, const double& x) {
    CHECK(x == (w / 1000) * 0.5);
    sum += x;
    ++n;
  });
  CHECK(n == 100);
  CHECK(sum == 0.5 * 99 * 100 / 2);
}
