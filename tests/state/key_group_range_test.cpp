#include <eddy/state/key_group_range.hpp>

#include <eddy/actors/partitioning.hpp>

#include <catch2/catch.hpp>

#include <vector>

using eddy::state::key_group_range;

SCENARIO("key_group_range::of is the exact inverse of instance_of") {
  for (uint32_t kgs : {1u, 2u, 3u, 7u, 10u, 64u, 100u, 128u, 129u, 1000u, 4096u, 32768u}) {
    for (uint32_t p : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 13u, 16u, 31u, 64u, 100u, 128u, 200u, 1000u}) {
      std::vector<uint32_t> owner(kgs, UINT32_MAX);
      uint32_t covered = 0;
      uint32_t expected_first = 0;
      for (uint32_t i = 0; i < p; ++i) {
        auto r = key_group_range::of(i, p, kgs);
        // Ranges tile [0, kgs) in instance order, without gaps or overlaps.
        REQUIRE(r.first == expected_first);
        REQUIRE(r.end >= r.first);
        expected_first = r.end;
        for (uint32_t kg = r.first; kg < r.end; ++kg) {
          REQUIRE(owner[kg] == UINT32_MAX);
          owner[kg] = i;
          ++covered;
        }
      }
      REQUIRE(covered == kgs);
      for (uint32_t kg = 0; kg < kgs; ++kg)
        REQUIRE(owner[kg] == eddy::instance_of(kg, kgs, p));
    }
  }
}

SCENARIO("a key group range answers contains and size") {
  auto r = key_group_range::of(1, 4, 128); // instance 1 of 4 owns 32..63
  CHECK(r.first == 32);
  CHECK(r.end == 64);
  CHECK(r.size() == 32);
  CHECK(r.contains(32));
  CHECK(r.contains(63));
  CHECK_FALSE(r.contains(31));
  CHECK_FALSE(r.contains(64));
  CHECK(key_group_range::all(128) == key_group_range{0, 128});
  GIVEN("more instances than key groups") {
    THEN("some instances own nothing, and an instance past the parallelism owns nothing") {
      CHECK(key_group_range::of(0, 5, 2) == key_group_range{0, 1});
      CHECK(key_group_range::of(1, 5, 2).empty());
      CHECK(key_group_range::of(5, 5, 2).empty());
      CHECK(key_group_range::of(0, 0, 2).empty());
    }
  }
}
