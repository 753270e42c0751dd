// The averaging operator: learner replicas train on parts of a stream, and this operator merges
// their versions into one model by averaging the parameters (parameter mixing), version by
// version, for the scorers to serve.
//
//   auto versions = eddy::ml::learn(labelled.rebalance(), *model,
//                                   eddy::ml::learner_options{}.every(1'000))
//                       .name("lr")
//                       .parallelism(2);                       // two replicas, half the stream
//                       each
//   auto merged = eddy::ml::average<eddy::ml::logistic_regression>(
//       versions, eddy::ml::average_options{}.of(2));
//   eddy::ml::score<eddy::ml::logistic_regression>(points, merged);
//
// Version r of the merged model averages version r of every replica (each publishes every N of
// the updates it makes), so it is the same whatever order the replicas' versions arrive in; when
// the input ends, the replicas' last versions are averaged once more. Its figures are the
// replicas' weighted by the records each evaluated (the rolling ones: their mean; drifts: their
// sum). The replicas do not take the average back (the dataflow has no cycles): each learns from
// its part of the stream only, and the average is what is served.
//
// `Model` needs `static caf::expected<Model> average(const std::vector<const Model*>&)`: the
// logistic regression has it (linear_model/logistic_regression.hpp). Trees, naive Bayes and the
// ensembles do not merge by averaging. One instance; the versions waiting for their round are its
// checkpoint state.
#pragma once

#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/operators/operator_state.hpp>
#include <eddy/ml/operators/records.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/stream.hpp>

#include <boost/serialization/version.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// What an averaging operator merges.
struct average_options {
  /// The learner replicas (instances 0 .. replicas - 1). Default: 2.
  uint32_t replicas = 2;
  /// The learner's model name (empty: any).
  std::string model;
  /// The merged model's name (empty: the replicas' model name).
  std::string named;

  average_options& of(uint32_t n) {
    replicas = n;
    return *this;
  }
  average_options& serve(std::string name) {
    model = std::move(name);
    return *this;
  }
  average_options& merged_as(std::string name) {
    named = std::move(name);
    return *this;
  }
};

namespace detail {

/// What an averaging operator's checkpoints hold: per replica the versions waiting for their
/// round, and the rounds done.
struct average_state {
  static constexpr uint64_t max_waiting = uint64_t{1} << 20;
  std::vector<std::deque<model_version>> waiting;
  uint64_t rounds = 0;
  /// Per replica: its newest version (for the final round).
  std::vector<model_version> newest;
  std::vector<bool> has_newest;

  /// Class version 1 added the versions' RMSE figures.
  template <class Archive>
  void serialize(Archive& ar, unsigned class_version) {
    const auto layout = class_version >= 1 ? version_layout::with_rmse : version_layout::v0;
    uint64_t n = waiting.size();
    ar& n;
    if constexpr (Archive::is_loading::value) {
      if (n > (uint64_t{1} << 16))
        throw_corrupt_archive("average_state: " + std::to_string(n) + " replicas");
      waiting.resize(n);
      newest.resize(n);
      has_newest.resize(n);
    }
    for (size_t i = 0; i < n; ++i) {
      version_list(ar, waiting[i], max_waiting, "average_state: waiting", layout);
      version_fields(ar, newest[i], layout);
      bool has = has_newest[i];
      serialize_flag(ar, has, "average_state: has_newest");
      has_newest[i] = has;
    }
    ar& rounds;
  }
};

/// Per-instance logic of the averaging operator.
template <class Model>
class average_logic final : public eddy::internal::one_input_logic<model_version, model_version> {
public:
  average_logic(task& t, const eddy::internal::instance_wiring& w, average_options opt)
      : one_input_logic(t, w)
      , opt_(std::move(opt))
      , origin_("averager " + t.origin()) {
    state_.waiting.resize(opt_.replicas);
    state_.newest.resize(opt_.replicas);
    state_.has_newest.resize(opt_.replicas, false);
  }

  /// The replicas' last versions, averaged once more unless the last round averaged them.
  void on_end(task& t) override {
    std::vector<const model_version*> last;
    bool beyond = false;
    for (uint32_t i = 0; i < opt_.replicas; ++i) {
      if (!state_.has_newest[i])
        return; // a replica never published: nothing to average
      last.push_back(&state_.newest[i]);
      beyond = beyond || state_.newest[i].version > state_.rounds;
    }
    if (beyond)
      emit(t, last);
  }

  void snapshot(task&, checkpoint_id, instance_state& out) override { save_state(state_, out); }

  void restore(task&, checkpoint_id, instance_state&& in) override {
    if (load_state(in, state_, origin_) && state_.waiting.size() != opt_.replicas)
      throw std::runtime_error(origin_ + ": the snapshot averages " +
                               std::to_string(state_.waiting.size()) + " replicas, this job " +
                               std::to_string(opt_.replicas) +
                               ": keep average_options::of across restarts");
  }

private:
  void on_batch(task& t, batch<model_version>& in) override {
    for (auto& v : in.items) {
      if ((!opt_.model.empty() && v.model != opt_.model) || v.instance >= opt_.replicas)
        continue;
      state_.newest[v.instance] = v;
      state_.has_newest[v.instance] = true;
      state_.waiting[v.instance].push_back(std::move(v));
    }
    // A round is complete when every replica has its version of that number.
    for (;;) {
      std::vector<const model_version*> round;
      uint64_t lowest = std::numeric_limits<uint64_t>::max();
      for (auto& queue : state_.waiting) {
        while (!queue.empty() && queue.front().version <= state_.rounds)
          queue.pop_front(); // a version of a round done (after a restart)
        if (queue.empty())
          return;
        lowest = std::min(lowest, queue.front().version);
      }
      // Every replica is past the next round (versions numbered from later on, an averager added
      // to learners restarted from a savepoint): the rounds start at their lowest version.
      if (lowest > state_.rounds + 1)
        state_.rounds = lowest - 1;
      for (auto& queue : state_.waiting) {
        if (queue.front().version != state_.rounds + 1)
          return;
        round.push_back(&queue.front());
      }
      emit(t, round);
      for (auto& queue : state_.waiting)
        queue.pop_front();
    }
  }

  /// Emits the average of `versions` as the next round.
  void emit(task& t, const std::vector<const model_version*>& versions) {
    std::vector<Model> models(versions.size());
    std::vector<const Model*> parts;
    for (size_t i = 0; i < versions.size(); ++i) {
      const auto& v = *versions[i];
      if (v.kind != Model::model_kind || !v.intact() || from_binary(v.params, models[i])) {
        t.dead_letter(origin_ + ": version " + std::to_string(v.version) + " of '" + v.model +
                          "' (replica " + std::to_string(v.instance) + ") is not an intact " +
                          Model::model_kind + "; round " + std::to_string(state_.rounds + 1) +
                          " is skipped",
                      "<model version " + std::to_string(v.version) + ">");
        ++state_.rounds;
        return;
      }
      parts.push_back(&models[i]);
    }
    auto merged = Model::average(parts);
    if (!merged) {
      t.dead_letter(origin_ + ": round " + std::to_string(state_.rounds + 1) + ": " +
                        describe(merged.error()),
                    "<model versions>");
      ++state_.rounds;
      return;
    }
    model_version out;
    const auto& first = *versions.front();
    out.model = opt_.named.empty() ? first.model : opt_.named;
    out.instance = 0;
    out.version = ++state_.rounds;
    out.serial = out.version;
    out.kind = Model::model_kind;
    out.time = min_time;
    double evaluated = 0;
    for (const auto* v : versions) {
      out.updates += v->updates;
      out.time = std::max(out.time, v->time);
      evaluated += double(v->quality.evaluated);
    }
    auto& q = out.quality;
    q.roc_auc = std::numeric_limits<double>::quiet_NaN();
    for (const auto* v : versions) {
      const auto& p = v->quality;
      double w = evaluated > 0 ? double(p.evaluated) / evaluated : 1.0 / double(versions.size());
      double m = 1.0 / double(versions.size());
      q.evaluated += p.evaluated;
      q.accuracy += w * p.accuracy;
      q.precision += w * p.precision;
      q.recall += w * p.recall;
      q.f1 += w * p.f1;
      q.rolling_accuracy += m * p.rolling_accuracy;
      q.rolling_f1 += m * p.rolling_f1;
      q.rolling_roc_auc += m * p.rolling_roc_auc;
      q.drifts += p.drifts;
    }
    out.seal(to_binary(*merged));
    auto time = out.time;
    out_.emit(std::move(out), time);
  }

  average_options opt_;
  std::string origin_;
  average_state state_;
};

} // namespace detail

/// The versions of `versions` (a learner with `opt.replicas` instances) averaged round by round
/// (see the header comment).
template <class Model>
stream<model_version> average(const stream<model_version>& versions, average_options opt = {}) {
  if (opt.replicas == 0)
    versions.graph()->mistakes.push_back("average: 0 replicas; average at least 1");
  return versions
      .template then<model_version>("averager",
                                    [opt](task& t, const eddy::internal::instance_wiring& w) {
                                      return std::make_unique<detail::average_logic<Model>>(t, w,
                                                                                            opt);
                                    })
      .parallelism(1);
}

} // namespace eddy::ml

BOOST_CLASS_VERSION(eddy::ml::detail::average_state, 1)
