// operators/internal/keyed_snapshot.hpp: a keyed operator's store and timers, per key group, into
// a checkpoint's instance_state and back, on both backends, across changes of parallelism.
#include "../state/all_kinds.hpp"

#include <eddy/operators/internal/keyed_snapshot.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace st = eddy::state;
using eddy::instance_state;
using eddy::internal::restore_keyed;
using eddy::internal::snapshot_keyed;
using st::backend_kind;
using st::key_group_range;
using st::test::all_kinds;
using st::test::make_store;

namespace {

/// The key groups of the tests.
constexpr uint32_t key_groups = 128;

/// The i-th key that all_kinds::fill writes (seed 1).
uint64_t key_at(uint64_t i) {
  return i * 2654435761u + 1;
}

uint32_t kg_of(uint64_t key) {
  return eddy::key_group_of(st::key_hash<uint64_t>{}(key), key_groups);
}

/// An operator instance's keyed state: every kind of state, and timers.
struct instance {
  all_kinds state;
  st::timer_service<uint64_t> timers;

  instance(backend_kind kind, key_group_range range)
      : state(make_store(kind, range, key_groups)) {}

  /// The same data in every instance: `keys` keys of state, timers for every third of them (both
  /// domains), and timers alone for `timer_only` keys after them (key groups without state).
  void fill(uint64_t keys, uint64_t timer_only = 0) {
    state.fill(keys);
    for (uint64_t i = 0; i < keys + timer_only; ++i) {
      auto k = key_at(i);
      if (!state.store.range().contains(kg_of(k)) || (i < keys && i % 3 != 0))
        continue;
      timers.register_timer(kg_of(k), k, static_cast<int64_t>(i % 100), st::time_domain::event);
      timers.register_timer(kg_of(k), k, 5'000 + static_cast<int64_t>(i % 7),
                            st::time_domain::processing);
    }
  }

  instance_state snapshot() const {
    instance_state out;
    snapshot_keyed(state.store, &timers, out);
    return out;
  }

  void restore(const instance_state& in) { restore_keyed(state.store, &timers, in); }

  /// The timers of every key group of the range, as bytes.
  std::map<uint32_t, std::vector<char>> timer_dump() const {
    std::map<uint32_t, std::vector<char>> out;
    auto r = state.store.range();
    for (auto kg = r.first; kg < r.end; ++kg)
      out[kg] = timers.write_key_group(kg);
    return out;
  }
};

/// The key groups of `s`.
std::set<uint32_t> key_groups_of(const instance_state& s) {
  std::set<uint32_t> out;
  for (const auto& kg : s.key_groups)
    out.insert(kg.first);
  return out;
}

/// The entries of `from` whose key group is in `range`.
instance_state restrict_to(const std::vector<instance_state>& from, key_group_range range) {
  instance_state out;
  for (const auto& s : from)
    for (const auto& kg : s.key_groups)
      if (range.contains(kg.first))
        out.key_groups.push_back(kg);
  return out;
}

/// Recomputes the trailing CRC-32C of key-group bytes (to damage a field behind the checksum).
void fix_crc(std::string& bytes) {
  auto body = bytes.size() - sizeof(uint32_t);
  auto crc = st::crc32c(bytes.data(), body);
  std::memcpy(bytes.data() + body, &crc, sizeof(crc));
}

/// Offsets into the layout of keyed_snapshot.hpp.
constexpr size_t store_length_at = 4 + 2 + 4;

uint64_t read_u64(const std::string& bytes, size_t at) {
  uint64_t x = 0;
  std::memcpy(&x, bytes.data() + at, sizeof(x));
  return x;
}

void write_u64(std::string& bytes, size_t at, uint64_t x) {
  std::memcpy(bytes.data() + at, &x, sizeof(x));
}

} // namespace

SCENARIO("a snapshot of the keyed state and timers restores to identical state") {
  auto from_kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  auto to_kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO(st::to_string(from_kind) << " -> " << st::to_string(to_kind));
  auto all = key_group_range::all(key_groups);
  instance from{from_kind, all};
  from.fill(60, 40);
  auto snap = from.snapshot();

  THEN("only the key groups that hold state or timers are in it") {
    std::set<uint32_t> expected;
    for (uint64_t i = 0; i < 60; ++i)
      expected.insert(kg_of(key_at(i)));
    for (uint64_t i = 60; i < 100; ++i)
      expected.insert(kg_of(key_at(i)));
    CHECK(key_groups_of(snap) == expected);
    CHECK(snap.key_groups.size() == expected.size());
    CHECK(snap.key_groups.size() < key_groups);
    CHECK(snap.operator_state.empty());
  }

  THEN("a fresh instance restored from it holds the same state and timers") {
    instance to{to_kind, all};
    to.restore(snap);
    CHECK(to.state.dump() == from.state.dump());
    CHECK(to.timer_dump() == from.timer_dump());
    CHECK(to.timers.size(st::time_domain::event) == from.timers.size(st::time_domain::event));
    CHECK(to.timers.size(st::time_domain::processing) ==
          from.timers.size(st::time_domain::processing));
    AND_THEN("its own snapshot is the same") {
      auto again = to.snapshot();
      CHECK(key_groups_of(again) == key_groups_of(snap));
      auto first = to.state.dump();
      instance third{from_kind, all};
      third.restore(again);
      CHECK(third.state.dump() == first);
      CHECK(third.timer_dump() == from.timer_dump());
    }
  }

  THEN("an empty instance snapshots to nothing") {
    instance empty{from_kind, all};
    CHECK(empty.snapshot().empty());
  }
}

SCENARIO("keyed state restores into instances of another parallelism, key group by key group") {
  auto from_kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  auto to_kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO(st::to_string(from_kind) << " -> " << st::to_string(to_kind));
  // Two old instances, each with its key groups' share of the same data.
  std::vector<instance_state> old;
  for (uint32_t i = 0; i < 2; ++i) {
    instance x{from_kind, key_group_range::of(i, 2, key_groups)};
    x.fill(300, 50);
    old.push_back(x.snapshot());
  }
  auto new_parallelism = GENERATE(1u, 3u);
  INFO("to parallelism " << new_parallelism);
  for (uint32_t i = 0; i < new_parallelism; ++i) {
    auto range = key_group_range::of(i, new_parallelism, key_groups);
    instance restored{to_kind, range};
    restored.restore(restrict_to(old, range));
    instance expected{to_kind, range};
    expected.fill(300, 50);
    CHECK(restored.state.dump() == expected.state.dump());
    CHECK(restored.timer_dump() == expected.timer_dump());
  }
}

SCENARIO("a restore keeps exactly the key groups it is given") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO(st::to_string(kind));
  auto all = key_group_range::all(key_groups);
  instance from{kind, all};
  from.fill(200, 20);
  auto snap = from.snapshot();
  auto range = key_group_range::of(1, 4, key_groups); // key groups 32 to 63
  auto given = restrict_to({snap}, range);
  REQUIRE(given.key_groups.size() > 2);
  auto left_out = given.key_groups.back().first;
  given.key_groups.pop_back();
  instance to{kind, range};
  to.restore(given);
  auto have = to.snapshot();
  CHECK(key_groups_of(have) == key_groups_of(given));
  CHECK(key_groups_of(have).count(left_out) == 0);
  CHECK(to.timers.write_key_group(left_out) == std::vector<char>(sizeof(uint64_t), 0));
  // Each key group given is identical to the original's.
  for (const auto& entry : have.key_groups) {
    auto kg = entry.first;
    CAPTURE(kg);
    CHECK(to.timers.write_key_group(kg) == from.timers.write_key_group(kg));
    instance one{kind, key_group_range{kg, kg + 1}};
    one.restore(restrict_to({snap}, key_group_range{kg, kg + 1}));
    CHECK(one.state.dump() == [&] {
      instance ref{kind, key_group_range{kg, kg + 1}};
      ref.fill(200, 20);
      return ref.state.dump();
    }());
  }

  WHEN("a key group outside the instance's range is given") {
    auto foreign = restrict_to({snap}, key_group_range::of(0, 4, key_groups));
    REQUIRE_FALSE(foreign.key_groups.empty());
    instance other{kind, range};
    auto kg = foreign.key_groups.front().first;
    CHECK_THROWS_WITH(other.restore(foreign),
                      Catch::StartsWith("cannot restore key group " + std::to_string(kg)) &&
                          Catch::Contains("owns key groups 32 to 64"));
  }
}

SCENARIO("damaged keyed-state bytes are refused with the key group, never read past their end") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO(st::to_string(kind));
  auto all = key_group_range::all(key_groups);
  instance from{kind, all};
  from.fill(100, 10);
  auto snap = from.snapshot();
  // A key group with state and timers.
  auto pick = snap.key_groups.front();
  for (const auto& kg : snap.key_groups)
    if (from.timers.write_key_group(kg.first).size() > sizeof(uint64_t) && kg.second.size() > 40) {
      pick = kg;
      break;
    }
  auto kg = pick.first;
  auto good = pick.second;
  auto refused = [&](std::string bytes, const char* why) {
    instance to{backend_kind::memory, all};
    instance_state in;
    in.key_groups.emplace_back(kg, std::move(bytes));
    CHECK_THROWS_WITH(to.restore(in),
                      Catch::StartsWith("cannot restore key group " + std::to_string(kg) + ": ") &&
                          Catch::Contains(why));
    CHECK(to.state.dump().empty());
  };

  WHEN("any byte is flipped or the bytes are cut short") {
    instance to{backend_kind::memory, all};
    for (size_t i = 0; i < good.size(); ++i) {
      auto bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0x41);
      instance_state in;
      in.key_groups.emplace_back(kg, bad);
      CHECK_THROWS_AS(to.restore(in), std::runtime_error);
      instance_state cut;
      cut.key_groups.emplace_back(kg, good.substr(0, i));
      CHECK_THROWS_AS(to.restore(cut), std::runtime_error);
    }
    CHECK(to.state.dump().empty());
    CHECK(to.timers.size(st::time_domain::event) == 0);
  }
  WHEN("the checksum matches but a length is impossible") {
    auto bad = good;
    write_u64(bad, store_length_at, uint64_t{1} << 40);
    fix_crc(bad);
    refused(bad, "the length of its keyed state is damaged");
    bad = good;
    auto timers_at = store_length_at + 8 + read_u64(good, store_length_at);
    write_u64(bad, timers_at, read_u64(good, timers_at) + 1);
    fix_crc(bad);
    refused(bad, "the length of its timers is damaged");
  }
  WHEN("the checksum matches but the store's bytes inside are damaged") {
    auto bad = good;
    bad[store_length_at + 8 + 20] ^= 0x10;
    fix_crc(bad);
    refused(bad, "damaged");
  }
  WHEN("the checksum matches but the timers' count is damaged") {
    auto bad = good;
    auto timers_at = store_length_at + 8 + read_u64(good, store_length_at);
    write_u64(bad, timers_at + 8, read_u64(good, timers_at + 8) + 1);
    fix_crc(bad);
    refused(bad, "timers of key group");
  }
  WHEN("the bytes are those of another key group") {
    instance to{backend_kind::memory, all};
    instance_state in;
    in.key_groups.emplace_back(kg + 1, good);
    CHECK_THROWS_WITH(to.restore(in), Catch::Contains("those of key group " + std::to_string(kg)));
  }
  WHEN("the bytes are not keyed state at all") {
    refused(std::string(64, 'x'), "checksum");
    auto other = std::string("ABCD") + good.substr(4);
    fix_crc(other);
    refused(other, "wrong magic");
  }
  WHEN("an operator without timers is given timers") {
    all_kinds to{make_store(backend_kind::memory, all, key_groups)};
    instance_state in;
    in.key_groups.emplace_back(kg, good);
    CHECK_THROWS_WITH(restore_keyed<uint64_t>(to.store, nullptr, in),
                      Catch::Contains("holds timers, but this operator has none"));
  }
}

SCENARIO("an operator without timers snapshots its store alone") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  auto all = key_group_range::all(key_groups);
  all_kinds from{make_store(kind, all, key_groups)};
  from.fill(50);
  instance_state snap;
  snapshot_keyed<uint64_t>(from.store, nullptr, snap);
  REQUIRE_FALSE(snap.key_groups.empty());
  all_kinds to{make_store(kind, all, key_groups)};
  restore_keyed<uint64_t>(to.store, nullptr, snap);
  CHECK(to.dump() == from.dump());
}
