// Test helpers for the drift detectors (adwin, ddm, page_hinkley): streams of error indicators
// with a change at a known place, the places a detector alarms, and refused settings.
//
//   eddy::ml::ddm detector;
//   auto found = detections(detector, errors(1, 10'000, 5'000, 0.1, 0.5));
//   CHECK(first_at_or_after(found, 5'000) < 5'000 + 300);
#pragma once

#include "archive_bytes.hpp"

#include <eddy/ml/errc.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

/// Bernoulli error indicators (1 = wrong): rate p_before until index `change`, then p_after.
inline std::vector<double> errors(std::uint64_t seed, std::size_t n, std::size_t change,
                                  double p_before, double p_after) {
  std::mt19937_64 rng{seed};
  std::vector<double> result;
  for (std::size_t i = 0; i < n; ++i) {
    double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    result.push_back(u < (i < change ? p_before : p_after) ? 1.0 : 0.0);
  }
  return result;
}

/// The indices in [from, to) of `xs` at which `detector.update` signals a drift.
template <class Detector>
std::vector<std::size_t> detections(Detector& detector, const std::vector<double>& xs,
                                    std::size_t from = 0, std::size_t to = SIZE_MAX) {
  std::vector<std::size_t> result;
  for (std::size_t i = from; i < std::min(to, xs.size()); ++i)
    if (detector.update(xs[i]))
      result.push_back(i);
  return result;
}

/// The first of the sorted indices `found` at or after `change`; SIZE_MAX when there is none.
inline std::size_t first_at_or_after(const std::vector<std::size_t>& found, std::size_t change) {
  auto at = std::lower_bound(found.begin(), found.end(), change);
  return at == found.end() ? SIZE_MAX : *at;
}

/// The detections over `xs` of `first` for the values before `at`, then of `restored` loaded
/// from a Boost archive of `first` for the rest.
template <class Detector>
std::vector<std::size_t> detections_across_restore(Detector first, Detector& restored,
                                                   const std::vector<double>& xs, std::size_t at) {
  auto found = detections(first, xs, 0, at);
  load_bytes(to_bytes(first), restored);
  for (auto i : detections(restored, xs, at))
    found.push_back(i);
  return found;
}

/// The sentence of the errc::invalid_argument error `Detector::make(cfg)` returns; requires that
/// it refuses `cfg`.
template <class Detector, class Config>
std::string refusal(const Config& cfg) {
  auto made = Detector::make(cfg);
  REQUIRE_FALSE(made);
  CHECK(eddy::ml::is(made.error(), eddy::ml::errc::invalid_argument));
  return eddy::describe(made.error());
}
