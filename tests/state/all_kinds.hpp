// A store with one state of every kind, filled with generated data, and a dump of its contents
// that two stores can be compared by: for the key-group round trip and the backend comparison.
#pragma once

#include "backends.hpp"

#include <map>
#include <sstream>
#include <string>
#include <utility>

namespace eddy::state::test {

/// The mean of doubles (aggregating state).
struct mean_of {
  std::pair<double, int64_t> create_accumulator() const { return {0.0, 0}; }
  void add(const double& x, std::pair<double, int64_t>& acc) const {
    acc.first += x;
    ++acc.second;
  }
  double get_result(const std::pair<double, int64_t>& acc) const { return acc.first / acc.second; }
};

/// Adds two integers (reducing state).
struct add_ints {
  int64_t operator()(const int64_t& a, const int64_t& b) const { return a + b; }
};

/// One state of every kind in one store; list and map entries expire after `ttl_ms`.
struct all_kinds {
  keyed_state_store<uint64_t> store;
  value_state<int64_t> value;
  list_state<std::string> list;
  map_state<int64_t, std::string> map;
  reducing_state<int64_t> sum;
  aggregating_state<double, std::pair<double, int64_t>, double> mean;

  static constexpr int64_t ttl_ms = 10'000;

  explicit all_kinds(keyed_state_store<uint64_t> s)
      : store(std::move(s)) {
    value = must(store.declare_value<int64_t>("value"));
    list = must(store.declare_list<std::string>("list", state_ttl::after_ms(ttl_ms)));
    map = must(store.declare_map<int64_t, std::string>("map", state_ttl::after_ms(ttl_ms)));
    sum = must(store.declare_reducing<int64_t>("sum", add_ints{}));
    mean = must(store.declare_aggregating<double>("mean", mean_of{}));
  }

  /// Writes `keys` keys' worth of state, at store times 0 to keys - 1.
  void fill(uint64_t keys, uint64_t seed = 1) {
    for (uint64_t i = 0; i < keys; ++i) {
      uint64_t k = i * 2654435761u + seed;
      store.set_time(static_cast<int64_t>(i));
      if (!store.set_current_key(k))
        continue;
      value.update(static_cast<int64_t>(k % 1000) - 500);
      for (uint64_t j = 0; j <= k % 3; ++j)
        list.add("e" + std::to_string(k % 97) + "." + std::to_string(j));
      if (k % 4 != 0)
        map.put(static_cast<int64_t>(k % 5), "m" + std::to_string(k % 11));
      if (k % 2 == 0)
        sum.add(static_cast<int64_t>(k % 13));
      if (k % 3 == 0)
        mean.add(static_cast<double>(k % 17) * 0.5);
    }
  }

  /// Every entry of every state, as text, by state and key.
  std::map<std::string, std::string> dump() {
    std::map<std::string, std::string> out;
    auto each = [&](const auto& state, const char* name, auto&& show) {
      for (uint32_t kg = store.range().first; kg < store.range().end; ++kg) {
        for (auto k : store.keys(state, kg)) {
          REQUIRE(store.set_current_key(k));
          REQUIRE(store.current_key_group() == kg);
          std::ostringstream s;
          show(s);
          out[std::string{name} + "/" + std::to_string(k)] = s.str();
        }
      }
    };
    each(value, "value", [&](std::ostream& s) { s << *value.value(); });
    each(list, "list", [&](std::ostream& s) {
      for (const auto& x : list.get())
        s << x << ",";
    });
    each(map, "map", [&](std::ostream& s) {
      std::map<int64_t, std::string> sorted;
      for (auto& [uk, uv] : map.entries())
        sorted[uk] = uv;
      for (auto& [uk, uv] : sorted)
        s << uk << "=" << uv << ",";
    });
    each(sum, "sum", [&](std::ostream& s) { s << *sum.get(); });
    each(mean, "mean",
         [&](std::ostream& s) { s << *mean.get() << "/" << mean.accumulator()->second; });
    return out;
  }
};

} // namespace eddy::state::test
