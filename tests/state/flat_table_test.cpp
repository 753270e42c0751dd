// The in-memory backend's hash table (state/internal/flat_table.hpp), against std::unordered_map.
#include <eddy/state/internal/flat_table.hpp>

#include <eddy/state/key_hash.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <unordered_map>

namespace st = eddy::state;

namespace {

/// One hash for every seventh key: long probe runs, wrapping around the end of the table.
struct colliding_hash {
  uint64_t operator()(uint64_t k) const {
    return k % 7 == 0 ? uint64_t{0xFFFF000000001234ULL} : st::key_hash<uint64_t>{}(k);
  }
};

} // namespace

SCENARIO("the flat table behaves like a hash map under random inserts and erasures") {
  st::internal::flat_table<uint64_t, std::string, colliding_hash> table;
  std::unordered_map<uint64_t, std::string> reference;
  std::mt19937_64 rng{11};
  colliding_hash h;
  for (int step = 0; step < 200'000; ++step) {
    uint64_t k = rng() % 5000;
    switch (rng() % 4) {
    case 0:
    case 1: {
      auto [v, inserted] = table.find_or_emplace(h(k), k, [&] { return std::to_string(k); });
      CHECK(inserted == (reference.count(k) == 0));
      *v += "+";
      reference[k] = reference.count(k) ? reference[k] + "+" : std::to_string(k) + "+";
      break;
    }
    case 2:
      REQUIRE(table.erase(h(k), k) == (reference.erase(k) == 1));
      break;
    default: {
      auto* v = table.find(h(k), k);
      auto i = reference.find(k);
      REQUIRE((v != nullptr) == (i != reference.end()));
      if (v)
        REQUIRE(*v == i->second);
    }
    }
    if (step % 50'000 == 0)
      table.shrink();
  }
  REQUIRE(table.size() == reference.size());
  size_t n = 0;
  table.for_each([&](const uint64_t& k, const std::string& v) {
    REQUIRE(reference.at(k) == v);
    ++n;
  });
  CHECK(n == reference.size());
  for (auto& [k, v] : reference)
    table.erase(h(k), k);
  CHECK(table.empty());
  table.shrink();
  CHECK(table.slot_count() == 0);
}
