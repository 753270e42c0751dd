// The model registry operator: keeps the recent versions of a model (and of a background model)
// with their figures, and decides which one the scorers serve: the newest while it is healthy, an
// earlier one (rollback) or the background model's (promotion) when the newest falls below a
// threshold or its learner found a drift, or the version a user pinned.
//
//   auto main = eddy::ml::learn(labelled, *model, learner_options{}.named("lr").detect_drift());
//   auto fresh = eddy::ml::learn(labelled, *model,
//                                learner_options{}.named("lr-fresh").restart_after_drift());
//   auto served = eddy::ml::registry(main.union_with(fresh), registry_options{}
//                                        .serve("lr").with_background("lr-fresh")
//                                        .rollback_below(quality_metric::rolling_f1, 0.6));
//   auto predictions = eddy::ml::score<logistic_regression>(points, served);   // score.hpp
//   // pinning while the job runs: a stream of registry_command as a second input
//   auto served2 = eddy::ml::registry(versions, commands, registry_options{}.serve("lr"));
//
// Every version the registry serves goes out with a new serial (1, 2, ...: the order scorers
// follow, model_version::serial) and the reason it was chosen (model_version::reason: "newest",
// "rollback: ...", "promoted: ...", "pinned"); its model, version number and figures are the
// learner's. The rules, applied when a version arrives:
//
// - A version of the followed model (at first the primary, `serve`) is healthy when its metric is
//   at least the threshold, or it has evaluated fewer than `judge_after` records, or the metric is
//   undefined (a ROC AUC over one class); and its learner found no new drift since the model's
//   previous version. A healthy newest version is served.
// - Below the threshold: the best kept version by the metric (earlier versions of the followed
//   model, the background model's newest) is served if it is better; the registry then follows
//   that model. Nothing better: the newest is served all the same, saying so.
// - A new drift in the primary model: the background model's first healthy version that learned
//   past the drift (as many updates as the primary's drifted version, or more) is promoted; the
//   registry follows the background model from then on (its learner, restarting after each drift,
//   has learned the newest concept only). Until it arrives the rules go on as before. Drifts in the
//   background model, which restarts on them, promote nothing; without a background model a drift
//   changes nothing.
// - A version of the model not followed is promoted when what is served is unhealthy and it is
//   healthy and better.
// - With `prefer_better(margin)`: whichever model's newest version is better by the metric is
//   followed; the registry switches when the other's beats the followed one's by more than the
//   margin (checked before the rules above, whenever a version arrives).
// - `pin(model, version)` serves that version (now, if it is kept; when it arrives, if it is newer
//   than those kept) and nothing else until `unpin()`, which serves the followed model's newest.
//   Pinning a version no longer kept goes to the dead-letter output, saying which ones are.
//
// A rollback judges earlier versions by the figures they had when published: right after a bad
// update (a poisoned batch, a diverging step), not after a change of concept, which is what the
// background model is for. Versions of other models or instances are passed over and counted. The
// kept versions, what is served and the pin are the registry's checkpoint state. One instance.
#pragma once

#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/operators/operator_state.hpp>
#include <eddy/ml/operators/records.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/internal/two_input.hpp>
#include <eddy/operators/stream.hpp>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// Which of a version's figures (model_quality) the registry compares.
enum class quality_metric : uint8_t {
  rolling_f1,
  rolling_accuracy,
  rolling_roc_auc,
  f1,
  accuracy,
};

/// The figure `m` of `q`.
[[nodiscard]] inline double metric_of(const model_quality& q, quality_metric m) noexcept {
  switch (m) {
  case quality_metric::rolling_f1:
    return q.rolling_f1;
  case quality_metric::rolling_accuracy:
    return q.rolling_accuracy;
  case quality_metric::rolling_roc_auc:
    return q.rolling_roc_auc;
  case quality_metric::f1:
    return q.f1;
  case quality_metric::accuracy:
    return q.accuracy;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

/// The name of `m` in the registry's reasons.
[[nodiscard]] inline const char* to_string(quality_metric m) noexcept {
  switch (m) {
  case quality_metric::rolling_f1:
    return "rolling F1";
  case quality_metric::rolling_accuracy:
    return "rolling accuracy";
  case quality_metric::rolling_roc_auc:
    return "rolling ROC AUC";
  case quality_metric::f1:
    return "F1";
  case quality_metric::accuracy:
    return "accuracy";
  }
  return "?";
}

/// How a registry chooses.
struct registry_options {
  /// The primary model (a learner's name; empty: any model but the background) and instance.
  std::string model;
  uint32_t instance = 0;
  /// The background model, promoted by the rules (empty: none) and its instance.
  std::string background;
  uint32_t background_instance = 0;
  /// Versions kept per model. Default: 10.
  size_t keep = 10;
  /// The figure the rules compare, and the threshold below which a version is unhealthy (NaN:
  /// no threshold, only drifts and pins act).
  quality_metric metric = quality_metric::rolling_f1;
  double threshold = std::numeric_limits<double>::quiet_NaN();
  /// A version that evaluated fewer records than this is not judged by the threshold. Default:
  /// 1,000.
  uint64_t judge_after = 1'000;
  /// With a background model: serve whichever of the two models' newest versions is better by
  /// the metric, switching when the other's beats the followed one's by more than this margin
  /// (NaN: off, only the rules above switch). Default: off.
  double switch_margin = std::numeric_limits<double>::quiet_NaN();

  registry_options& serve(std::string name, uint32_t learner_instance = 0) {
    model = std::move(name);
    instance = learner_instance;
    return *this;
  }
  registry_options& with_background(std::string name, uint32_t learner_instance = 0) {
    background = std::move(name);
    background_instance = learner_instance;
    return *this;
  }
  registry_options& keep_last(size_t n) {
    keep = n;
    return *this;
  }
  registry_options& rollback_below(quality_metric m, double value) {
    metric = m;
    threshold = value;
    return *this;
  }
  /// Serve the better of the primary and the background model (see switch_margin).
  registry_options& prefer_better(double margin = 0.01) {
    switch_margin = margin;
    return *this;
  }
  registry_options& judge_after_evaluated(uint64_t n) {
    judge_after = n;
    return *this;
  }
};

/// A user's order to a running registry.
struct registry_command {
  enum class op : uint8_t { pin, unpin };
  op what = op::unpin;
  std::string model;
  uint32_t instance = 0;
  uint64_t version = 0;

  /// Serve version `v` of `name` (learner instance `i`), and nothing else until unpin().
  [[nodiscard]] static registry_command pin(std::string name, uint64_t v, uint32_t i = 0) {
    return {op::pin, std::move(name), i, v};
  }
  /// Let the rules choose again.
  [[nodiscard]] static registry_command unpin() { return {}; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registry_command& c) {
  return f(caf::meta::type_name("eddy.ml.registry_command"), c.what, c.model, c.instance,
           c.version);
}

namespace detail {

/// What a registry's checkpoints hold.
struct registry_state {
  /// More kept versions than this in a snapshot means it is damaged.
  static constexpr uint64_t max_kept = uint64_t{1} << 20;

  /// The kept versions of the primary model [0] and of the background model [1], oldest first.
  std::vector<model_version> kept[2];
  /// The model followed (0: primary, 1: background).
  uint32_t followed = 0;
  /// Drifts the followed model's learner had found at its previous version, per model.
  uint64_t drifts[2] = {0, 0};
  /// The serial of the last version served, and which it was (model index, version).
  uint64_t serial = 0;
  uint32_t served_model = 0;
  uint64_t served_version = 0;
  bool served_healthy = true;
  double served_metric = std::numeric_limits<double>::quiet_NaN();
  /// After a drift in the primary model: the background version to promote is the first with at
  /// least `awaiting_updates` updates (it learned past the drift); the primary's drifted version.
  bool awaiting = false;
  uint64_t awaiting_updates = 0;
  uint64_t awaiting_version = 0;
  /// The pin, when there is one.
  bool pinned = false;
  uint32_t pin_model = 0;
  uint64_t pin_version = 0;
  timestamp time = min_time;

  /// Class version 1 added the versions' RMSE figures.
  template <class Archive>
  void serialize(Archive& ar, unsigned class_version) {
    const auto layout = class_version >= 1 ? version_layout::with_rmse : version_layout::v0;
    for (auto& versions : kept)
      version_list(ar, versions, max_kept, "registry_state: kept", layout);
    ar& followed& drifts[0] & drifts[1] & serial& served_model& served_version;
    serialize_flag(ar, served_healthy, "registry_state::served_healthy");
    ar& served_metric;
    serialize_flag(ar, awaiting, "registry_state::awaiting");
    ar& awaiting_updates& awaiting_version;
    serialize_flag(ar, pinned, "registry_state::pinned");
    ar& pin_model& pin_version& time;
    if constexpr (Archive::is_loading::value)
      if (followed > 1 || served_model > 1 || pin_model > 1)
        throw_corrupt_archive("registry_state: a model index is not 0 or 1");
  }
};

/// Per-instance logic of the registry operator.
class registry_logic final
    : public eddy::internal::two_input_logic<model_version, registry_command, model_version> {
public:
  registry_logic(task& t, const eddy::internal::instance_wiring& w, registry_options opt)
      : two_input_logic(t, w)
      , opt_(std::move(opt))
      , origin_("registry " + t.origin()) {}

  void snapshot(task&, checkpoint_id, instance_state& out) override { save_state(state_, out); }

  void restore(task&, checkpoint_id, instance_state&& in) override {
    load_state(in, state_, origin_);
  }

private:
  void on_batch1(task&, batch<model_version>& in) override {
    for (auto& v : in.items) {
      int m = model_index(v);
      if (m < 0) {
        ++passed_over_;
        continue;
      }
      state_.time = std::max(state_.time, v.time);
      auto& kept = state_.kept[m];
      kept.push_back(std::move(v));
      if (kept.size() > opt_.keep)
        kept.erase(kept.begin());
      on_version(static_cast<uint32_t>(m));
    }
  }

  void on_batch2(task& t, batch<registry_command>& in) override {
    for (auto& c : in.items) {
      if (c.what == registry_command::op::unpin) {
        state_.pinned = false;
        const auto& kept = state_.kept[state_.followed];
        if (!kept.empty())
          judge(state_.followed, "unpinned");
        continue;
      }
      int m = name_index(c.model, c.instance);
      if (m < 0) {
        t.dead_letter(origin_ + ": pin: '" + c.model + "' instance " + std::to_string(c.instance) +
                          " is neither the primary nor the "
                          "background model of this registry",
                      "<pin " + c.model + " version " + std::to_string(c.version) + ">");
        continue;
      }
      const auto& kept = state_.kept[m];
      bool newer = kept.empty() || c.version > kept.back().version;
      const auto* found = find(static_cast<uint32_t>(m), c.version);
      if (!found && !newer) {
        t.dead_letter(origin_ + ": pin: version " + std::to_string(c.version) + " of '" + c.model +
                          "' is no longer kept (kept: versions " +
                          std::to_string(kept.front().version) + " to " +
                          std::to_string(kept.back().version) + "; keep more with keep_last)",
                      "<pin " + c.model + " version " + std::to_string(c.version) + ">");
        continue;
      }
      state_.pinned = true;
      state_.pin_model = static_cast<uint32_t>(m);
      state_.pin_version = c.version;
      if (found)
        serve(*found, static_cast<uint32_t>(m), "pinned", true);
    }
  }

  /// Applies the rules to the newest version of model `m`.
  void on_version(uint32_t m) {
    const auto& v = state_.kept[m].back();
    if (state_.pinned) {
      if (m == state_.pin_model && v.version == state_.pin_version)
        serve(v, m, "pinned", true);
      return;
    }
    if (switch_to_better(m))
      return;
    if (m == state_.followed) {
      judge(m, "newest");
      return;
    }
    // The background model after a drift in the primary: promoted once it learned past the drift.
    if (m == 1 && state_.awaiting && v.updates >= state_.awaiting_updates && healthy(v)) {
      state_.awaiting = false;
      promote(m, "promoted after a drift in " + name_of(0) + " (version " +
                     std::to_string(state_.awaiting_version) + ")");
    } else if (!state_.served_healthy && healthy(v) && better(v, state_.served_metric)) {
      // The model not followed: promoted when what is served is unhealthy and it is better.
      promote(m, "promoted: the served version is unhealthy (" + figure(state_.served_metric) +
                     "), " + name_of(m) + " version " + std::to_string(v.version) + " has " +
                     figure(metric(v)));
    }
    // Its drift count is remembered either way (judge compares with it).
    state_.drifts[m] = v.quality.drifts;
  }

  /// With prefer_better: follows the other model when its newest version beats the followed
  /// one's by more than the margin (after a version of model `m` arrived); true when it did.
  bool switch_to_better(uint32_t m) {
    if (std::isnan(opt_.switch_margin) || state_.kept[0].empty() || state_.kept[1].empty())
      return false;
    uint32_t f = state_.followed, o = 1 - f;
    const auto& a = state_.kept[f].back();
    const auto& b = state_.kept[o].back();
    double x = metric(a), y = metric(b);
    if (!std::isfinite(x) || !std::isfinite(y) || !healthy(b) || y <= x + opt_.switch_margin)
      return false;
    state_.drifts[m] = state_.kept[m].back().quality.drifts;
    state_.awaiting = false;
    promote(o, "switched to the better model: " + name_of(o) + " version " +
                   std::to_string(b.version) + " has " + figure(y) + ", " + name_of(f) +
                   " version " + std::to_string(a.version) + " " + figure(x));
    return true;
  }

  /// Serves the followed model's newest version, or what the rules choose instead.
  void judge(uint32_t m, const std::string& why) {
    const auto& v = state_.kept[m].back();
    bool drifted = v.quality.drifts > state_.drifts[m];
    state_.drifts[m] = v.quality.drifts;
    uint32_t other = 1 - m;
    if (drifted && m == 0 && !opt_.background.empty()) {
      // The background version to promote must have learned past the drift.
      const auto& kept = state_.kept[other];
      if (!kept.empty() && kept.back().updates >= v.updates && healthy(kept.back())) {
        promote(other, "promoted after a drift in " + name_of(m) + " (version " +
                           std::to_string(v.version) + ")");
        return;
      }
      state_.awaiting = true;
      state_.awaiting_updates = v.updates;
      state_.awaiting_version = v.version;
    }
    if (below_threshold(v)) {
      // The best kept version by the metric: earlier ones of this model, the other's newest.
      const model_version* best = nullptr;
      uint32_t best_model = m;
      for (const auto& k : state_.kept[m])
        if (&k != &v && healthy(k) && better(k, best ? metric(*best) : metric(v)))
          best = &k;
      if (!state_.kept[other].empty()) {
        const auto& o = state_.kept[other].back();
        if (healthy(o) && better(o, best ? metric(*best) : metric(v))) {
          best = &o;
          best_model = other;
        }
      }
      auto low = name_of(m) + " version " + std::to_string(v.version) + " has " +
                 figure(metric(v)) + ", below " + figure(opt_.threshold);
      if (best && best_model == other) {
        promote(other, "promoted: " + low);
        return;
      }
      if (best) {
        serve(*best, m, "rollback to version " + std::to_string(best->version) + ": " + low, true);
        return;
      }
      serve(v, m, why + "; " + low + " and no kept version is better", false);
      return;
    }
    serve(v, m, why, true);
  }

  /// Follows model `m` and serves its newest version.
  void promote(uint32_t m, std::string why) {
    state_.followed = m;
    serve(state_.kept[m].back(), m, std::move(why), true);
  }

  /// Sends `v` (of model `m`) to the scorers with the next serial, unless it is served already.
  void serve(const model_version& v, uint32_t m, std::string why, bool is_healthy) {
    state_.served_healthy = is_healthy;
    state_.served_metric = metric(v);
    if (state_.serial > 0 && state_.served_model == m && state_.served_version == v.version)
      return;
    state_.served_model = m;
    state_.served_version = v.version;
    auto out = v;
    out.serial = ++state_.serial;
    out.reason = std::move(why);
    out_.emit(std::move(out), state_.time);
  }

  [[nodiscard]] double metric(const model_version& v) const {
    return metric_of(v.quality, opt_.metric);
  }

  [[nodiscard]] bool below_threshold(const model_version& v) const {
    double x = metric(v);
    return v.quality.evaluated >= opt_.judge_after && std::isfinite(x) && x < opt_.threshold;
  }

  /// Healthy: not below the threshold (drifts are judged by `judge`, on the followed model).
  [[nodiscard]] bool healthy(const model_version& v) const { return !below_threshold(v); }

  /// True when `v`'s metric is known and above `than` (or `than` is unknown).
  [[nodiscard]] bool better(const model_version& v, double than) const {
    double x = metric(v);
    return std::isfinite(x) && (!std::isfinite(than) || x > than);
  }

  [[nodiscard]] std::string figure(double x) const {
    return std::string{to_string(opt_.metric)} + ' ' + std::to_string(x);
  }

  [[nodiscard]] std::string name_of(uint32_t m) const {
    const auto& kept = state_.kept[m];
    return "'" + (kept.empty() ? (m == 0 ? opt_.model : opt_.background) : kept.back().model) + "'";
  }

  [[nodiscard]] const model_version* find(uint32_t m, uint64_t version) const {
    for (const auto& k : state_.kept[m])
      if (k.version == version)
        return &k;
    return nullptr;
  }

  /// 0 for the primary model, 1 for the background model, -1 for any other.
  [[nodiscard]] int model_index(const model_version& v) const {
    return name_index(v.model, v.instance);
  }

  [[nodiscard]] int name_index(const std::string& name, uint32_t instance) const {
    if (!opt_.background.empty() && name == opt_.background && instance == opt_.background_instance)
      return 1;
    if ((opt_.model.empty() || name == opt_.model) && instance == opt_.instance)
      return 0;
    return -1;
  }

  registry_options opt_;
  std::string origin_;
  registry_state state_;
  /// Versions of other models or instances.
  uint64_t passed_over_ = 0;
};

/// The checks of registry(): mistakes go to the job's list.
inline void check_registry(eddy::internal::graph& g, const registry_options& opt) {
  if (opt.keep == 0)
    g.mistakes.push_back("registry: keep_last is 0; keep at least 1 version per model");
  if (!opt.background.empty() && opt.background == opt.model &&
      opt.background_instance == opt.instance)
    g.mistakes.push_back("registry: the background model is the primary model ('" + opt.model +
                         "'); name another learner's model");
  if (!std::isnan(opt.switch_margin) && (opt.background.empty() || !(opt.switch_margin >= 0)))
    g.mistakes.push_back("registry: prefer_better needs a background model (with_background) and "
                         "a margin of 0 or more");
  if (std::isinf(opt.threshold))
    g.mistakes.push_back("registry: the threshold is infinite; give a finite value or NaN (no "
                         "threshold)");
}

} // namespace detail

/// The versions the scorers serve, chosen from `versions` by the rules of `opt` and by the
/// pins in `commands` (see the header comment).
inline stream<model_version> registry(const stream<model_version>& versions,
                                      const stream<registry_command>& commands,
                                      registry_options opt = {}) {
  auto g = versions.graph();
  if (!eddy::internal::same_job(*g, commands.graph().get(), "registry"))
    return stream<model_version>{g, {}};
  detail::check_registry(*g, opt);
  return eddy::internal::two_input_node<model_version, model_version>(
             g, "registry", versions.edges(), commands.broadcast().edges(),
             [opt](task& t, const eddy::internal::instance_wiring& w) {
               return std::make_unique<detail::registry_logic>(t, w, opt);
             })
      .parallelism(1);
}

/// A registry without commands: the rules alone choose.
inline stream<model_version> registry(const stream<model_version>& versions,
                                      registry_options opt = {}) {
  auto g = versions.graph();
  detail::check_registry(*g, opt);
  return eddy::internal::two_input_node<model_version, model_version>(
             g, "registry", versions.edges(), {},
             [opt](task& t, const eddy::internal::instance_wiring& w) {
               return std::make_unique<detail::registry_logic>(t, w, opt);
             })
      .parallelism(1);
}

} // namespace eddy::ml

BOOST_CLASS_VERSION(eddy::ml::detail::registry_state, 1)
