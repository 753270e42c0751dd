// The evaluator operator: prequential figures of served predictions, from the labels that came
// for them (await_labels.hpp), with a count of those whose label never came.
//
//   auto judged = eddy::ml::await_labels(predictions, labels,
//   eddy::ml::label_wait{}.within(60'000)); auto figures = eddy::ml::evaluate(judged,
//   eddy::ml::evaluation_options{}.every(1'000)); figures.sink([](const eddy::ml::evaluation& e) {
//     std::cout << "F1 " << e.quality.f1 << " expired " << e.expired << '\n';
//   });
//
// Every `every` labelled predictions, and once more when the input ends, it emits an evaluation:
// cumulative precision, recall, F1 and accuracy (class 1 positive, threshold 0.5), the same over
// the last `window` labelled predictions with that window's exact ROC AUC, the expired count and
// the newest model version judged, and how stale the models were (prediction::staleness, mean
// and largest). The ROC AUC over the whole run is exact and kept only when
// asked for (`whole_run_auc()`): it holds every distinct score, which a job that runs for months
// must not. These are the figures of what was served, each prediction judged against its own
// label: a learner's own figures (model_version::quality) judge its model before each update
// instead. One instance; its counts are its checkpoint state.
#pragma once

#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/ml/operators/operator_state.hpp>
#include <eddy/ml/operators/records.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/stream.hpp>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace eddy::ml {

/// How an evaluator reports.
struct evaluation_options {
  /// An evaluation every `report_every` labelled predictions (and at the end of input).
  uint64_t report_every = 1'000;
  /// The rolling figures' window, in labelled predictions.
  size_t window = 2'000;
  /// Keep the exact ROC AUC over the whole run (memory grows with the distinct scores).
  bool exact_auc = false;

  evaluation_options& every(uint64_t n) {
    report_every = n;
    return *this;
  }
  evaluation_options& rolling_window(size_t n) {
    window = n;
    return *this;
  }
  evaluation_options& whole_run_auc() {
    exact_auc = true;
    return *this;
  }
};

namespace detail {

/// What an evaluator keeps, and what its checkpoints hold.
struct evaluator_state {
  confusion_counts cumulative;
  binary_metrics rolling;
  /// Every labelled prediction, for the whole-run ROC AUC (used with exact_auc only).
  binary_metrics whole;
  uint64_t expired = 0;
  uint64_t newest_version = 0;
  /// Labelled predictions since the last evaluation.
  uint64_t since = 0;
  timestamp time = min_time;
  /// Staleness of the labelled predictions that know it: how many, their sum, the largest.
  uint64_t timed = 0;
  double staleness_sum = 0;
  int64_t max_staleness = 0;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cumulative& rolling& whole& expired& newest_version& since& time;
    ar& timed& staleness_sum& max_staleness;
  }
};

/// Per-instance logic of the evaluator operator.
class evaluator_logic final
    : public eddy::internal::one_input_logic<with_label<prediction>, evaluation> {
public:
  evaluator_logic(task& t, const eddy::internal::instance_wiring& w, evaluation_options opt)
      : one_input_logic(t, w)
      , opt_(opt)
      , origin_("evaluator " + t.origin()) {
    state_.rolling = binary_metrics{0.5, opt_.window};
  }

  void on_end(task&) override { report(); }

  void snapshot(task&, checkpoint_id, instance_state& out) override { save_state(state_, out); }

  void restore(task&, checkpoint_id, instance_state&& in) override {
    load_state(in, state_, origin_);
  }

private:
  void on_batch(task& t, batch<with_label<prediction>>& in) override {
    bool timed = !in.times.empty();
    for (size_t i = 0; i < in.items.size(); ++i) {
      const auto& x = in.items[i];
      if (timed)
        state_.time = std::max(state_.time, in.times[i]);
      if (!x.labelled) {
        ++state_.expired;
        continue;
      }
      if ((x.y != 0 && x.y != 1) || !std::isfinite(x.item.score)) {
        t.dead_letter(origin_ + ": the label " + std::to_string(x.y) + " or the score " +
                          std::to_string(x.item.score) + " of record " + std::to_string(x.item.id) +
                          " cannot be judged (labels 0 or 1, finite scores)",
                      "<prediction " + std::to_string(x.item.id) + ">");
        continue;
      }
      state_.cumulative.update(x.y, x.item.score);
      state_.rolling.update(x.y, x.item.score);
      if (opt_.exact_auc)
        state_.whole.update(x.y, x.item.score);
      state_.newest_version = std::max(state_.newest_version, x.item.version);
      if (x.item.staleness != unknown_staleness) {
        state_.max_staleness =
            state_.timed == 0 ? x.item.staleness : std::max(state_.max_staleness, x.item.staleness);
        state_.staleness_sum += double(x.item.staleness);
        ++state_.timed;
      }
      if (++state_.since >= opt_.report_every)
        report();
    }
  }

  void report() {
    state_.since = 0;
    evaluation e;
    e.quality = quality_of(state_.cumulative, state_.rolling);
    e.expired = state_.expired;
    e.roc_auc = opt_.exact_auc ? state_.whole.roc_auc() : std::nan("");
    e.newest_version = state_.newest_version;
    e.mean_staleness = state_.timed > 0 ? state_.staleness_sum / double(state_.timed) : 0.0;
    e.max_staleness = state_.max_staleness;
    out_.emit(std::move(e), state_.time);
  }

  evaluation_options opt_;
  std::string origin_;
  evaluator_state state_;
};

} // namespace detail

/// Evaluations of the predictions in `judged` against their labels (see the header comment).
inline stream<evaluation> evaluate(const stream<with_label<prediction>>& judged,
                                   evaluation_options opt = {}) {
  auto& g = *judged.graph();
  if (opt.report_every == 0)
    g.mistakes.push_back("evaluate: report_every is 0; report at least every labelled "
                         "prediction (1)");
  if (opt.window == 0)
    g.mistakes.push_back("evaluate: the rolling window is 0 predictions; give it at least 1");
  return judged
      .then<evaluation>("evaluator",
                        [opt](task& t, const eddy::internal::instance_wiring& w) {
                          return std::make_unique<detail::evaluator_logic>(t, w, opt);
                        })
      .parallelism(1);
}

} // namespace eddy::ml
