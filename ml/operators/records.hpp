// The records that flow through the learning operators: labelled points into a learner, model
// versions from the learner to its scorers, points into a scorer and predictions out of it,
// labels that come late and the records that waited for them, evaluations of predictions.
//
//   eddy::ml::labelled_point p{42, {0.3, 1.7, 0.0}, 1};  // record 42, its features, its label
//   eddy::ml::point q{43, {0.1, 0.9, 2.5}};              // record 43, to score
//   // a scorer emits prediction{43, 0.82, 1, 7}: P(class 1), the class, model version 7
//
// Every record has a CAF `inspect`, so any edge between these operators can cross a process
// boundary (between machines of one architecture: a model travels as a Boost binary archive). A
// model version carries its model as the bytes of a Boost binary archive (the format of checkpoints
// and model files), so one record type serves every kind of model and a scorer refuses a version of
// the wrong kind with a sentence instead of misreading it.
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/ml/io/crc32c.hpp>

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// A record with its features and its label (a class, 0 .. n_classes - 1).
struct labelled_point {
  /// The record's id (it tags the prediction made for it).
  uint64_t id = 0;
  /// The features.
  std::vector<double> x;
  /// The label.
  int32_t y = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, labelled_point& p) {
  return f(caf::meta::type_name("eddy.ml.labelled_point"), p.id, p.x, p.y);
}

/// A record to score: its id and its features.
struct point {
  /// The record's id.
  uint64_t id = 0;
  /// The features.
  std::vector<double> x;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("eddy.ml.point"), p.id, p.x);
}

/// The prequential (test-then-train) figures of a model when it was published, over every
/// record it learned from and over the last `window` of them.
struct model_quality {
  /// Records scored before they were learned.
  uint64_t evaluated = 0;
  /// Cumulative accuracy, precision, recall and F1 (class 1 positive, threshold 0.5).
  double accuracy = 0;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  /// The same over the learner's rolling window, with the window's exact ROC AUC (NaN while it
  /// held one class only).
  double rolling_accuracy = 0;
  double rolling_f1 = 0;
  double rolling_roc_auc = 0;
  /// Drifts the learner's detector found in its errors so far (0 without a detector).
  uint64_t drifts = 0;
  /// The exact ROC AUC over every record evaluated (NaN unless the learner keeps it, see
  /// learner_options::whole_run_auc, or while it saw one class only).
  double roc_auc = std::numeric_limits<double>::quiet_NaN();
  /// Root mean squared error of the predictions, cumulative and over the rolling window, for
  /// models that predict a number (ratings: recommend.hpp); NaN for classifiers, whose figures
  /// above are 0 then.
  double rmse = std::numeric_limits<double>::quiet_NaN();
  double rolling_rmse = std::numeric_limits<double>::quiet_NaN();
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_quality& q) {
  return f(caf::meta::type_name("eddy.ml.model_quality"), q.evaluated, q.accuracy, q.precision,
           q.recall, q.f1, q.rolling_accuracy, q.rolling_f1, q.rolling_roc_auc, q.drifts, q.roc_auc,
           q.rmse, q.rolling_rmse);
}

/// A model version as a learner publishes it.
struct model_version {
  /// The model's name (the learner operator's, unless configured).
  std::string model;
  /// The learner instance that trained it.
  uint32_t instance = 0;
  /// 1, 2, ... per model and instance; a scorer's declared default model is version 0.
  uint64_t version = 0;
  /// The serving order: a scorer takes a version whose serial is greater than the one it serves.
  /// A learner sets it to `version`; a registry (registry.hpp), which may serve an earlier
  /// version again or another model's, numbers what it serves 1, 2, ...
  uint64_t serial = 0;
  /// Why it is served: empty from a learner; a registry's decision ("newest", "rollback: ...").
  std::string reason;
  /// Records learned when it was published.
  uint64_t updates = 0;
  /// Event time of the last record it learned (min_time for records without one).
  timestamp time = min_time;
  /// The model's kind (its class's `model_kind`), checked by the scorer before decoding.
  std::string kind;
  /// The model: the bytes of a Boost binary archive of it (eddy/ml/io/serialization.hpp).
  std::string params;
  /// The CRC-32C of `params` (a damaged version is refused, not served).
  uint32_t crc = 0;
  /// Its figures at publication.
  model_quality quality;

  /// Sets `params` to `bytes` and `crc` to their checksum.
  void seal(std::string bytes) {
    params = std::move(bytes);
    crc = crc32c(params.data(), params.size());
  }

  /// True when `params` still has the checksum they were sealed with.
  [[nodiscard]] bool intact() const noexcept { return crc == crc32c(params.data(), params.size()); }

  /// A learner's version `number` (its serial too) of model `name`, trained by learner `instance`
  /// on `updates` records up to event time `time`: a model of `kind` as `bytes`, sealed. The
  /// figures are the learner's to fill in.
  [[nodiscard]] static model_version published(std::string name, uint32_t instance, uint64_t number,
                                               uint64_t updates, timestamp time, const char* kind,
                                               std::string bytes) {
    model_version v;
    v.model = std::move(name);
    v.instance = instance;
    v.version = number;
    v.serial = number;
    v.updates = updates;
    v.time = time;
    v.kind = kind;
    v.seal(std::move(bytes));
    return v;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_version& v) {
  return f(caf::meta::type_name("eddy.ml.model_version"), v.model, v.instance, v.version, v.serial,
           v.reason, v.updates, v.time, v.kind, v.params, v.crc, v.quality);
}

/// prediction::staleness when a time is unknown.
inline constexpr int64_t unknown_staleness = std::numeric_limits<int64_t>::min();

/// What a scorer says about one record.
struct prediction {
  /// The record's id.
  uint64_t id = 0;
  /// P(class 1) (binary models) or the probability of the predicted class.
  double score = 0;
  /// The predicted class.
  int32_t label = 0;
  /// The version of the model that made it (0: the scorer's default model).
  uint64_t version = 0;
  /// The serving serial of that version (model_version::serial): tells apart the models of
  /// several learners that a registry serves.
  uint64_t serial = 0;
  /// How stale that version was: the event time of the scored record minus that of the last
  /// record the version learned (model_version::time), in ms (negative: the version had learned
  /// records later than this one); `unknown_staleness` when either time is unknown.
  int64_t staleness = unknown_staleness;
  /// The scoring replica that made it.
  uint32_t replica = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prediction& p) {
  return f(caf::meta::type_name("eddy.ml.prediction"), p.id, p.score, p.label, p.version, p.serial,
           p.staleness, p.replica);
}

/// A record's label, as it comes (late) from wherever labels come from.
struct label {
  /// The record's id.
  uint64_t id = 0;
  /// Its class.
  int32_t y = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, label& x) {
  return f(caf::meta::type_name("eddy.ml.label"), x.id, x.y);
}

/// A record that waited for its label (await_labels.hpp): with it, or (`labelled == false`)
/// without, its wait over.
template <class T>
struct with_label {
  T item;
  int32_t y = 0;
  bool labelled = false;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, with_label<T>& x) {
  return f(caf::meta::type_name("eddy.ml.with_label"), x.item, x.y, x.labelled);
}

/// What an evaluation of served predictions says (evaluate.hpp).
struct evaluation {
  /// Figures over the predictions whose label came (`quality.evaluated` of them); `drifts` is 0.
  model_quality quality;
  /// Predictions whose label never came.
  uint64_t expired = 0;
  /// ROC AUC over every labelled prediction so far (NaN unless asked for, or over one class).
  double roc_auc = 0;
  /// The newest model version among the labelled predictions.
  uint64_t newest_version = 0;
  /// Staleness (prediction::staleness, ms) of the labelled predictions that know it: mean and
  /// largest (0 when none does).
  double mean_staleness = 0;
  int64_t max_staleness = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, evaluation& e) {
  return f(caf::meta::type_name("eddy.ml.evaluation"), e.quality, e.expired, e.roc_auc,
           e.newest_version, e.mean_staleness, e.max_staleness);
}

} // namespace eddy::ml
