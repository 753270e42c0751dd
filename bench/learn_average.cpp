// Learner replicas with parameter averaging: labelled events (16 features, 10 % of labels
// flipped) into one learner (logistic regression, test-then-train), or rebalanced over two
// learners whose versions an averager merges round by round (ml/operators/average.hpp); against
// the same learning as one plain loop in the same run. Prints events/s of each and the F1 of the
// final model on 200,000 held-out events: the F1 cost of averaging is the difference between the
// merged model's and the single learner's.
//
// Checks, failing the run when they do not hold: the single learner's final model equals the
// loop's bit for bit, and the merged model's last round learned every event.
//
//   eddy_bench_learn_average [--events 2000000] [--every 10000] [--threads 2] [--repeat 3]
#include "cli.hpp"
#include "learning_events.hpp"

#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>
#include <eddy/ml/operators/average.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/sources/generator.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

using namespace eddy;

namespace {

constexpr double noise = 0.1;
constexpr uint64_t held_out = 200'000;

ml::labelled_point noisy_at(uint64_t i) {
  return bench::labelled_at(i, noise);
}

/// F1 of class 1 of `m` on the held-out events (indices from 10^12 on).
double held_out_f1(const ml::logistic_regression& m) {
  uint64_t tp = 0, fp = 0, fn = 0;
  ml::vector x(bench::n_features);
  for (uint64_t k = 0; k < held_out; ++k) {
    auto p = noisy_at(1'000'000'000'000ULL + k);
    for (int j = 0; j < bench::n_features; ++j)
      x[j] = p.x[size_t(j)];
    bool positive = m.proba_of_one(x) >= 0.5;
    tp += positive && p.y == 1;
    fp += positive && p.y == 0;
    fn += !positive && p.y == 1;
  }
  return tp == 0 ? 0.0 : 2.0 * double(tp) / double(2 * tp + fp + fn);
}

/// The last version of `learners` learners (averaged when 2), and the run's seconds.
struct outcome {
  double seconds = 0;
  ml::model_version last;
};

std::optional<outcome> run(uint64_t events, uint64_t every, size_t threads, uint32_t learners,
                           const ml::logistic_regression& initial) {
  job j{job_config{}.with_threads(threads)};
  auto labelled = j.source(generator<ml::labelled_point>(events, noisy_at)).name("labelled");
  auto versions = ml::learn(learners > 1 ? labelled.rebalance() : labelled, initial,
                            ml::learner_options{}.every(every))
                      .name("learner")
                      .parallelism(learners);
  auto last = std::make_shared<ml::model_version>();
  auto served =
      learners > 1
          ? ml::average<ml::logistic_regression>(versions, ml::average_options{}.of(learners))
          : versions;
  served.sink([last](const ml::model_version& v) { *last = v; }).name("last");
  auto result = bench::timed_run(j);
  if (!result)
    return std::nullopt;
  return outcome{result->second, *last};
}

} // namespace

int main(int argc, char** argv) {
  bench::learning_options o;
  CLI::App app{"one learner, or two learners averaged, against a plain loop"};
  o.add_to(app);
  CLI11_PARSE(app, argc, argv);
  const uint64_t events = o.events, every = o.every, repeat = o.repeat;
  const size_t threads = o.threads;
  auto initial = ml::logistic_regression::make(bench::n_features);
  if (!initial) {
    std::fprintf(stderr, "%s\n", describe(initial.error()).c_str());
    return 1;
  }
  std::printf("%llu events (10 %% noisy labels), 16 features, logistic regression, a version every "
              "%llu updates, %zu threads\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(every),
              threads);
  double best[3] = {1e300, 1e300, 1e300}; // loop, 1 learner, 2 learners averaged
  ml::logistic_regression models[3];
  bool ok = true;
  for (uint64_t r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto loop = *initial;
    ml::vector x(bench::n_features);
    ml::binary_metrics rolling{0.5, 2'000}; // the learner's rolling figures
    for (uint64_t i = 0; i < events; ++i) {
      auto p = noisy_at(i);
      for (int j = 0; j < bench::n_features; ++j)
        x[j] = p.x[size_t(j)];
      double score = loop.proba_of_one(x); // test, then train, as the learner
      if (loop.learn(x, p.y))
        ok = false;
      rolling.update(p.y, score);
    }
    if (rolling.count() == 0)
      std::printf(" ");
    best[0] = std::min(best[0], bench::seconds_since(t0));
    models[0] = loop;
    for (uint32_t learners : {1u, 2u}) {
      auto o = run(events, every, threads, learners, *initial);
      if (!o)
        return 1;
      best[learners] = std::min(best[learners], o->seconds);
      if (ml::from_binary(o->last.params, models[learners]))
        ok = false;
      bool checked = learners == 1 ? models[1].same_state(loop) : o->last.updates == events;
      if (!checked)
        std::printf("  run %llu: %u learner(s): %s\n", static_cast<unsigned long long>(r + 1),
                    learners,
                    learners == 1 ? "the final model DIFFERS FROM the loop's"
                                  : "the last round did NOT learn every event");
      ok = ok && checked;
    }
  }
  const char* names[3] = {"plain loop", "eddy, 1 learner", "eddy, 2 learners averaged"};
  double f1[3];
  for (int k = 0; k < 3; ++k) {
    f1[k] = held_out_f1(models[k]);
    std::printf("%-26s %6.2f M events/s (ratio to the loop %.2f), held-out F1 %.4f\n", names[k],
                double(events) / best[k] / 1e6, best[0] / best[k], f1[k]);
  }
  std::printf("F1 cost of averaging two learners: %+.4f\n", f1[2] - f1[1]);
  if (!ok) {
    std::printf("MISMATCH: a check failed (see above)\n");
    return 1;
  }
  return 0;
}
