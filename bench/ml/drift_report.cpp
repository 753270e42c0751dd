// Drift report: how fast ADWIN, Page-Hinkley and DDM notice the known drifts of the SEA and
// rotating-hyperplane streams, how often they alarm elsewhere, and how fast the adaptive random
// forest regains its accuracy after a drift compared with a single Hoeffding tree.
//
//   eddy_bench_ml_drift_report [--seeds 10]   (takes ~1 min for 10 seeds)
//
// Detectors watch the 0/1 errors of a Hoeffding tree learning prequentially (test, then train);
// the tree and the detector are reset on each alarm, the usual way a detector drives a learner. The
// first alarm in [d, d + 5000) after drift point d counts as its detection (delay = alarm - d);
// every other alarm is a false alarm.
//
// With 10 seeds (the default) and the reference build (Release without -march=native) the
// detections and false alarms are checked against the table in bench/ml/README.md, and the run
// fails when they differ; otherwise the run says "reference not checked" and why.
#include "ml_bench.hpp"

#include <eddy/ml/datasets/synthetic_streams.hpp>
#include <eddy/ml/drift/adwin.hpp>
#include <eddy/ml/drift/ddm.hpp>
#include <eddy/ml/drift/page_hinkley.hpp>
#include <eddy/ml/ensemble/adaptive_random_forest.hpp>
#include <eddy/ml/tree/hoeffding_tree.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

namespace {

using namespace eddy::ml;

constexpr std::size_t n_records = 100'000;
constexpr std::size_t tolerance = 5'000;

/// The number of seeds of the reference table in bench/ml/README.md.
constexpr std::int64_t reference_seeds = 10;

/// Detections and false alarms of that table: SEA then hyperplane; ADWIN, Page-Hinkley, DDM.
constexpr std::size_t reference_detected[6] = {28, 26, 22, 26, 23, 28};
constexpr std::size_t reference_false_alarms[6] = {11, 73, 63, 192, 189, 209};

struct stream_data {
  std::string name;
  std::vector<labelled_record> records;
  std::vector<std::size_t> drifts;
  std::size_t n_features;
};

stream_data make_sea(std::uint64_t seed) {
  sea_config cfg;
  cfg.seed = seed;
  sea_generator g{cfg};
  stream_data s{"SEA", {}, g.drift_points(), 3};
  for (std::size_t i = 0; i < n_records; ++i)
    s.records.push_back(g.next());
  return s;
}

stream_data make_hyperplane(std::uint64_t seed) {
  hyperplane_config cfg;
  cfg.seed = seed;
  hyperplane_generator g{cfg};
  stream_data s{"hyperplane", {}, g.drift_points(), cfg.n_features};
  for (std::size_t i = 0; i < n_records; ++i)
    s.records.push_back(g.next());
  return s;
}

/// Alarm positions of `detector` on the errors of a Hoeffding tree reset at each alarm.
template <class Detector>
std::vector<std::size_t> alarms(const stream_data& s, Detector detector) {
  auto tree = *hoeffding_tree::make(s.n_features, 2);
  std::vector<std::size_t> result;
  for (std::size_t i = 0; i < s.records.size(); ++i) {
    const auto& r = s.records[i];
    const bool wrong = tree.predict(r.x) != r.y;
    (void)tree.learn(r.x, r.y);
    if (detector.update(wrong ? 1.0 : 0.0)) {
      result.push_back(i);
      tree.reset();     // a fresh learner, and a fresh detector to watch it (as MOA's
      detector.reset(); // DriftDetectionMethodClassifier does)
    }
  }
  return result;
}

struct detector_score {
  std::size_t detected = 0, drifts = 0, false_alarms = 0;
  std::vector<double> delays;
};

void score(const stream_data& s, const std::vector<std::size_t>& found, detector_score& out) {
  std::vector<bool> used(found.size(), false);
  for (auto d : s.drifts) {
    ++out.drifts;
    for (std::size_t i = 0; i < found.size(); ++i)
      if (found[i] >= d && found[i] < d + tolerance) {
        used[i] = true;
        ++out.detected;
        out.delays.push_back(static_cast<double>(found[i] - d));
        break;
      }
  }
  for (bool u : used)
    out.false_alarms += !u;
}

void print_detector_row(const std::string& stream, const char* name, detector_score& s,
                        std::size_t seeds) {
  std::sort(s.delays.begin(), s.delays.end());
  double mean = 0;
  for (double d : s.delays)
    mean += d / static_cast<double>(s.delays.size());
  auto at = [&](double q) {
    return s.delays.empty() ? 0.0 : s.delays[static_cast<std::size_t>(q * (s.delays.size() - 1))];
  };
  std::printf("| %-10s | %-12s | %3zu / %-3zu | %7.0f | %7.0f | %7.0f | %5zu | %6.2f |\n",
              stream.c_str(), name, s.detected, s.drifts, mean, at(0.5), at(1.0), s.false_alarms,
              static_cast<double>(s.false_alarms) / static_cast<double>(seeds));
}

/// Prequential correctness (1 = right) of `model` on every record of `s`.
template <class Model>
std::vector<char> correctness(const stream_data& s, Model model) {
  std::vector<char> right;
  right.reserve(s.records.size());
  for (const auto& r : s.records) {
    right.push_back(model.predict(r.x) == r.y);
    (void)model.learn(r.x, r.y);
  }
  return right;
}

/// Accuracy over [from, to) of `right`.
double window_accuracy(const std::vector<char>& right, std::size_t from, std::size_t to) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i)
    sum += right[i];
  return sum / static_cast<double>(to - from);
}

void recovery_table(const char* name, stream_data (*make)(std::uint64_t), std::size_t seeds) {
  constexpr std::size_t window = 500;
  std::vector<long> offsets;
  for (long o = -1000; o < 10'000; o += static_cast<long>(window))
    offsets.push_back(o);
  std::vector<double> ht(offsets.size()), arf(offsets.size());
  double n = 0;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    auto s = make(seed);
    auto ht_right = correctness(s, *hoeffding_tree::make(s.n_features, 2));
    adaptive_random_forest_config cfg;
    cfg.seed = seed;
    auto arf_right = correctness(s, *adaptive_random_forest::make(s.n_features, 2, cfg));
    for (auto d : s.drifts) {
      n += 1;
      for (std::size_t k = 0; k < offsets.size(); ++k) {
        const auto from = static_cast<std::size_t>(static_cast<long>(d) + offsets[k]);
        ht[k] += window_accuracy(ht_right, from, from + window);
        arf[k] += window_accuracy(arf_right, from, from + window);
      }
    }
  }
  std::printf("\n%s: prequential accuracy in windows of %zu records around the drifts "
              "(mean over %zu seeds x 3 drifts)\n\n",
              name, window, seeds);
  std::printf("| records after drift | Hoeffding tree | adaptive random forest |\n");
  std::printf("|---|---|---|\n");
  for (std::size_t k = 0; k < offsets.size(); ++k)
    std::printf("| %+6ld .. %+6ld | %.3f | %.3f |\n", offsets[k],
                offsets[k] + static_cast<long>(window), ht[k] / n, arf[k] / n);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Drift report: detector delays and false alarms, forest vs. tree recovery"};
  std::int64_t seeds_option = reference_seeds;
  app.add_option("--seeds", seeds_option, "seeds per stream (100,000 records each)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const auto seeds = static_cast<std::size_t>(seeds_option);
  std::printf("Detector delays (records after the drift) and false alarms, %zu seeds x 100'000 "
              "records, drifts at 25'000, 50'000, 75'000\n\n",
              seeds);
  std::printf("| stream     | detector     | detected  | mean    | median  | max     | false | "
              "per run |\n|---|---|---|---|---|---|---|---|\n");
  std::vector<std::size_t> detected, false_alarms;
  for (auto make : {&make_sea, &make_hyperplane}) {
    detector_score a, p, d;
    std::string name;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
      auto s = make(seed);
      name = s.name;
      adwin_config up;
      up.mode = adwin_mode::up; // alarms on rising error only, like the other two
      score(s, alarms(s, *adwin::make(up)), a);
      score(s, alarms(s, page_hinkley{}), p);
      score(s, alarms(s, ddm{}), d);
    }
    print_detector_row(name, "ADWIN", a, seeds);
    print_detector_row(name, "Page-Hinkley", p, seeds);
    print_detector_row(name, "DDM", d, seeds);
    for (const auto* row : {&a, &p, &d}) {
      detected.push_back(row->detected);
      false_alarms.push_back(row->false_alarms);
    }
  }
  bool failed = false;
  std::printf("\n");
  if (eddy::bench_ml::reference_checkable("detections and false alarms", seeds_option,
                                          reference_seeds, "seeds")) {
    const bool same =
        std::equal(detected.begin(), detected.end(), std::begin(reference_detected)) &&
        std::equal(false_alarms.begin(), false_alarms.end(), std::begin(reference_false_alarms));
    std::printf("detections and false alarms: %s\n",
                same ? "match the reference (bench/ml/README.md)"
                     : "DIFFER from the reference (bench/ml/README.md)");
    failed = !same;
  }
  recovery_table("SEA", &make_sea, seeds);
  recovery_table("Rotating hyperplane", &make_hyperplane, seeds);
  return failed ? 1 : 0;
}
