// The learner operator: an actor per instance that trains a binary classifier on a stream of
// labelled points, test-then-train (predict, score the prediction, learn), and publishes a model
// version every N updates and once more when its input ends.
//
//   auto model = eddy::ml::logistic_regression::make(16);
//   auto versions = eddy::ml::learn(labelled, *model, eddy::ml::learner_options{}.every(1000))
//                       .name("fraud-model");
//   // versions: a stream<model_version>; give it to eddy::ml::score (score.hpp)
//
// The model, its update count and version number, and its figures are the instance's state in
// every checkpoint: after a recovery the learner goes on from the checkpoint with the same
// parameters, bit for bit, so it publishes the same versions as a run without the failure. A
// record with the wrong number of features, a NaN or an infinity, or a label other than 0 or 1
// goes to the dead-letter output with the reason and the model never sees it. `Learner` is any
// eddy/ml classifier (learner.hpp) with two classes: `predict_proba`, `learn`, `n_features`,
// `n_classes`, `model_kind` and `serialize`.
//
// Drift: with `detect_drift()` the learner watches its test-then-train errors with ADWIN (rises
// only) and each version says how many drifts it found; with `restart_after_drift()` it also
// starts again from the initial model (and empty rolling figures) at each drift: a learner of the
// newest concept, the background model a registry promotes (registry.hpp).
//
// Parallelism: each instance trains its own model on the records it receives and publishes it
// under its instance number; one instance (the default) trains one model on the whole stream.
// Keep that number across restarts from a savepoint: a changed one does not split or merge models.
// A version carries the event time of the last record it learned; the one published at the end of
// input may be behind the watermark already, which matters only to event-time operators that
// take versions.
#pragma once

#include <eddy/ml/drift/adwin.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>
#include <eddy/ml/operators/operator_state.hpp>
#include <eddy/ml/operators/records.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/stream.hpp>

#include <boost/serialization/version.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace eddy::ml {

/// How a learner operator publishes.
struct learner_options {
  /// Publish a version after every `publish_every` records learned (and at the end of input).
  uint64_t publish_every = 1000;
  /// The figures over the last `window` records, beside the cumulative ones.
  size_t window = 2000;
  /// The model's name in its versions; empty: the operator's name.
  std::string model;
  /// Watch the test-then-train errors with ADWIN (mode up: a rise of the error rate is a drift);
  /// every version says how many drifts were found (model_quality::drifts). None: no detector.
  std::optional<adwin_config> drift;
  /// On a drift, start again from the initial model (and empty rolling figures): a learner of
  /// the newest concept, the background model a registry can promote (registry.hpp).
  bool restart_on_drift = false;
  /// Keep the exact ROC AUC over every record learned (model_quality::roc_auc); it holds every
  /// distinct score, which a learner that runs for months must not. Default: off (NaN).
  bool exact_auc = false;

  learner_options& every(uint64_t n) {
    publish_every = n;
    return *this;
  }
  learner_options& rolling_window(size_t n) {
    window = n;
    return *this;
  }
  learner_options& named(std::string name) {
    model = std::move(name);
    return *this;
  }
  /// ADWIN on the errors, counting rises of the error rate only.
  learner_options& detect_drift() {
    adwin_config cfg;
    cfg.mode = adwin_mode::up;
    return detect_drift(cfg);
  }
  learner_options& detect_drift(adwin_config cfg) {
    drift = cfg;
    return *this;
  }
  learner_options& whole_run_auc() {
    exact_auc = true;
    return *this;
  }
  learner_options& restart_after_drift() {
    if (!drift)
      detect_drift();
    restart_on_drift = true;
    return *this;
  }
};

namespace detail {

/// Cumulative confusion counts at threshold 0.5 (binary_metrics keeps every distinct score for
/// its ROC AUC, which a learner that runs for months must not).
struct confusion_counts {
  uint64_t tp = 0, fp = 0, tn = 0, fn = 0;

  void update(int y, double p) noexcept {
    bool positive = p >= 0.5;
    ++(y == 1 ? (positive ? tp : fn) : (positive ? fp : tn));
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& tp& fp& tn& fn;
  }
};

/// True when `Model` has `proba_of_one(x)`: P(class 1) of a binary model without allocating.
template <class Model, class = void>
struct has_proba_of_one : std::false_type {};
template <class Model>
struct has_proba_of_one<
    Model, std::void_t<decltype(std::declval<const Model&>().proba_of_one(std::declval<vector>()))>>
    : std::true_type {};

/// True when `Model` scores a batch in one pass: `proba_of_one_rows(X)` gives P(class 1) of every
/// row of X (the MLP, through matrix products).
template <class Model, class = void>
struct has_proba_rows : std::false_type {};
template <class Model>
struct has_proba_rows<Model, std::void_t<decltype(std::declval<const Model&>().proba_of_one_rows(
                                 std::declval<matrix>()))>> : std::true_type {};

/// P(class 1 | x) of the binary classifier `m`.
template <class Model>
double positive_proba(const Model& m, const vector& x) {
  if constexpr (has_proba_of_one<Model>::value)
    return m.proba_of_one(x);
  else
    return m.predict_proba(x)[1];
}

/// The figures of `cumulative` counts and a `rolling` window (drifts: 0), by the formulas of
/// binary_metrics.
inline model_quality quality_of(const confusion_counts& c, const binary_metrics& rolling) {
  model_quality q;
  q.evaluated = c.tp + c.fp + c.tn + c.fn;
  q.accuracy = ratio(double(c.tp + c.tn), double(q.evaluated));
  q.precision = ratio(double(c.tp), double(c.tp + c.fp));
  q.recall = ratio(double(c.tp), double(c.tp + c.fn));
  q.f1 = f1_of(q.precision, q.recall);
  q.rolling_accuracy = rolling.accuracy();
  q.rolling_f1 = rolling.f1();
  q.rolling_roc_auc = rolling.roc_auc();
  return q;
}

/// Everything a learner instance keeps, and what its checkpoints hold.
template <class Learner>
struct learner_state {
  Learner model;
  confusion_counts cumulative;
  binary_metrics rolling;
  uint64_t updates = 0;
  uint64_t version = 0;
  timestamp last_time = min_time;
  /// The drift detector on the errors (used when learner_options::drift is set).
  adwin detector;
  uint64_t drifts = 0;
  /// Every prediction scored, for the whole-run ROC AUC (learner_options::exact_auc only).
  binary_metrics whole;

  /// Class version 1 added the detector and the drift count, 2 the whole-run figures.
  template <class Archive>
  void serialize(Archive& ar, unsigned class_version) {
    ar& model& cumulative& rolling& updates& version& last_time;
    if (class_version >= 1)
      ar& detector& drifts;
    if (class_version >= 2)
      ar& whole;
  }
};

/// Copies `x` into `out` (resized once), or says why `x` cannot be used: the wrong number of
/// features, or a value that is not finite. Empty when it can.
inline std::string take_features(const std::vector<double>& x, Eigen::Index n, vector& out) {
  if (static_cast<Eigen::Index>(x.size()) != n)
    return "the record has " + std::to_string(x.size()) + " features, the model takes " +
           std::to_string(n);
  for (size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]))
      return "feature " + std::to_string(i) + " is " + (std::isnan(x[i]) ? "NaN" : "infinite") +
             ": clean or impute the record before the model";
  if (out.size() != n)
    out.resize(n);
  for (Eigen::Index i = 0; i < n; ++i)
    out[i] = x[static_cast<size_t>(i)];
  return {};
}

/// Per-instance logic of the learner operator.
template <class Learner>
class learner_logic final : public eddy::internal::one_input_logic<labelled_point, model_version> {
public:
  learner_logic(task& t, const eddy::internal::instance_wiring& w, const Learner& initial,
                learner_options opt)
      : one_input_logic(t, w)
      , opt_(std::move(opt))
      , name_(opt_.model.empty() ? t.op_name() : opt_.model)
      , instance_(t.instance())
      , initial_(initial)
      , state_{initial,         {}, binary_metrics{0.5, opt_.window}, 0, 0, min_time, {}, 0,
               binary_metrics{}} {
    if (opt_.drift)
      state_.detector = *adwin::make(*opt_.drift); // checked by learn()
  }

  void on_end(task&) override {
    if (state_.updates > 0 && state_.updates % opt_.publish_every != 0)
      publish();
  }

  void snapshot(task&, checkpoint_id, instance_state& out) override { save_state(state_, out); }

  void restore(task&, checkpoint_id, instance_state&& in) override {
    load_state(in, state_, "learner '" + name_ + "'");
    // A snapshot taken without the detector, or with other settings: the one configured now,
    // empty.
    if (opt_.drift && state_.detector.config() != *opt_.drift)
      state_.detector = *adwin::make(*opt_.drift);
  }

private:
  void on_batch(task& t, batch<labelled_point>& in) override {
    auto n = state_.model.n_features();
    bool timed = !in.times.empty();
    for (size_t i = 0; i < in.items.size(); ++i) {
      const auto& p = in.items[i];
      auto why = take_features(p.x, n, x_);
      if (why.empty() && p.y != 0 && p.y != 1)
        why = "label " + std::to_string(p.y) + " is not 0 or 1";
      if (!why.empty()) {
        t.dead_letter("learner '" + name_ + "': " + why, eddy::internal::render(p));
        continue;
      }
      // Test, then train.
      double score = positive_proba(state_.model, x_);
      if (auto err = state_.model.learn(x_, p.y)) {
        t.dead_letter("learner '" + name_ + "': " + describe(err), eddy::internal::render(p));
        continue;
      }
      state_.cumulative.update(p.y, score);
      state_.rolling.update(p.y, score);
      if (opt_.exact_auc)
        state_.whole.update(p.y, score);
      ++state_.updates;
      if (opt_.drift && state_.detector.update((score >= 0.5) != (p.y == 1) ? 1.0 : 0.0))
        on_drift();
      if (timed)
        state_.last_time = in.times[i];
      if (state_.updates % opt_.publish_every == 0)
        publish();
    }
  }

  /// Counts a drift; with restart_on_drift, the model starts again from the initial one.
  void on_drift() {
    ++state_.drifts;
    if (!opt_.restart_on_drift)
      return;
    state_.model = initial_;
    state_.rolling = binary_metrics{0.5, opt_.window};
    state_.detector.reset();
  }

  void publish() {
    ++state_.version;
    auto v =
        model_version::published(name_, instance_, state_.version, state_.updates, state_.last_time,
                                 Learner::model_kind, to_binary(state_.model));
    v.quality = quality_of(state_.cumulative, state_.rolling);
    v.quality.drifts = state_.drifts;
    if (opt_.exact_auc)
      v.quality.roc_auc = state_.whole.roc_auc();
    auto time = v.time;
    out_.emit(std::move(v), time);
  }

  learner_options opt_;
  std::string name_;
  uint32_t instance_ = 0;
  /// The model a restart after a drift starts from.
  Learner initial_;
  learner_state<Learner> state_;
  /// The record's features, reused.
  vector x_;
};

} // namespace detail

/// Trains `initial` (a binary classifier, made with its shape) on `in`, test-then-train, and
/// publishes its versions: a version after every `opt.publish_every` records learned and one at
/// the end of input. Instances default to one (see the header comment on parallelism).
template <class Learner>
stream<model_version> learn(const stream<labelled_point>& in, const Learner& initial,
                            learner_options opt = {}) {
  auto& g = *in.graph();
  if (initial.n_classes() != 2)
    g.mistakes.push_back("learn: the model has " + std::to_string(initial.n_classes()) +
                         " classes; the learner operator takes binary classifiers (2 classes)");
  if (initial.n_features() <= 0)
    g.mistakes.push_back("learn: the model has no features; make it with make(n_features) first");
  if (opt.publish_every == 0)
    g.mistakes.push_back("learn: publish_every is 0; publish at least every record (1)");
  if (opt.drift)
    if (auto err = adwin::validate(*opt.drift))
      g.mistakes.push_back("learn: the drift detector's settings: " + describe(err));
  if (opt.window == 0)
    g.mistakes.push_back("learn: the rolling window is 0 records; give it at least 1 (the "
                         "cumulative figures are kept beside it)");
  return in
      .then<model_version>("learner",
                           [initial, opt](task& t, const eddy::internal::instance_wiring& w) {
                             return std::make_unique<detail::learner_logic<Learner>>(t, w, initial,
                                                                                     opt);
                           })
      .parallelism(1)
      // Batches of about 2 ms of work in: on few cores a 20 ms batch holds a core that long, and a
      // version published meanwhile waits for a core to reach its replicas.
      .debloat_target(std::chrono::milliseconds{2});
}

} // namespace eddy::ml

template <class Learner>
struct boost::serialization::version<eddy::ml::detail::learner_state<Learner>>
    : std::integral_constant<int, 2> {};
