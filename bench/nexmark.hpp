// The bids of ../shared/BENCHMARKS.md: event i is a pure function of i (splitmix64's finalizer).
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <vector>

namespace eddy::bench {

/// A Nexmark-like bid: four 64-bit integers.
struct bid {
  uint64_t auction = 0;
  uint64_t bidder = 0;
  uint64_t price = 0;
  uint64_t date_time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bid& x) {
  return f(caf::meta::type_name("bid"), x.auction, x.bidder, x.price, x.date_time);
}

constexpr uint64_t mix(uint64_t z) noexcept {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Event i of the benchmark stream.
constexpr bid make_bid(uint64_t i) noexcept {
  auto r = mix(0x5EED5EEDULL ^ (i * 0xD1B54A32D192ED03ULL));
  auto r2 = mix(r);
  return bid{(r >> 32) % 1000, r2 % 100000, 1 + (r & 0xFFFFFFFFULL) % 10000, i};
}

/// Events 0 to n - 1, in memory (the peers' figures were taken reading such an array).
inline std::vector<bid> make_bids(uint64_t n) {
  std::vector<bid> bids(n);
  for (uint64_t i = 0; i < n; ++i)
    bids[i] = make_bid(i);
  return bids;
}

} // namespace eddy::bench
