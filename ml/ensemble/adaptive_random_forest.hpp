// The adaptive random forest (Gomes et al. 2017): online bagging of Hoeffding trees that grow on
// random feature subsets, each watched by two ADWIN detectors on its own errors.
//
// Every record trains each tree with a Poisson(lambda = 6) weight. When a tree's warning detector
// fires, a background tree starts learning next to it; when its drift detector fires, the
// background tree (or a fresh one) replaces it. Trees vote with their class probabilities,
// weighted by their accuracy since they were last replaced.
//
//   auto forest = eddy::ml::adaptive_random_forest::make(3, 2);   // 3 features, 2 classes
//   if (!forest) return forest.error();
//   for (auto& [x, y] : stream) {
//     int guess = forest->predict(x);   // test, then train
//     forest->learn(x, y);
//   }
#pragma once

#include <eddy/ml/drift/adwin.hpp>
#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>
#include <eddy/ml/random_draws.hpp>
#include <eddy/ml/tree/hoeffding_tree.hpp>
#include <eddy/ml/tree/tree_stats.hpp>

#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace eddy::ml {

/// Configuration of an `adaptive_random_forest`.
struct adaptive_random_forest_config {
  /// Trees in the forest. Default: 10.
  std::size_t n_trees = 10;
  /// Mean of the Poisson weight of each record for each tree. Default: 6.
  double lambda = 6;
  /// Features each leaf may split on; 0 means round(sqrt(d)) + 1, as in MOA. Default: 0.
  std::size_t max_features = 0;
  /// Delta of the ADWIN that starts a background tree. Default: 0.01.
  double warning_delta = 0.01;
  /// Delta of the ADWIN that replaces a tree. Default: 0.001.
  double drift_delta = 0.001;
  /// Whether trees vote with weight = their accuracy. Default: true.
  bool weighted_vote = true;
  /// Configuration of every tree (its seed and max_features are set by the forest).
  /// Default: MOA's ARF trees: grace period 50, split confidence 0.01, tie threshold 0.05,
  /// naive Bayes adaptive leaves.
  hoeffding_tree_config tree = [] {
    hoeffding_tree_config t;
    t.grace_period = 50;
    t.split_confidence = 0.01;
    return t;
  }();
  /// Seed of the bagging weights and of the trees' seeds. Default: 1.
  std::uint64_t seed = 1;

  /// Saves or loads every setting with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& n_trees& lambda& max_features& warning_delta& drift_delta;
    serialize_flag(ar, weighted_vote, "adaptive_random_forest: weighted_vote");
    ar& tree& seed;
  }
};

/// An adaptive random forest classifier; not thread-safe.
class adaptive_random_forest {
public:
  /// Names this type in model files (model_file.hpp).
  static constexpr const char* model_kind = "eddy.ml.adaptive_random_forest";

  // -- constructors -----------------------------------------------------------------------------

  /// An empty forest; it refuses to learn (errc::not_fitted) until assigned from `make` or
  /// loaded.
  adaptive_random_forest() = default;

  /// Makes a forest for `n_features` features and `n_classes` classes, or says what is wrong.
  [[nodiscard]] static caf::expected<adaptive_random_forest>
  make(std::size_t n_features, std::size_t n_classes, adaptive_random_forest_config cfg = {}) {
    if (cfg.max_features == 0)
      cfg.max_features =
          static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(n_features)))) + 1;
    cfg.tree.max_features = cfg.max_features;
    if (auto err = validate(n_features, n_classes, cfg))
      return err;
    adaptive_random_forest result;
    result.cfg_ = cfg;
    result.n_features_ = n_features;
    result.n_classes_ = n_classes;
    result.rng_.seed(cfg.seed);
    for (std::size_t i = 0; i < cfg.n_trees; ++i) {
      member m;
      m.tree = result.fresh_tree();
      m.warning = detector(cfg.warning_delta);
      m.drift = detector(cfg.drift_delta);
      result.members_.push_back(std::move(m));
    }
    return result;
  }

  /// The error `make` returns for these settings (max_features resolved), or none.
  [[nodiscard]] static caf::error validate(std::size_t n_features, std::size_t n_classes,
                                           const adaptive_random_forest_config& cfg) {
    auto bad = [](const char* what) {
      return make_error(errc::invalid_argument, std::string{"adaptive_random_forest: "} + what);
    };
    if (cfg.n_trees < 1)
      return bad("n_trees must be at least 1");
    if (!(cfg.lambda > 0 && cfg.lambda <= 30))
      return bad("lambda must lie in (0, 30]");
    if (!(cfg.warning_delta > 0 && cfg.warning_delta < 1 && cfg.drift_delta > 0 &&
          cfg.drift_delta < 1))
      return bad("warning_delta and drift_delta must lie in (0, 1)");
    return hoeffding_tree::validate(n_features, n_classes, cfg.tree);
  }

  // -- learning ---------------------------------------------------------------------------------

  /// Learns record `x` of class `y` with `weight`; on bad input returns why and changes nothing.
  caf::error learn(const vector& x, int y, double weight = 1.0) {
    constexpr const char* where = "adaptive_random_forest::learn";
    if (members_.empty())
      return not_made_error(where);
    if (auto err = check_bounded_record(x, y, weight, n_features_, n_classes_, where))
      return err;
    if (weight > 0)
      learn_unchecked(x, y, weight);
    return caf::error{};
  }

  /// Learns every row of `X` in order, as `learn` one row at a time with weight 1; checks the
  /// whole batch first and learns nothing when a row or label is bad.
  caf::error learn_batch(const matrix& X, const labels& y) {
    constexpr const char* where = "adaptive_random_forest::learn_batch";
    if (members_.empty())
      return not_made_error(where);
    return learn_bounded_rows(
        X, y, n_features_, n_classes_, where,
        [this](const vector& row, int label) { learn_unchecked(row, label, 1.0); });
  }

  // -- prediction -------------------------------------------------------------------------------

  /// The class probabilities of `x` (the weighted average of the trees'); empty when `x` has
  /// the wrong size.
  [[nodiscard]] vector predict_proba(const vector& x) const {
    if (static_cast<std::size_t>(x.size()) != n_features_ || members_.empty())
      return vector{};
    vector votes = vector::Zero(static_cast<Eigen::Index>(n_classes_));
    scratch_scores p{n_classes_};
    for (const auto& m : members_) {
      const double accuracy = m.seen > 0 ? m.correct / m.seen : 0.0;
      const double weight = cfg_.weighted_vote && accuracy > 0 ? accuracy : 1.0;
      m.tree.predict_proba(x, p.data());
      for (std::size_t c = 0; c < n_classes_; ++c)
        votes[static_cast<Eigen::Index>(c)] += weight * p.data()[c];
    }
    const double sum = votes.sum();
    return sum > 0 ? vector(votes / sum)
                   : vector(vector::Constant(votes.size(), 1.0 / static_cast<double>(n_classes_)));
  }

  /// The most probable class of `x`, or -1 when `x` has the wrong size.
  [[nodiscard]] int predict(const vector& x) const {
    auto p = predict_proba(x);
    return p.size() == 0 ? -1 : arg_max(p);
  }

  // -- properties -------------------------------------------------------------------------------

  /// Features per record.
  [[nodiscard]] std::size_t n_features() const noexcept { return n_features_; }

  /// Number of classes.
  [[nodiscard]] std::size_t n_classes() const noexcept { return n_classes_; }

  /// Warnings (background trees started) so far, over all trees.
  [[nodiscard]] std::uint64_t n_warnings() const noexcept { return warnings_; }

  /// Drifts (trees replaced) so far, over all trees.
  [[nodiscard]] std::uint64_t n_drifts() const noexcept { return drifts_; }

  /// The trees currently voting.
  [[nodiscard]] std::vector<const hoeffding_tree*> trees() const {
    std::vector<const hoeffding_tree*> result;
    for (const auto& m : members_)
      result.push_back(&m.tree);
    return result;
  }

  /// Bytes held by the forest: every tree, background tree and detector, walked.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    std::size_t bytes = sizeof(*this) + members_.capacity() * sizeof(member);
    for (const auto& m : members_) {
      bytes += m.tree.memory_bytes() - sizeof(hoeffding_tree);
      bytes += m.background.memory_bytes() - sizeof(hoeffding_tree);
      bytes += m.warning.memory_bytes() - sizeof(adwin);
      bytes += m.drift.memory_bytes() - sizeof(adwin);
    }
    return bytes;
  }

  /// The configuration (with max_features resolved).
  [[nodiscard]] const adaptive_random_forest_config& config() const noexcept { return cfg_; }

  /// Saves or loads the whole state: trees, background trees, detectors, counters, engine. A
  /// loaded state whose trees do not match the forest's shape throws (errc::corrupt_file from
  /// `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& n_features_& n_classes_& members_& warnings_& drifts_& rng_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// One tree of the forest with its detectors and its background tree.
  struct member {
    /// The tree that votes.
    hoeffding_tree tree;
    /// The tree learning since the warning detector fired (empty when has_background is false).
    hoeffding_tree background;
    /// Whether `background` is learning.
    bool has_background = false;
    /// ADWIN on the tree's errors that starts a background tree (rises only).
    adwin warning;
    /// ADWIN on the tree's errors that replaces the tree (rises only).
    adwin drift;
    /// Weight of the records it predicted right, and of all it predicted, since replaced.
    double correct = 0, seen = 0;

    /// Saves or loads the member with a Boost archive.
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& tree& background;
      serialize_flag(ar, has_background, "adaptive_random_forest: has_background");
      ar& warning& drift& correct& seen;
    }
  };

  /// An ADWIN that signals rises of a tree's error rate only (as MOA's ADWINChangeDetector);
  /// `delta` was checked by `validate`.
  static adwin detector(double delta) {
    adwin_config c;
    c.delta = delta;
    c.mode = adwin_mode::up;
    return *adwin::make(c);
  }

  /// Refuses a loaded state whose trees do not have the forest's shape.
  void check_loaded() const {
    if (members_.empty() && n_features_ == 0)
      return; // an empty forest
    if (validate(n_features_, n_classes_, cfg_) || members_.size() != cfg_.n_trees)
      throw_corrupt_archive("adaptive_random_forest: settings out of range");
    auto fits = [&](const hoeffding_tree& t) {
      return t.n_features() == n_features_ && t.n_classes() == n_classes_;
    };
    for (const auto& m : members_)
      if (!fits(m.tree) || (m.has_background && !fits(m.background)))
        throw_corrupt_archive("adaptive_random_forest: a tree does not match the forest");
  }

  hoeffding_tree fresh_tree() {
    auto t = cfg_.tree;
    t.seed = rng_();
    return *hoeffding_tree::make(n_features_, n_classes_, t);
  }

  void learn_unchecked(const vector& x, int y, double weight) {
    for (auto& m : members_) {
      const bool wrong = m.tree.predict(x) != y;
      m.seen += weight;
      m.correct += wrong ? 0.0 : weight;
      if (const int k = poisson(rng_, cfg_.lambda); k > 0) {
        m.tree.learn_unchecked(x, y, weight * k);
        if (m.has_background)
          m.background.learn_unchecked(x, y, weight * k);
      }
      if (m.warning.update(wrong ? 1.0 : 0.0)) {
        ++warnings_;
        m.background = fresh_tree();
        m.has_background = true;
        m.warning = detector(cfg_.warning_delta);
      }
      if (m.drift.update(wrong ? 1.0 : 0.0)) {
        ++drifts_;
        m.tree = m.has_background ? std::move(m.background) : fresh_tree();
        m.background = hoeffding_tree{};
        m.has_background = false;
        m.warning = detector(cfg_.warning_delta);
        m.drift = detector(cfg_.drift_delta);
        m.correct = m.seen = 0;
      }
    }
  }

  // -- member variables -------------------------------------------------------------------------

  /// The configuration (max_features resolved).
  adaptive_random_forest_config cfg_;
  /// Features per record.
  std::size_t n_features_ = 0;
  /// Number of classes.
  std::size_t n_classes_ = 2;
  /// The trees and their detectors.
  std::vector<member> members_;
  /// Warnings and drifts so far.
  std::uint64_t warnings_ = 0, drifts_ = 0;
  /// Draws the Poisson weights and the seeds of new trees.
  std::mt19937_64 rng_{1};
};

} // namespace eddy::ml
