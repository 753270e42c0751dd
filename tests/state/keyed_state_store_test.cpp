#include "backends.hpp"

#include <eddy/state/keyed_state_store.hpp>

#include <caf/actor_system_config.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace st = eddy::state;
using st::backend_kind;
using st::test::make_store;
using st::test::must;

SCENARIO("set_current_key puts a key in the key group the partitioner sends it to") {
  auto store = make_store<std::string>(backend_kind::memory);
  for (const std::string k : {"a", "mote-17", "user:42", ""}) {
    REQUIRE(store.set_current_key(k));
    CHECK(*store.current_key() == k);
    CHECK(store.current_key_group() == eddy::key_group_of(eddy::hash_key(k), 128));
  }
}

SCENARIO("composite keys take the key group of their user key") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  using window_key = std::pair<uint64_t, int64_t>; // (user, window end)
  auto range = st::key_group_range::of(1, 4, 128);
  auto store = make_store<window_key>(kind, range);
  auto sums = must(store.declare_value<double>("sums"));
  std::set<window_key> written;
  for (uint64_t user = 0; user < 300; ++user) {
    auto kg = eddy::key_group_of(eddy::hash_key(user), 128);
    for (int64_t w = 1000; w <= 3000; w += 1000) {
      bool mine = store.set_current_key({user, w}, kg);
      CHECK(mine == range.contains(kg));
      if (!mine)
        continue;
      sums.update(static_cast<double>(user) + w);
      written.insert({user, w});
    }
  }
  THEN("each window key is found again, and iterating a key group finds its window keys") {
    std::set<window_key> found;
    for (auto kg = range.first; kg < range.end; ++kg) {
      store.for_each_key(sums, kg, [&](const window_key& k) {
        CHECK(eddy::key_group_of(eddy::hash_key(k.first), 128) == kg);
        found.insert(k);
      });
    }
    CHECK(found == written);
    for (const auto& k : written) {
      store.set_current_key(k, eddy::key_group_of(eddy::hash_key(k.first), 128));
      CHECK(sums.value_or(-1) == static_cast<double>(k.first) + k.second);
    }
  }
}

SCENARIO("for_each_key finds every key of a state, per key group, on both backends") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto value = must(store.declare_value<int64_t>("value"));
  auto list = must(store.declare_list<int64_t>("list"));
  auto map = must(store.declare_map<int64_t, int64_t>("map"));
  std::set<uint64_t> all;
  for (uint64_t k = 0; k < 2000; k += 2) {
    store.set_current_key(k);
    value.update(1);
    list.add(1);
    list.add(2);
    map.put(1, 1);
    map.put(2, 2);
    all.insert(k);
  }
  for (const auto* state : {static_cast<const st::internal::handle_base*>(&value),
                            static_cast<const st::internal::handle_base*>(&list),
                            static_cast<const st::internal::handle_base*>(&map)}) {
    INFO("state " << state->name());
    std::vector<uint64_t> seen;
    for (uint32_t kg = 0; kg < 128; ++kg) {
      for (auto k : store.keys(*state, kg)) {
        CHECK(eddy::key_group_of(eddy::hash_key(k), 128) == kg);
        seen.push_back(k);
      }
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<uint64_t>(all.begin(), all.end())); // each key exactly once
  }
  uint64_t n = 0;
  store.for_each_key(map, [&](const uint64_t&) { ++n; });
  CHECK(n == all.size());
}

SCENARIO("declaring a state again gives the same state, or a type mismatch") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto a = must(store.declare_value<int64_t>("a"));
  auto again = must(store.declare_value<int64_t>("a"));
  CHECK(again.id() == a.id());
  CHECK(store.state_count() == 1);
  store.set_current_key(1);
  a.update(5);
  CHECK(*again.value() == 5);
  auto other_type = store.declare_value<double>("a");
  REQUIRE(!other_type);
  CHECK(st::is(other_type.error(), st::errc::type_mismatch));
  CHECK(eddy::describe(other_type.error()).find("\"a\"") != std::string::npos);
  CHECK(st::is(store.declare_list<int64_t>("a").error(), st::errc::type_mismatch));
  auto other_ttl = store.declare_value<int64_t>("a", st::state_ttl::after_ms(5));
  CHECK(st::is(other_ttl.error(), st::errc::type_mismatch));
  CHECK(store.state_count() == 1);
}

SCENARIO("a store is made from a valid range of key groups") {
  auto cfg = st::backend_config{};
  auto zero = st::make_keyed_state_store<uint64_t>(cfg, {0, 0}, 0);
  REQUIRE(!zero);
  CHECK(st::is(zero.error(), st::errc::invalid_argument));
  auto too_many = st::make_keyed_state_store<uint64_t>(cfg, {0, 10}, 40000);
  CHECK(st::is(too_many.error(), st::errc::invalid_argument));
  auto beyond = st::make_keyed_state_store<uint64_t>(cfg, {100, 200}, 128);
  REQUIRE(!beyond);
  CHECK(eddy::describe(beyond.error()).find("key_group_range::of") != std::string::npos);
  auto empty = st::make_keyed_state_store<uint64_t>(cfg, st::key_group_range::of(1, 200, 128), 128);
  CHECK(empty); // more instances than key groups: some own none
}

SCENARIO("a moved store keeps its states and handles") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto store = make_store(kind);
  auto v = must(store.declare_value<int64_t>("v"));
  store.set_current_key(3);
  v.update(33);
  auto moved = std::move(store);
  moved.set_current_key(3);
  CHECK(*v.value() == 33);
  CHECK(moved.keys(v, moved.current_key_group()) == std::vector<uint64_t>{3});
}

SCENARIO("a RocksDB store lives in its own folder, removed with it") {
  std::string path;
  {
    auto store = make_store(backend_kind::rocksdb);
    path = store.rocksdb_path();
    CHECK(std::filesystem::is_directory(path));
    CHECK(path.rfind(st::test::scratch_dir(), 0) == 0);
    CHECK(store.kind() == backend_kind::rocksdb);
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(make_store(backend_kind::memory).rocksdb_path().empty());
}

SCENARIO("state errors render through CAF once their category is registered") {
  caf::actor_system_config cfg;
  cfg.add_error_category(st::error_category, st::render);
  auto err = st::make_error(st::errc::invalid_config, "set rocksdb_directory");
  CHECK(st::is(err, st::errc::invalid_config));
  CHECK_FALSE(st::is(err, st::errc::type_mismatch));
  CHECK(eddy::describe(err) == "set rocksdb_directory");
  CHECK(st::to_string(st::errc::corrupt_key_group) == "corrupt_key_group");
  auto renderer = cfg.error_renderers.find(st::error_category);
  REQUIRE(renderer != cfg.error_renderers.end());
  CHECK(renderer->second(err.code(), err.category(), err.context()) ==
        "eddy_state: invalid_config (set rocksdb_directory)");
}
