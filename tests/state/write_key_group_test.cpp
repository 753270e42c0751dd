// keyed_state_store::write_key_group / read_key_group: the canonical key-group bytes.
#include "all_kinds.hpp"

#include <eddy/state/keyed_state_store.hpp>

#include <string>
#include <vector>

namespace st = eddy::state;
using st::backend_kind;
using st::test::all_kinds;
using st::test::make_store;
using st::test::must;

namespace {

/// Copies every key group of `from` into `to` through bytes; returns the total byte count.
size_t copy_key_groups(all_kinds& from, all_kinds& to) {
  size_t total = 0;
  for (uint32_t kg = to.store.range().first; kg < to.store.range().end; ++kg) {
    auto bytes = from.store.write_key_group(kg);
    REQUIRE(bytes);
    total += bytes->size();
    auto err = to.store.read_key_group(kg, *bytes);
    INFO(eddy::describe(err));
    REQUIRE(!err);
  }
  return total;
}

} // namespace

SCENARIO("every key group written to bytes and read into a fresh store gives identical state") {
  auto from_kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  auto to_kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO(st::to_string(from_kind) << " -> bytes -> " << st::to_string(to_kind));
  all_kinds from{make_store(from_kind)};
  from.fill(3000);
  all_kinds to{make_store(to_kind)};
  auto bytes = copy_key_groups(from, to);
  CHECK(bytes > 0);
  auto expected = from.dump();
  CHECK(expected.size() > 8000);
  CHECK(to.dump() == expected);
  AND_THEN("the TTL timestamps came along: the same entries expire at the same time") {
    for (auto* s : {&from, &to})
      s->store.set_time(all_kinds::ttl_ms + 1500); // written at times 0..2999
    auto later = from.dump();
    CHECK(later.size() < expected.size());
    CHECK(to.dump() == later);
  }
  AND_THEN("the copy writes bytes that restore the same state again") {
    all_kinds third{make_store(backend_kind::memory)};
    copy_key_groups(to, third);
    CHECK(third.dump() == expected);
  }
}

SCENARIO("key groups move between parallelisms: one store's groups split over two") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  all_kinds one{make_store(kind)};
  one.fill(2000);
  all_kinds left{make_store(kind, st::key_group_range::of(0, 2, 128))};
  all_kinds right{make_store(kind, st::key_group_range::of(1, 2, 128))};
  copy_key_groups(one, left);
  copy_key_groups(one, right);
  auto together = left.dump();
  auto r = right.dump();
  together.insert(r.begin(), r.end());
  CHECK(together == one.dump());
  CHECK(left.store.write_key_group(64).error() != caf::error{}); // 64 belongs to the right
}

SCENARIO("damaged key-group bytes are refused and change nothing") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  all_kinds from{make_store(backend_kind::memory)};
  from.fill(400);
  uint32_t kg = 5;
  auto good = must(from.store.write_key_group(kg));
  REQUIRE(good.size() > 100);
  all_kinds to{make_store(kind)};
  to.fill(300, 7); // something to keep
  auto before = to.dump();
  WHEN("any single byte is altered") {
    for (size_t i = 0; i < good.size(); i += (i < 64 ? 1 : 7)) {
      auto bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0x5A);
      auto err = to.store.read_key_group(kg, bad);
      INFO("byte " << i);
      REQUIRE(err);
      CHECK((st::is(err, st::errc::corrupt_key_group) || st::is(err, st::errc::invalid_argument)));
    }
    THEN("the store is unchanged") {
      CHECK(to.dump() == before);
    }
  }
  WHEN("the bytes are cut short") {
    for (size_t n : {size_t{0}, size_t{3}, size_t{16}, size_t{19}, good.size() / 2, good.size() - 4,
                     good.size() - 1}) {
      std::vector<char> bad(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
      auto err = to.store.read_key_group(kg, bad);
      INFO("length " << n);
      REQUIRE(st::is(err, st::errc::corrupt_key_group));
    }
    THEN("the store is unchanged, and a sentence says why") {
      CHECK(to.dump() == before);
      auto err = to.store.read_key_group(kg, std::vector<char>(good.begin(), good.end() - 1));
      CHECK(eddy::describe(err).find("read_key_group(5)") != std::string::npos);
    }
  }
  WHEN("the bytes of another key group are read") {
    auto err = to.store.read_key_group(kg + 1, good);
    THEN("they are refused") {
      CHECK(st::is(err, st::errc::invalid_argument));
    }
  }
  WHEN("the undamaged bytes are read") {
    REQUIRE(!to.store.read_key_group(kg, good));
    THEN("that key group now holds exactly what they hold") {
      all_kinds check{make_store(backend_kind::memory)};
      REQUIRE(!check.store.read_key_group(kg, good));
      auto want = check.dump();
      auto got = to.dump();
      size_t in_kg = 0;
      for (auto& [name, text] : got) {
        auto key = std::stoull(name.substr(name.find('/') + 1));
        if (eddy::key_group_of(eddy::hash_key(key), 128) != kg)
          continue;
        ++in_kg;
        CHECK(want.at(name) == text);
      }
      CHECK(in_kg == want.size());
    }
  }
}

SCENARIO("a state is restored with the types it was written with, or refused") {
  auto kind = GENERATE(backend_kind::memory, backend_kind::rocksdb);
  INFO("backend: " << st::to_string(kind));
  auto from = make_store(backend_kind::memory);
  auto v = must(from.declare_value<int64_t>("v"));
  from.set_current_key(1);
  v.update(11);
  auto kg = from.current_key_group();
  auto bytes = must(from.write_key_group(kg));
  GIVEN("a store that declares the state with another type") {
    auto to = make_store(kind);
    REQUIRE(to.declare_value<int32_t>("v"));
    THEN("reading the key group is refused as a type mismatch") {
      auto err = to.read_key_group(kg, bytes);
      CHECK(st::is(err, st::errc::type_mismatch));
      CHECK(eddy::describe(err).find("'v'") != std::string::npos);
    }
  }
  GIVEN("a store that has not declared the state yet") {
    auto to = make_store(kind);
    REQUIRE(!to.read_key_group(kg, bytes));
    THEN("the bytes wait for the declaration, travel with later key-group bytes, and restore") {
      auto again = must(to.write_key_group(kg));
      auto third = make_store(kind);
      REQUIRE(!third.read_key_group(kg, again));
      auto v3 = must(third.declare_value<int64_t>("v"));
      third.set_current_key(1);
      REQUIRE(v3.value() != nullptr);
      CHECK(*v3.value() == 11);
      auto bad = third.declare_list<int64_t>("w"); // unrelated name: fine
      CHECK(bad);
    }
    THEN("a declaration with other types is refused") {
      CHECK(st::is(to.declare_list<int64_t>("v").error(), st::errc::type_mismatch));
      auto ok = must(to.declare_value<int64_t>("v"));
      to.set_current_key(1);
      CHECK(*ok.value() == 11);
    }
  }
}
