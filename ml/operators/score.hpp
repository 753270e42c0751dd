// The scorer operator: replicas (an actor per instance) that score a stream of points with the
// newest model version a learner published, swapping versions between batches, never within
// one, and tagging every prediction with the version that made it.
//
//   auto versions = eddy::ml::learn(labelled, *model);                      // learn.hpp
//   auto predictions = eddy::ml::score<eddy::ml::logistic_regression>(points, versions)
//                          .name("scorer").parallelism(2);
//   // or, serving a model trained offline until the first version arrives:
//   eddy::ml::score(points, versions, eddy::ml::scorer_options<logistic_regression>{}
//                                         .with_default(*trained));
//
// A model that scores a batch in one pass (`proba_of_one_rows`, e.g. the MLP) scores each batch
// of points as one matrix; its scores can then differ from the model's one-record scores in the
// last bits (matrix products sum in another order), never by more.
//
// Every replica receives every version (the versions are broadcast, on an urgent channel: they
// overtake the point batches queued at the replica, see stream::urgent; the learner ships each
// version the moment it publishes it). A version then serves from the next batch on. The scorer
// asks for batches of about 2 ms of its work (stream::debloat_target; the learner does the same),
// so that at full load a version reaches every replica within p99 about 2 ms
// (bench/learn_score.cpp: p50 0.51 ms, p99 1.7-2.2 ms at 5.6-6.0 M events/s on 2 cores).
//
// Until the first version arrives a replica scores with its declared default model (version 0),
// or keeps the points (up to `buffer` of them, then it sends the excess to the dead-letter
// output, saying so) and scores them with the first version, in their order; points still kept
// when the input ends go to the dead-letter output too. A version of another kind of model, or
// one whose bytes do not decode, goes to the dead-letter output and the replica keeps its model;
// so does a point with the wrong number of features or a value that is not finite.
//
// A replica takes a version whose serial (serving order, model_version::serial) is greater than
// the one it serves: a learner's versions in their order, or what a registry (registry.hpp)
// decides to serve, earlier versions and other models included.
//
// Versions and points are not ordered relative to each other (as any broadcast input): which
// version scores a point depends on when each arrived. The version in each prediction says which
// one did. The current version and the points kept are the replica's state in every checkpoint.
//
// Each learner instance trains and numbers a model of its own: a replica serves the versions of
// one (`serve(name, instance)`, by default any model of instance 0) and counts the others it passed
// over (the dead letters of points it could not keep say so). A refused version is dead-lettered
// by every replica, once each.
//
// Event time: points kept before the first version come out when it arrives, with their own
// times, which the watermark may have passed; an event-time window downstream then treats them as
// late (dead letters or a side output, never silently). Declare a default model when that matters.
// Rescaling: a replica added by a change of parallelism starts with replica 0's model; points
// kept by a replica that a change of parallelism removes are lost (a scorer keeps points only
// before its first version).
#pragma once

#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/ml/operators/operator_state.hpp>
#include <eddy/ml/operators/records.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/internal/two_input.hpp>
#include <eddy/operators/side_output.hpp>
#include <eddy/operators/stream.hpp>

#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// How a scorer serves.
template <class Model>
struct scorer_options {
  /// The model scoring until the first version arrives (as version 0); none: keep the points.
  std::optional<Model> default_model;
  /// Points kept per replica while it has no model.
  size_t buffer = 10'000;
  /// Serve the versions of this model only (a learner's name); empty: any.
  std::string model;
  /// Serve the versions of this learner instance (each instance trains a model of its own).
  uint32_t instance = 0;
  /// A challenger: the versions of this model (and learner instance) as its learner publishes
  /// them score every point too, on the side output `challenger_tag`, never served. Empty: none.
  /// (Versions a registry serves are the champion's even when they are of this model.)
  std::string challenger;
  uint32_t challenger_instance = 0;
  std::string challenger_tag;

  scorer_options& with_default(Model m) {
    default_model = std::move(m);
    return *this;
  }
  scorer_options& buffer_up_to(size_t n) {
    buffer = n;
    return *this;
  }
  scorer_options& serve(std::string name, uint32_t learner_instance = 0) {
    model = std::move(name);
    instance = learner_instance;
    return *this;
  }
  /// Scores every point with the versions of `name` too, onto the side output `tag`.
  scorer_options& challenge_with(std::string name, const output_tag<prediction>& tag,
                                 uint32_t learner_instance = 0) {
    challenger = std::move(name);
    challenger_instance = learner_instance;
    challenger_tag = tag.name();
    return *this;
  }
};

namespace detail {

/// A point kept until a replica has a model, with its event time.
struct kept_point {
  uint64_t id = 0;
  std::vector<double> x;
  timestamp time = min_time;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& id& x& time;
  }
};

/// A version a replica serves (as the learner or registry published it).
struct serving {
  bool has_model = false;
  uint64_t version = 0;
  /// Its serving order (model_version::serial).
  uint64_t serial = 0;
  /// The event time of the last record it learned (model_version::time).
  timestamp time = min_time;
  std::string params;
};

/// What a replica's checkpoints hold: the version it serves and the challenger's, the points it
/// keeps, and which replica it is.
struct scorer_state {
  uint32_t instance = 0;
  serving champion;
  serving challenger;
  std::vector<kept_point> kept;

  /// Class version 1 added the serial; a version-0 snapshot (a learner's versions only) serves
  /// serial = version. Version 2 added the champion's time and the challenger.
  template <class Archive>
  void serialize(Archive& ar, unsigned class_version) {
    ar& instance;
    serialize_flag(ar, champion.has_model, "scorer_state::has_model");
    ar& champion.version;
    if (class_version >= 1)
      ar& champion.serial;
    else
      champion.serial = champion.version;
    ar& champion.params& kept;
    if (class_version >= 2) {
      ar& champion.time;
      serialize_flag(ar, challenger.has_model, "scorer_state::has_challenger");
      ar& challenger.version& challenger.serial& challenger.time& challenger.params;
    }
  }
};

/// Per-instance logic of the scorer operator.
template <class Model>
class scorer_logic final
    : public eddy::internal::two_input_logic<point, model_version, prediction> {
public:
  scorer_logic(task& t, const eddy::internal::instance_wiring& w, scorer_options<Model> opt)
      : two_input_logic(t, w)
      , opt_(std::move(opt))
      , origin_("scorer " + t.origin()) {
    if (!opt_.challenger.empty())
      challenger_out_ = this->template make_side_output<prediction>(t, w, 1);
    state_.instance = t.instance();
    if (opt_.default_model) {
      model_ = *opt_.default_model;
      state_.champion.has_model = true;
      state_.champion.params = to_binary(model_);
    }
  }

  /// Points still kept when the input ends were never scored: each goes to the dead letters.
  void on_end(task& t) override {
    for (auto& p : state_.kept)
      t.dead_letter(origin_ + ": the input ended before any model version arrived; the point "
                              "was never scored",
                    eddy::internal::render(point{p.id, std::move(p.x)}));
    state_.kept.clear();
  }

  void snapshot(task&, checkpoint_id, instance_state& out) override { save_state(state_, out); }

  void restore(task& t, checkpoint_id, instance_state&& in) override {
    scorer_state restored;
    if (!load_state(in, restored, origin_))
      return;
    if (restored.instance != t.instance()) {
      // A replica added by rescaling, with replica 0's state: the model is the same for all,
      // the points kept are replica 0's to score.
      restored.instance = t.instance();
      restored.kept.clear();
    }
    if (restored.challenger.has_model)
      if (auto err = from_binary(restored.challenger.params, challenger_))
        throw std::runtime_error(origin_ + ": the challenger of version " +
                                 std::to_string(restored.challenger.version) + ": " +
                                 describe(err));
    if (restored.champion.has_model) {
      if (auto err = from_binary(restored.champion.params, model_))
        throw std::runtime_error(origin_ + ": the model of version " +
                                 std::to_string(restored.champion.version) + ": " + describe(err));
    } else if (state_.champion.has_model) {
      // No model then, a default model declared now (a restart from a savepoint): it serves.
      restored.champion = std::move(state_.champion);
    }
    state_ = std::move(restored);
  }

private:
  void on_batch1(task& t, batch<point>& in) override {
    if constexpr (has_proba_rows<Model>::value) {
      if (state_.champion.has_model && model_.n_classes() == 2) {
        score_rows(t, in);
        return;
      }
    }
    bool timed = !in.times.empty();
    for (size_t i = 0; i < in.items.size(); ++i) {
      auto& p = in.items[i];
      auto time = timed ? in.times[i] : min_time;
      if (state_.champion.has_model) {
        score(t, p.id, p.x, time);
      } else if (state_.kept.size() < opt_.buffer) {
        state_.kept.push_back(kept_point{p.id, std::move(p.x), time});
      } else {
        t.dead_letter(origin_ + ": no model version yet and " + std::to_string(opt_.buffer) +
                          " points already kept" + skipped_note() +
                          "; declare a default model (scorer_options::with_default) or keep "
                          "more (buffer_up_to)",
                      eddy::internal::render(p));
      }
    }
  }

  void on_batch2(task& t, batch<model_version>& in) override {
    for (auto& v : in.items) {
      // A registry's choice (it always gives a reason) is served, never the challenger's.
      if (!opt_.challenger.empty() && v.model == opt_.challenger &&
          v.instance == opt_.challenger_instance && v.reason.empty())
        take(t, v, state_.challenger, challenger_);
      else if ((opt_.model.empty() || v.model == opt_.model) && v.instance == opt_.instance)
        take(t, v, state_.champion, model_);
      else
        ++skipped_;
    }
    if (state_.champion.has_model && !state_.kept.empty()) {
      auto kept = std::move(state_.kept);
      state_.kept.clear();
      for (auto& p : kept)
        score(t, p.id, p.x, p.time);
    }
  }

  /// Serves `v` as `s` (decoded into `m`) when it is newer in serving order than what `s` holds
  /// and it decodes.
  void take(task& t, model_version& v, serving& s, Model& m) {
    if (s.has_model && v.serial <= s.serial)
      return; // not newer than the one served (in serving order)
    if (!decode(t, v, m))
      return;
    s = serving{true, v.version, v.serial, v.time, std::move(v.params)};
  }

  /// Decodes version `v` into `into`, or sends it to the dead letters saying why it cannot
  /// serve (another kind of model, damaged, undecodable) and leaves `into` as it was.
  bool decode(task& t, const model_version& v, Model& into) {
    auto refuse = [&](const std::string& why) {
      t.dead_letter(origin_ + ": version " + std::to_string(v.version) + " of '" + v.model + "' " +
                        why,
                    "<model version " + std::to_string(v.version) + ">");
      return false;
    };
    if (v.kind != Model::model_kind)
      return refuse(std::string{"is a "} + v.kind + ", this scorer serves " + Model::model_kind);
    if (!v.intact())
      return refuse("is damaged (its checksum does not match)");
    Model next;
    if (auto err = from_binary(v.params, next))
      return refuse("does not decode: " + describe(err));
    into = std::move(next);
    return true;
  }

  void score(task& t, uint64_t id, const std::vector<double>& x, timestamp time) {
    auto why = take_features(x, model_.n_features(), x_);
    if (!why.empty()) {
      t.dead_letter(origin_ + ": " + why, eddy::internal::render(point{id, x}));
      return;
    }
    out_.emit(predict(model_, state_.champion, id, time), time);
    if (state_.challenger.has_model && challenger_.n_features() == model_.n_features())
      challenger_out_->emit(predict(challenger_, state_.challenger, id, time), time);
  }

  /// Scores a whole batch in one pass of a model that scores rows (has_proba_rows): the points
  /// with valid features become the rows of one matrix.
  void score_rows(task& t, batch<point>& in) {
    const bool timed = !in.times.empty();
    rows_.resize(static_cast<Eigen::Index>(in.items.size()), model_.n_features());
    picked_.clear();
    for (size_t i = 0; i < in.items.size(); ++i) {
      auto& p = in.items[i];
      auto why = take_features(p.x, model_.n_features(), x_);
      if (!why.empty()) {
        t.dead_letter(origin_ + ": " + why, eddy::internal::render(p));
        continue;
      }
      rows_.row(static_cast<Eigen::Index>(picked_.size())) = x_.transpose();
      picked_.push_back(i);
    }
    if (picked_.empty())
      return;
    rows_.conservativeResize(static_cast<Eigen::Index>(picked_.size()), Eigen::NoChange);
    const vector scores = model_.proba_of_one_rows(rows_);
    const bool challenge = state_.challenger.has_model && challenger_.n_classes() == 2 &&
                           challenger_.n_features() == model_.n_features();
    const vector challenged = challenge ? challenger_.proba_of_one_rows(rows_) : vector{};
    for (size_t k = 0; k < picked_.size(); ++k) {
      const auto id = in.items[picked_[k]].id;
      const auto time = timed ? in.times[picked_[k]] : min_time;
      const auto row = static_cast<Eigen::Index>(k);
      out_.emit(tagged(scores[row], scores[row] >= 0.5, state_.champion, id, time), time);
      if (challenge)
        challenger_out_->emit(
            tagged(challenged[row], challenged[row] >= 0.5, state_.challenger, id, time), time);
    }
  }

  /// The prediction of `m` (serving as `s`) for the features in x_, of a record at event time
  /// `time`.
  prediction predict(const Model& m, const serving& s, uint64_t id, timestamp time) {
    if (m.n_classes() == 2) {
      double p = positive_proba(m, x_);
      return tagged(p, p >= 0.5, s, id, time); // the learner's rule
    }
    auto proba = m.predict_proba(x_);
    Eigen::Index best = 0;
    proba.maxCoeff(&best);
    return tagged(proba[best], static_cast<int32_t>(best), s, id, time);
  }

  /// The prediction of a record at event time `time`: probability `p` of class `label`, made by
  /// the version served as `s`.
  prediction tagged(double p, int32_t label, const serving& s, uint64_t id, timestamp time) const {
    int64_t staleness = s.time == min_time || time == min_time ? unknown_staleness : time - s.time;
    return prediction{id, p, label, s.version, s.serial, staleness, state_.instance};
  }

  /// Says which versions were passed over, when some were.
  [[nodiscard]] std::string skipped_note() const {
    if (skipped_ == 0)
      return {};
    return " (" + std::to_string(skipped_) + " versions passed over: this replica serves model '" +
           (opt_.model.empty() ? std::string{"any"} : opt_.model) + "' of learner instance " +
           std::to_string(opt_.instance) + ")";
  }

  scorer_options<Model> opt_;
  std::string origin_;
  /// The model served (decoded from state_.champion.params), and the challenger.
  Model model_;
  Model challenger_;
  /// Where the challenger's predictions go.
  std::unique_ptr<eddy::output<prediction>> challenger_out_;
  scorer_state state_;
  /// Versions of other models or learner instances, passed over.
  uint64_t skipped_ = 0;
  /// A point's features, reused.
  vector x_;
  /// A batch's features, one point per row, and the batch positions of those rows (for models
  /// that score rows; reused).
  matrix rows_;
  std::vector<size_t> picked_;
};

} // namespace detail

/// Scores `points` with the versions of `versions` (a learner's output, broadcast to every
/// replica): a stream of predictions, each tagged with its version.
template <class Model>
stream<prediction> score(const stream<point>& points, const stream<model_version>& versions,
                         scorer_options<Model> opt = {}) {
  auto g = points.graph();
  if (!eddy::internal::same_job(*g, versions.graph().get(), "score"))
    return stream<prediction>{g, {}};
  if (opt.default_model && opt.default_model->n_features() <= 0)
    g->mistakes.push_back("score: the default model has no features; make it with "
                          "make(n_features) or train it first");
  if (!opt.challenger.empty() && opt.challenger == opt.model &&
      opt.challenger_instance == opt.instance)
    g->mistakes.push_back("score: the challenger is the served model ('" + opt.model +
                          "'); challenge it with another learner's model");
  auto id = eddy::internal::add_two_input_node<point, prediction>(
      *g, "scorer", points.edges(), versions.broadcast().urgent().edges(),
      [opt](task& t, const eddy::internal::instance_wiring& w) {
        return std::make_unique<detail::scorer_logic<Model>>(t, w, opt);
      },
      &eddy::internal::register_batch<prediction>);
  if (!opt.challenger.empty())
    eddy::internal::declare_side_output<prediction>(*g, id, opt.challenger_tag);
  // Batches of about 2 ms of work in: a version waits at most that long for the one in hand
  // (stream::debloat_target on the result overrides it).
  g->nodes[id].debloat_target = std::chrono::milliseconds{2};
  g->nodes[id].replicated_state = true; // the model: a replica added by rescaling takes it
  return stream<prediction>{g, {id}};
}

} // namespace eddy::ml

BOOST_CLASS_VERSION(eddy::ml::detail::scorer_state, 2)
