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
// Every replica receives every version (the versions are broadcast). Until the first one
// arrives a replica scores with its declared default model (version 0), or keeps the points (up
// to `buffer` of them, then it sends the excess to the dead-letter output, saying so) and scores
// them with the first version, in their order; points still kept when the input ends go to the
// dead-letter output too. A version of another kind of model, or one whose
// bytes do not decode, goes to the dead-letter output and the replica keeps its model; so does a
// point with the wrong number of features or a value that is not finite.
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
#include <eddy/operators/stream.hpp>

#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

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

/// What a replica's checkpoints hold: the version it serves (as the learner published it) and
/// the points it keeps, and which replica it is.
struct scorer_state {
  uint32_t instance = 0;
  bool has_model = false;
  uint64_t version = 0;
  /// The serving order of the version served (model_version::serial).
  uint64_t serial = 0;
  std::string params;
  std::vector<kept_point> kept;

  /// Class version 1 added `serial`; a version-0 snapshot (a learner's versions only) serves
  /// serial = version.
  template <class Archive>
  void serialize(Archive& ar, unsigned class_version) {
    ar& instance;
    serialize_flag(ar, has_model, "scorer_state::has_model");
    ar& version;
    if (class_version >= 1)
      ar& serial;
    else
      serial = version;
    ar& params& kept;
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
    state_.instance = t.instance();
    if (opt_.default_model) {
      model_ = *opt_.default_model;
      state_.has_model = true;
      state_.params = to_binary(model_);
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
    if (restored.has_model) {
      if (auto err = from_binary(restored.params, model_))
        throw std::runtime_error(origin_ + ": the model of version " +
                                 std::to_string(restored.version) + ": " + describe(err));
    } else if (state_.has_model) {
      // No model then, a default model declared now (a restart from a savepoint): it serves.
      restored.has_model = true;
      restored.version = state_.version;
      restored.serial = state_.serial;
      restored.params = std::move(state_.params);
    }
    state_ = std::move(restored);
  }

private:
  void on_batch1(task& t, batch<point>& in) override {
    bool timed = !in.times.empty();
    for (size_t i = 0; i < in.items.size(); ++i) {
      auto& p = in.items[i];
      auto time = timed ? in.times[i] : min_time;
      if (state_.has_model) {
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
      if ((!opt_.model.empty() && v.model != opt_.model) || v.instance != opt_.instance) {
        ++skipped_;
        continue;
      }
      if (state_.has_model && v.serial <= state_.serial)
        continue; // not newer than the one served (in serving order)
      if (v.kind != Model::model_kind) {
        t.dead_letter(origin_ + ": version " + std::to_string(v.version) + " of '" + v.model +
                          "' is a " + v.kind + ", this scorer serves " + Model::model_kind,
                      "<model version " + std::to_string(v.version) + ">");
        continue;
      }
      Model next;
      if (!v.intact()) {
        t.dead_letter(origin_ + ": version " + std::to_string(v.version) + " of '" + v.model +
                          "' is damaged (its checksum does not match)",
                      "<model version " + std::to_string(v.version) + ">");
        continue;
      }
      if (auto err = from_binary(v.params, next)) {
        t.dead_letter(origin_ + ": version " + std::to_string(v.version) + " of '" + v.model +
                          "' does not decode: " + describe(err),
                      "<model version " + std::to_string(v.version) + ">");
        continue;
      }
      model_ = std::move(next);
      state_.has_model = true;
      state_.version = v.version;
      state_.serial = v.serial;
      state_.params = std::move(v.params);
    }
    if (state_.has_model && !state_.kept.empty()) {
      auto kept = std::move(state_.kept);
      state_.kept.clear();
      for (auto& p : kept)
        score(t, p.id, p.x, p.time);
    }
  }

  void score(task& t, uint64_t id, const std::vector<double>& x, timestamp time) {
    auto why = take_features(x, model_.n_features(), x_);
    if (!why.empty()) {
      t.dead_letter(origin_ + ": " + why, eddy::internal::render(point{id, x}));
      return;
    }
    auto proba = model_.predict_proba(x_);
    Eigen::Index best = 0;
    proba.maxCoeff(&best);
    bool binary = proba.size() == 2;
    double p = binary ? proba[1] : proba[best];
    auto label = binary ? int32_t{p >= 0.5} : static_cast<int32_t>(best); // the learner's rule
    out_.emit(prediction{id, p, label, state_.version, state_.serial}, time);
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
  /// The model served (decoded from state_.params).
  Model model_;
  scorer_state state_;
  /// Versions of other models or learner instances, passed over.
  uint64_t skipped_ = 0;
  /// A point's features, reused.
  vector x_;
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
  auto id = eddy::internal::add_two_input_node<point, prediction>(
      *g, "scorer", points.edges(), versions.broadcast().edges(),
      [opt](task& t, const eddy::internal::instance_wiring& w) {
        return std::make_unique<detail::scorer_logic<Model>>(t, w, opt);
      },
      &eddy::internal::register_batch<prediction>);
  g->nodes[id].replicated_state = true; // the model: a replica added by rescaling takes it
  return stream<prediction>{g, {id}};
}

} // namespace eddy::ml

BOOST_CLASS_VERSION(eddy::ml::detail::scorer_state, 1)
