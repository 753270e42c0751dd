// Recommendations in the stream: a learner operator that trains matrix factorization on ratings
// (test-then-train, RMSE) and publishes model versions, and recommender replicas that answer
// requests with the top-k items of the newest version, swapping versions between batches.
//
//   auto mf = eddy::ml::matrix_factorization::make();                    // ml/reco
//   auto versions = eddy::ml::learn_ratings(ratings, *mf, eddy::ml::rating_learner_options{}
//                                                             .every(5'000)).name("mf");
//   auto answers = eddy::ml::recommend(requests.rebalance(), versions,
//                                      eddy::ml::recommender_options{}.top(10))
//                      .name("recommender").parallelism(2);
//   // answers: recommendation{request id, user, items best first, predicted ratings, version}
//
// The learner is learn.hpp's operator for ratings: before it learns a rating it predicts it, and
// each version carries the RMSE of those predictions so far and over the last `window` ratings
// (model_quality::rmse, rolling_rmse; the classifier figures are 0). The model, its update count,
// version number and the squared errors of the window are its checkpoint state: after a recovery
// it publishes the same versions, bit for bit. A rating that is not finite, beyond
// max_input_magnitude or refused by the model (a step that would overflow) goes to the dead-letter
// output with the reason and the model never sees it.
//
// A recommender replica is a scorer (score.hpp) for requests: every replica receives every
// version (broadcast, on an urgent channel), serves the newest by serial from the next batch on,
// and tags each answer with the version that made it and the replica. A request names the items
// to leave out (those the user has rated: keep them in keyed state upstream, see
// examples/reco/recommendations.cpp). Until the first version arrives a replica keeps up to
// `buffer` requests and answers them with the first version; more go to the dead-letter output,
// and so do those still kept when the input ends. A version of another kind of model, or one
// whose bytes are damaged, goes to the dead-letter output and the replica keeps its model. The
// version served and the requests kept are the replica's checkpoint state.
#pragma once

#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/operators/operator_state.hpp>
#include <eddy/ml/operators/records.hpp>
#include <eddy/ml/reco/matrix_factorization.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/internal/two_input.hpp>
#include <eddy/operators/stream.hpp>

#include <boost/serialization/vector.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// A user's rating of an item.
struct rating {
  /// The record's id.
  uint64_t id = 0;
  int64_t user = 0;
  int64_t item = 0;
  double value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rating& r) {
  return f(caf::meta::type_name("eddy.ml.rating"), r.id, r.user, r.item, r.value);
}

/// A request for a user's top items, leaving out `exclude` (e.g. the items the user rated).
struct recommend_request {
  uint64_t id = 0;
  int64_t user = 0;
  std::vector<int64_t> exclude;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recommend_request& r) {
  return f(caf::meta::type_name("eddy.ml.recommend_request"), r.id, r.user, r.exclude);
}

/// The answer to a request: items best first, their predicted ratings, the version that made
/// them (0: none, with no items) and its serial, and the replica.
struct recommendation {
  uint64_t id = 0;
  int64_t user = 0;
  std::vector<int64_t> items;
  std::vector<double> scores;
  uint64_t version = 0;
  uint64_t serial = 0;
  uint32_t replica = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recommendation& r) {
  return f(caf::meta::type_name("eddy.ml.recommendation"), r.id, r.user, r.items, r.scores,
           r.version, r.serial, r.replica);
}

/// How a rating learner publishes.
struct rating_learner_options {
  /// A version after every `publish_every` ratings learned (and at the end of input).
  uint64_t publish_every = 1'000;
  /// The rolling RMSE is over the last `window` ratings.
  size_t window = 2'000;
  /// The model's name in its versions; empty: the operator's name.
  std::string model;

  rating_learner_options& every(uint64_t n) {
    publish_every = n;
    return *this;
  }
  rating_learner_options& rolling_window(size_t n) {
    window = n;
    return *this;
  }
  rating_learner_options& named(std::string name) {
    model = std::move(name);
    return *this;
  }
};

/// How a recommender answers.
struct recommender_options {
  /// Items per answer.
  size_t k = 10;
  /// Requests kept per replica while it has no model.
  size_t buffer = 10'000;
  /// Serve the versions of this model only (a learner's name); empty: any.
  std::string model;

  recommender_options& top(size_t n) {
    k = n;
    return *this;
  }
  recommender_options& buffer_up_to(size_t n) {
    buffer = n;
    return *this;
  }
  recommender_options& serve(std::string name) {
    model = std::move(name);
    return *this;
  }
};

namespace detail {

/// What a rating learner keeps, and what its checkpoints hold.
struct rating_learner_state {
  static constexpr uint64_t max_window = uint64_t{1} << 32;
  matrix_factorization model;
  double squared_sum = 0;
  uint64_t updates = 0;
  uint64_t version = 0;
  timestamp last_time = min_time;
  /// The squared errors of the last `window` ratings, a ring from position `next`.
  std::vector<double> recent;
  uint64_t next = 0;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& model& squared_sum& updates& version& last_time& recent& next;
    if constexpr (Archive::is_loading::value)
      if (recent.size() > max_window || (next > 0 && next >= recent.size()) ||
          !std::isfinite(squared_sum) || squared_sum < 0)
        throw_corrupt_archive("rating_learner_state: a window position or sum out of range");
  }
};

/// Per-instance logic of the rating learner.
class rating_learner_logic final : public eddy::internal::one_input_logic<rating, model_version> {
public:
  rating_learner_logic(task& t, const eddy::internal::instance_wiring& w,
                       const matrix_factorization& initial, rating_learner_options opt)
      : one_input_logic(t, w)
      , opt_(std::move(opt))
      , name_(opt_.model.empty() ? t.op_name() : opt_.model)
      , instance_(t.instance()) {
    state_.model = initial;
  }

  void on_end(task&) override {
    if (state_.updates > 0 && state_.updates % opt_.publish_every != 0)
      publish();
  }

  void snapshot(task&, checkpoint_id, instance_state& out) override { save_state(state_, out); }

  void restore(task&, checkpoint_id, instance_state&& in) override {
    load_state(in, state_, "rating learner '" + name_ + "'");
  }

private:
  void on_batch(task& t, batch<rating>& in) override {
    const bool timed = !in.times.empty();
    for (size_t i = 0; i < in.items.size(); ++i) {
      const auto& r = in.items[i];
      const double guess = state_.model.predict(r.user, r.item); // test, then train
      if (auto err = state_.model.learn(r.user, r.item, r.value)) {
        t.dead_letter("rating learner '" + name_ + "': " + describe(err),
                      eddy::internal::render(r));
        continue;
      }
      const double squared = (guess - r.value) * (guess - r.value);
      state_.squared_sum += squared;
      if (state_.recent.size() < opt_.window) {
        state_.recent.push_back(squared);
      } else {
        state_.recent[state_.next] = squared;
        state_.next = (state_.next + 1) % state_.recent.size();
      }
      ++state_.updates;
      if (timed)
        state_.last_time = in.times[i];
      if (state_.updates % opt_.publish_every == 0)
        publish();
    }
  }

  void publish() {
    ++state_.version;
    auto v =
        model_version::published(name_, instance_, state_.version, state_.updates, state_.last_time,
                                 matrix_factorization::model_kind, to_binary(state_.model));
    v.quality.evaluated = state_.updates;
    v.quality.rmse = std::sqrt(state_.squared_sum / static_cast<double>(state_.updates));
    double window_sum = 0; // summed afresh: the same figure whatever came before the window
    for (double e : state_.recent)
      window_sum += e;
    v.quality.rolling_rmse = std::sqrt(window_sum / static_cast<double>(state_.recent.size()));
    auto time = v.time;
    out_.emit(std::move(v), time);
  }

  rating_learner_options opt_;
  std::string name_;
  uint32_t instance_ = 0;
  rating_learner_state state_;
};

/// A request kept until the first version arrives.
struct kept_request {
  recommend_request request;
  timestamp time = min_time;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& request.id& request.user& request.exclude& time;
  }
};

/// What a recommender replica's checkpoints hold.
struct recommender_state {
  /// The replica that wrote it (a replica added by rescaling takes replica 0's).
  uint32_t instance = 0;
  bool has_model = false;
  uint64_t version = 0;
  uint64_t serial = 0;
  std::string params;
  std::vector<kept_request> kept;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& instance;
    serialize_flag(ar, has_model, "recommender_state::has_model");
    ar& version& serial& params& kept;
  }
};

/// Per-instance logic of the recommender.
class recommender_logic final
    : public eddy::internal::two_input_logic<recommend_request, model_version, recommendation> {
public:
  recommender_logic(task& t, const eddy::internal::instance_wiring& w, recommender_options opt)
      : two_input_logic(t, w)
      , opt_(std::move(opt))
      , origin_("recommender " + t.origin())
      , replica_(t.instance()) {
    state_.instance = replica_;
  }

  void on_end(task& t) override {
    for (auto& k : state_.kept)
      t.dead_letter(origin_ + ": the input ended before any model version arrived; the request "
                              "was never answered",
                    eddy::internal::render(k.request));
    state_.kept.clear();
  }

  void snapshot(task&, checkpoint_id, instance_state& out) override { save_state(state_, out); }

  void restore(task&, checkpoint_id, instance_state&& in) override {
    recommender_state restored;
    if (!load_state(in, restored, origin_))
      return;
    if (restored.instance != replica_) { // added by rescaling: the model, not replica 0's requests
      restored.instance = replica_;
      restored.kept.clear();
    }
    if (restored.has_model)
      if (auto err = from_binary(restored.params, model_))
        throw std::runtime_error(origin_ + ": the model of version " +
                                 std::to_string(restored.version) + ": " + describe(err));
    state_ = std::move(restored);
  }

private:
  void on_batch1(task& t, batch<recommend_request>& in) override {
    const bool timed = !in.times.empty();
    for (size_t i = 0; i < in.items.size(); ++i) {
      auto& r = in.items[i];
      const auto time = timed ? in.times[i] : min_time;
      if (state_.has_model)
        answer(r, time);
      else if (state_.kept.size() < opt_.buffer)
        state_.kept.push_back(kept_request{std::move(r), time});
      else
        t.dead_letter(origin_ + ": no model version yet and " + std::to_string(opt_.buffer) +
                          " requests already kept; keep more (buffer_up_to)",
                      eddy::internal::render(r));
    }
  }

  void on_batch2(task& t, batch<model_version>& in) override {
    for (auto& v : in.items) {
      if (!opt_.model.empty() && v.model != opt_.model)
        continue;
      if (state_.has_model && v.serial <= state_.serial)
        continue;
      auto refuse = [&](const std::string& why) {
        t.dead_letter(origin_ + ": version " + std::to_string(v.version) + " of '" + v.model +
                          "' " + why,
                      "<model version " + std::to_string(v.version) + ">");
      };
      if (v.kind != matrix_factorization::model_kind) {
        refuse(std::string{"is a "} + v.kind + ", a recommender serves " +
               matrix_factorization::model_kind);
        continue;
      }
      if (!v.intact()) {
        refuse("is damaged (its checksum does not match)");
        continue;
      }
      matrix_factorization next;
      if (auto err = from_binary(v.params, next)) {
        refuse("does not decode: " + describe(err));
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
      for (auto& k : kept)
        answer(k.request, k.time);
    }
  }

  void answer(const recommend_request& r, timestamp time) {
    recommendation out;
    out.id = r.id;
    out.user = r.user;
    out.version = state_.version;
    out.serial = state_.serial;
    out.replica = replica_;
    for (const auto& [item, score] : model_.top_k(r.user, opt_.k, r.exclude)) {
      out.items.push_back(item);
      out.scores.push_back(score);
    }
    out_.emit(std::move(out), time);
  }

  recommender_options opt_;
  std::string origin_;
  uint32_t replica_ = 0;
  matrix_factorization model_;
  recommender_state state_;
};

} // namespace detail

/// Trains `initial` on `ratings`, test-then-train, and publishes its versions: a version after
/// every `opt.publish_every` ratings and one at the end of input. One instance by default; more
/// train a model each on their part of the ratings.
inline stream<model_version> learn_ratings(const stream<rating>& ratings,
                                           const matrix_factorization& initial,
                                           rating_learner_options opt = {}) {
  auto& g = *ratings.graph();
  if (opt.publish_every == 0)
    g.mistakes.push_back("learn_ratings: publish_every is 0; publish at least every rating (1)");
  if (opt.window == 0)
    g.mistakes.push_back("learn_ratings: the rolling window is 0 ratings; give it at least 1");
  return ratings
      .then<model_version>("rating-learner",
                           [initial, opt](task& t, const eddy::internal::instance_wiring& w) {
                             return std::make_unique<detail::rating_learner_logic>(t, w, initial,
                                                                                   opt);
                           })
      .parallelism(1)
      // Batches of about 2 ms of work in: on few cores a 20 ms batch holds a core that long, and a
      // version published meanwhile waits for a core to reach its replicas.
      .debloat_target(std::chrono::milliseconds{2});
}

/// Answers `requests` with the top items of the newest version of `versions` (a rating
/// learner's output, broadcast to every replica).
inline stream<recommendation> recommend(const stream<recommend_request>& requests,
                                        const stream<model_version>& versions,
                                        recommender_options opt = {}) {
  auto g = requests.graph();
  if (!eddy::internal::same_job(*g, versions.graph().get(), "recommend"))
    return stream<recommendation>{g, {}};
  if (opt.k == 0)
    g->mistakes.push_back("recommend: k is 0; ask for at least one item (top(10))");
  auto id = eddy::internal::add_two_input_node<recommend_request, recommendation>(
      *g, "recommender", requests.edges(), versions.broadcast().urgent().edges(),
      [opt](task& t, const eddy::internal::instance_wiring& w) {
        return std::make_unique<detail::recommender_logic>(t, w, opt);
      },
      &eddy::internal::register_batch<recommendation>);
  // Batches of about 2 ms of work in: a version waits at most that long for the one in hand
  // (stream::debloat_target on the result overrides it).
  g->nodes[id].debloat_target = std::chrono::milliseconds{2};
  g->nodes[id].replicated_state = true; // the model: a replica added by rescaling takes it
  return stream<recommendation>{g, {id}};
}

} // namespace eddy::ml
