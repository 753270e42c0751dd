// Online learning through actors: labelled events into a learner (logistic regression, 16
// features, test-then-train) that publishes a version every --every updates, broadcast to two
// scoring replicas that score the same events unlabelled, into a counting sink; against the same
// work as one plain loop in the same run (make the event, predict, learn, update the rolling
// figures of the last 2000 events; at each version encode the model, checksum it and decode it as
// the scorer's; make the point, score it, or keep it until the first version as a scorer does).
// The loop leaves out what only a job does: batches, credit, the copy of each version per replica.
// Prints events/s of both and the ratio. Target on 2 cores: 5 million events/s.
//
// Version propagation, measured in the same runs at full load, p50 and p99 over the versions of
// all runs: from the learner serializing a version (publishing it) to the later of the two
// replicas decoding it (swapping to it: it scores the next batch with it), clocked inside the
// actors by the model's own serialize (timed_model, the same bytes as logistic_regression).
// Target: p99 under 5 ms.
//
// Checks, failing the run when they do not hold: every event scored once (count and sum of ids),
// as many versions as the loop published, and the last version's parameters equal the loop's
// final model bit for bit.
//
//   eddy_bench_learn_score [--events 2000000] [--every 10000] [--threads 2] [--repeat 3]
//                          [--debloat-ms 20]
#include "cli.hpp"
#include "learning_events.hpp"

#include <eddy/ml/io/crc32c.hpp>
#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/ml/operators/score.hpp>
#include <eddy/sources/generator.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace eddy;

namespace {

using bench::features_at;
using bench::n_features;

/// Event i with its label (no noise).
ml::labelled_point labelled_at(uint64_t i) {
  return bench::labelled_at(i);
}

/// When each model state was first written (the learner publishing it: serialized into its
/// version) and each time it was read back (a replica decoding the version it swaps to), by the
/// model's update count, in ns of the steady clock. Filled by timed_model from inside the actors.
struct swap_clock {
  std::mutex mtx;
  std::map<double, int64_t> written;
  std::map<double, std::vector<int64_t>> read;

  static swap_clock& instance() {
    static swap_clock c;
    return c;
  }
  void reset() {
    std::lock_guard<std::mutex> guard{mtx};
    written.clear();
    read.clear();
  }

  /// Per version both replicas decoded: from publication to the second replica's swap, in ms.
  std::vector<double> latencies_ms() {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<double> out;
    for (const auto& [updates, at] : written) {
      auto r = read.find(updates);
      if (r != read.end() && r->second.size() >= 2)
        out.push_back(double(std::max(r->second[0], r->second[1]) - at) / 1e6);
    }
    return out;
  }
};

/// The benchmark's model: logistic regression that stamps the swap_clock whenever its state is
/// written or read (the same bytes, the same model kind: the replicas and the checks see a
/// logistic regression).
struct timed_model : ml::logistic_regression {
  timed_model() = default;
  explicit timed_model(const ml::logistic_regression& m)
      : ml::logistic_regression(m) {}

  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    ml::logistic_regression::serialize(ar, version);
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    auto& c = swap_clock::instance();
    std::lock_guard<std::mutex> guard{c.mtx};
    if constexpr (Archive::is_saving::value)
      c.written.emplace(n_updates(), now); // the first write: the learner publishing
    else
      c.read[n_updates()].push_back(now);
  }
};

/// What the sink counts.
struct tally {
  uint64_t count = 0;
  uint64_t id_sum = 0;
  void merge(const tally& o) {
    count += o.count;
    id_sum += o.id_sum;
  }
};

/// The plain loop's result.
struct loop_result {
  double seconds = 0;
  uint64_t versions = 0;
  tally scored;
  ml::logistic_regression model;
};

loop_result plain_loop(uint64_t events, uint64_t every, const ml::logistic_regression& initial) {
  loop_result r;
  auto t0 = std::chrono::steady_clock::now();
  auto model = initial;
  ml::logistic_regression served;
  bool has_served = false;
  ml::vector x(n_features);
  std::vector<ml::point> pending;
  ml::binary_metrics rolling{0.5, 2000};
  uint64_t updates = 0;
  double checksum = 0;
  for (uint64_t i = 0; i < events; ++i) {
    auto p = labelled_at(i);
    for (int j = 0; j < n_features; ++j)
      x[j] = p.x[size_t(j)];
    // Test, then train, with the learner's bookkeeping: the rolling figures and the count.
    double score = model.proba_of_one(x);
    checksum += score;
    if (!model.learn(x, p.y)) {
      rolling.update(p.y, score);
      ++updates;
      // A version: the model encoded with its checksum, decoded as the scorer's.
      if (updates % every == 0 || i + 1 == events) {
        ++r.versions;
        auto bytes = ml::to_binary(model);
        checksum += ml::crc32c(bytes.data(), bytes.size()) + rolling.f1() + rolling.roc_auc();
        has_served = !ml::from_binary(bytes, served);
      }
    }
    // The point, scored with the version served; before the first version it waits, as in a
    // scorer without a default model.
    pending.push_back(ml::point{i, features_at(i)});
    if (!has_served)
      continue;
    for (const auto& q : pending) {
      for (int j = 0; j < n_features; ++j)
        x[j] = q.x[size_t(j)];
      checksum += served.proba_of_one(x);
      ++r.scored.count;
      r.scored.id_sum += q.id;
    }
    pending.clear();
  }
  r.seconds = bench::seconds_since(t0);
  r.model = std::move(model);
  if (checksum == 0.5) // keeps the scores computed
    std::printf(" ");
  return r;
}

} // namespace

int main(int argc, char** argv) {
  bench::learning_options o;
  uint64_t debloat_ms = 20;
  CLI::App app{"learner -> broadcast versions -> 2 scoring replicas, against a plain loop"};
  o.add_to(app);
  app.add_option("--debloat-ms", debloat_ms,
                 "the channels' debloat target: work in flight per channel, in ms (0: off)")
      ->capture_default_str()
      ->check(bench::whole_number(0, 10'000));
  CLI11_PARSE(app, argc, argv);
  const uint64_t events = o.events, every = o.every, repeat = o.repeat;
  const size_t threads = o.threads;

  auto initial = ml::logistic_regression::make(n_features);
  if (!initial) {
    std::fprintf(stderr, "%s\n", describe(initial.error()).c_str());
    return 1;
  }
  std::printf("%llu events, 16 features, logistic regression, a version every %llu updates, "
              "2 scoring replicas, %zu threads\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(every),
              threads);
  double best_loop = 1e300, best_eddy = 1e300;
  std::vector<double> swaps;
  bool ok = true;
  for (uint64_t run = 0; run < repeat; ++run) {
    auto loop = plain_loop(events, every, *initial);
    best_loop = std::min(best_loop, loop.seconds);

    job j{job_config{}.with_threads(threads).with_debloat_target(
        std::chrono::milliseconds{static_cast<int64_t>(debloat_ms)})};
    auto labelled = j.source(generator<ml::labelled_point>(events, labelled_at)).name("labelled");
    swap_clock::instance().reset();
    auto versions = ml::learn(labelled, timed_model{*initial}, ml::learner_options{}.every(every))
                        .name("learner");
    auto kept = std::make_shared<std::vector<ml::model_version>>();
    versions.sink([kept](const ml::model_version& v) { kept->push_back(v); }).name("versions");
    auto points = j.source(generator<ml::point>(events, [](uint64_t i) {
                     return ml::point{i, features_at(i)};
                   })).name("points");
    auto scored = std::make_shared<tally>();
    ml::score<timed_model>(points.rebalance(), versions,
                           ml::scorer_options<timed_model>{}.buffer_up_to(size_t(events)))
        .name("scorer")
        .parallelism(2)
        .sink([scored](const ml::prediction& p) {
          ++scored->count;
          scored->id_sum += p.id;
        })
        .name("count");
    auto result = bench::timed_run(j);
    if (!result)
      return 1;
    best_eddy = std::min(best_eddy, result->second);
    uint64_t all_ids = events * (events - 1) / 2;
    bool same_model = !kept->empty() && [&] {
      ml::logistic_regression last;
      return !ml::from_binary(kept->back().params, last) && last.same_state(loop.model);
    }();
    bool run_ok = scored->count == events && scored->id_sum == all_ids &&
                  loop.scored.count == events && loop.scored.id_sum == all_ids &&
                  kept->size() == loop.versions && same_model;
    std::printf("  run %llu: loop %.3f s, eddy %.3f s; %llu scored, %zu versions (loop %llu), "
                "last version %s the loop's model\n",
                static_cast<unsigned long long>(run + 1), loop.seconds, result->second,
                static_cast<unsigned long long>(scored->count), kept->size(),
                static_cast<unsigned long long>(loop.versions),
                same_model ? "equals" : "DIFFERS FROM");
    ok = ok && run_ok;
    auto w = swap_clock::instance().latencies_ms();
    swaps.insert(swaps.end(), w.begin(), w.end());
  }
  std::printf("plain loop: %8.2f M events/s\n", events / best_loop / 1e6);
  std::printf("eddy:       %8.2f M events/s   ratio to the loop %.2f\n", events / best_eddy / 1e6,
              best_loop / best_eddy);
  auto report = [](const char* what, std::vector<double>& ms) {
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms.empty() ? 0.0 : ms[size_t(q * double(ms.size() - 1))]; };
    std::printf("%s, %zu versions: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", what, ms.size(),
                at(0.5), at(0.99), ms.empty() ? 0.0 : ms.back());
  };
  report("version propagation (the learner publishing it to both replicas swapping to it, "
         "clocked in the actors)",
         swaps);
  if (!ok) {
    std::printf("MISMATCH: a check failed (see the runs above)\n");
    return 1;
  }
  return 0;
}
