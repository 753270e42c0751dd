// The Hoeffding tree (VFDT, Domingos and Hulten 2000): an incremental decision tree that splits a
// leaf once the Hoeffding bound says its best split beats the runner-up with high confidence.
//
// Numeric features are summarised per leaf by one Gaussian per feature and class, and split
// candidates are scored by information gain (hoeffding_leaf.hpp). Leaves predict the majority
// class, naive Bayes, or whichever of the two has been right more often there (naive Bayes
// adaptive, MOA's default). Features beyond +-max_input_magnitude and weights beyond max_weight
// (input_limits.hpp) are refused like NaN.
//
//   auto tree = eddy::ml::hoeffding_tree::make(3, 2);   // 3 features, classes 0 and 1
//   if (!tree) return tree.error();
//   if (auto err = tree->learn(x, y)) std::cerr << eddy::describe(err) << '\n';
//   int label = tree->predict(x);
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>
#include <eddy/ml/random_draws.hpp>
#include <eddy/ml/tree/hoeffding_leaf.hpp>
#include <eddy/ml/tree/tree_stats.hpp>

#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace eddy::ml {

/// How a Hoeffding tree leaf turns its statistics into a prediction.
enum class leaf_prediction : std::uint8_t {
  /// The class with the most weight at the leaf.
  majority_class,
  /// Gaussian naive Bayes on the leaf's statistics.
  naive_bayes,
  /// Naive Bayes unless majority class has been right more often at this leaf.
  naive_bayes_adaptive,
};

/// Configuration of a `hoeffding_tree`.
struct hoeffding_tree_config {
  /// Weight a leaf sees between split attempts. Default: 200.
  double grace_period = 200;
  /// Allowed probability of a wrong split choice (the delta of the Hoeffding bound).
  /// Default: 1e-7.
  double split_confidence = 1e-7;
  /// Splits anyway once the bound is below this (the two best are tied). Default: 0.05.
  double tie_threshold = 0.05;
  /// What leaves predict. Default: naive Bayes adaptive.
  leaf_prediction prediction = leaf_prediction::naive_bayes_adaptive;
  /// Features a leaf keeps statistics for, drawn at random when it is made; 0 means all.
  /// Default: 0 (the adaptive random forest uses sqrt(d) + 1).
  std::size_t max_features = 0;
  /// Depth below which no leaf splits (the root has depth 0); 0 means unlimited. Default: 0.
  std::size_t max_depth = 0;
  /// Candidate thresholds per feature. Default: 10.
  std::size_t split_points = 10;
  /// Seed of the random feature subsets. Default: 1.
  std::uint64_t seed = 1;

  /// Saves or loads every setting with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& grace_period& split_confidence& tie_threshold& prediction& max_features& max_depth;
    ar& split_points& seed;
  }
};

/// A Hoeffding tree classifier for numeric features; not thread-safe.
class hoeffding_tree {
public:
  /// Names this type in model files (model_file.hpp).
  static constexpr const char* model_kind = "eddy.ml.hoeffding_tree";

  // -- constructors -----------------------------------------------------------------------------

  /// An empty tree of no features; it refuses to learn (errc::not_fitted) until assigned from
  /// `make` or loaded.
  hoeffding_tree() = default;

  /// Makes a tree for `n_features` features and classes 0 .. n_classes - 1, or says which
  /// setting is out of range.
  [[nodiscard]] static caf::expected<hoeffding_tree>
  make(std::size_t n_features, std::size_t n_classes, hoeffding_tree_config cfg = {}) {
    if (auto err = validate(n_features, n_classes, cfg))
      return err;
    hoeffding_tree result;
    result.cfg_ = cfg;
    result.n_features_ = n_features;
    result.n_classes_ = n_classes;
    result.rng_.seed(cfg.seed);
    result.reset();
    return result;
  }

  /// The error `make` returns for these settings, or none.
  [[nodiscard]] static caf::error validate(std::size_t n_features, std::size_t n_classes,
                                           const hoeffding_tree_config& cfg) {
    auto bad = [](const char* what) {
      return make_error(errc::invalid_argument, std::string{"hoeffding_tree: "} + what);
    };
    if (n_features < 1 || n_features > 0x7fffffff)
      return bad("n_features must lie in [1, 2^31)");
    if (n_classes < 2 || n_classes > 0x7fffffff)
      return bad("n_classes must lie in [2, 2^31)");
    if (!(cfg.grace_period >= 1) || !std::isfinite(cfg.grace_period))
      return bad("grace_period must be finite and >= 1");
    if (!(cfg.split_confidence > 0 && cfg.split_confidence < 1))
      return bad("split_confidence must lie in (0, 1)");
    if (!(cfg.tie_threshold >= 0) || !std::isfinite(cfg.tie_threshold))
      return bad("tie_threshold must be finite and >= 0");
    if (cfg.split_points < 1)
      return bad("split_points must be at least 1");
    if (static_cast<std::uint8_t>(cfg.prediction) > 2)
      return bad("prediction must be majority_class, naive_bayes or naive_bayes_adaptive");
    return caf::error{};
  }

  // -- learning ---------------------------------------------------------------------------------

  /// Learns record `x` of class `y` with `weight`; on bad input returns why and changes nothing.
  caf::error learn(const vector& x, int y, double weight = 1.0) {
    constexpr const char* where = "hoeffding_tree::learn";
    if (n_features_ == 0)
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
    constexpr const char* where = "hoeffding_tree::learn_batch";
    if (n_features_ == 0)
      return not_made_error(where);
    return learn_bounded_rows(
        X, y, n_features_, n_classes_, where,
        [this](const vector& row, int label) { learn_unchecked(row, label, 1.0); });
  }

  /// Learns a record that passed `check_bounded_record` (the ensembles check once and call this).
  void learn_unchecked(const vector& x, int y, double weight) {
    const auto at = find_node(x);
    auto& l = leaves_[nodes_[at].leaf];
    l.add(x, y, weight, cfg_.prediction == leaf_prediction::naive_bayes_adaptive);
    const double seen = l.seen();
    if (seen - l.weight_at_last_attempt >= cfg_.grace_period) {
      l.weight_at_last_attempt = seen;
      attempt_split(at);
    }
  }

  /// Forgets everything learned (keeps the configuration and the random engine's position).
  void reset() {
    if (n_features_ == 0)
      return;
    nodes_.assign(1, node{});
    leaves_.clear();
    nodes_[0].leaf = new_leaf(std::vector<double>(n_classes_, 0.0), 0);
  }

  // -- prediction -------------------------------------------------------------------------------

  /// The class probabilities of `x`; empty when `x` has the wrong size or the tree is empty.
  [[nodiscard]] vector predict_proba(const vector& x) const {
    if (n_features_ == 0 || static_cast<std::size_t>(x.size()) != n_features_)
      return vector{};
    vector p(static_cast<Eigen::Index>(n_classes_));
    predict_proba(x, p.data());
    return p;
  }

  /// Writes the class probabilities of `x` (right size, tree not empty) into `p` (n_classes()
  /// of them); allocates nothing. The ensembles score their trees through this.
  void predict_proba(const vector& x, double* p) const {
    const auto& l = leaves_[nodes_[find_node(x)].leaf];
    const bool use_nb =
        cfg_.prediction == leaf_prediction::naive_bayes ||
        (cfg_.prediction == leaf_prediction::naive_bayes_adaptive && l.nb_correct >= l.mc_correct);
    if (use_nb) {
      l.naive_bayes_scores(x, p);
      const double top = p[arg_max_of(p, n_classes_)];
      for (std::size_t c = 0; c < n_classes_; ++c)
        p[c] = std::isfinite(p[c]) ? std::exp(p[c] - top) : 0.0;
    } else {
      for (std::size_t c = 0; c < n_classes_; ++c)
        p[c] = l.class_weights[c];
    }
    double sum = 0;
    for (std::size_t c = 0; c < n_classes_; ++c)
      sum += p[c];
    for (std::size_t c = 0; c < n_classes_; ++c)
      p[c] = sum > 0 ? p[c] / sum : 1.0 / static_cast<double>(n_classes_);
  }

  /// The most probable class of `x`, or -1 when `x` has the wrong size or the tree is empty.
  /// Allocates nothing.
  [[nodiscard]] int predict(const vector& x) const {
    if (n_features_ == 0 || static_cast<std::size_t>(x.size()) != n_features_)
      return -1;
    scratch_scores p{n_classes_};
    predict_proba(x, p.data());
    return arg_max_of(p.data(), n_classes_);
  }

  // -- properties -------------------------------------------------------------------------------

  /// Features per record (0 for an empty tree).
  [[nodiscard]] std::size_t n_features() const noexcept { return n_features_; }

  /// Number of classes.
  [[nodiscard]] std::size_t n_classes() const noexcept { return n_classes_; }

  /// Nodes in the tree, leaves included.
  [[nodiscard]] std::size_t n_nodes() const noexcept { return nodes_.size(); }

  /// Leaves in the tree.
  [[nodiscard]] std::size_t n_leaves() const noexcept { return leaves_.size(); }

  /// The depth of the deepest leaf (0 for a lone root).
  [[nodiscard]] std::size_t depth() const noexcept {
    std::size_t d = 0;
    for (const auto& l : leaves_)
      d = std::max<std::size_t>(d, l.depth);
    return d;
  }

  /// Bytes held by the tree, found by walking every node and leaf (capacity, not size).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    std::size_t bytes = sizeof(*this) + nodes_.capacity() * sizeof(node) +
                        leaves_.capacity() * sizeof(hoeffding_leaf);
    for (const auto& l : leaves_)
      bytes += l.heap_bytes();
    return bytes;
  }

  /// The configuration.
  [[nodiscard]] const hoeffding_tree_config& config() const noexcept { return cfg_; }

  /// Saves or loads the whole state (configuration, nodes, leaf statistics, engine). A loaded
  /// state that breaks an invariant (an index out of range, sizes that disagree) throws, which
  /// `from_binary` and `load_model` report as errc::corrupt_file.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& n_features_& n_classes_& nodes_& leaves_& rng_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// A node: a split `x[feature] <= threshold ? left : right`, or a leaf (feature < 0).
  struct node {
    /// The feature split on; -1 for a leaf.
    std::int32_t feature = -1;
    /// The threshold of the split.
    double threshold = 0;
    /// The children's node indices (always greater than this node's index).
    std::uint32_t left = 0, right = 0;
    /// The leaf's index in leaves_ (leaves only).
    std::uint32_t leaf = 0;

    /// Saves or loads the node with a Boost archive.
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& feature& threshold& left& right& leaf;
    }
  };

  /// Refuses a loaded state that would index out of bounds or loop.
  void check_loaded() const {
    if (n_features_ == 0) {
      if (!nodes_.empty() || !leaves_.empty())
        throw_corrupt_archive("hoeffding_tree: nodes in a tree of no features");
      return;
    }
    if (auto err = validate(n_features_, n_classes_, cfg_))
      throw_corrupt_archive("hoeffding_tree: settings out of range");
    if (nodes_.empty())
      throw_corrupt_archive("hoeffding_tree: no root");
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto& n = nodes_[i];
      const bool bad = n.feature >= 0
                           ? static_cast<std::size_t>(n.feature) >= n_features_ || n.left <= i ||
                                 n.right <= i || n.left >= nodes_.size() || n.right >= nodes_.size()
                           : n.leaf >= leaves_.size();
      if (bad)
        throw_corrupt_archive("hoeffding_tree: node " + std::to_string(i) + " is out of range");
    }
    for (const auto& l : leaves_) {
      bool bad = l.class_weights.size() != n_classes_ ||
                 l.estimators.size() != l.features.size() * n_classes_;
      for (auto f : l.features)
        bad = bad || f >= n_features_;
      if (bad)
        throw_corrupt_archive("hoeffding_tree: a leaf's statistics do not match its shape");
    }
  }

  std::uint32_t new_leaf(std::vector<double> class_weights, std::uint32_t depth) {
    const bool subset = cfg_.max_features > 0 && cfg_.max_features < n_features_;
    std::vector<std::uint32_t> features;
    if (subset) {
      for (auto f : sample_indices(rng_, n_features_, cfg_.max_features))
        features.push_back(static_cast<std::uint32_t>(f));
    } else {
      for (std::size_t f = 0; f < n_features_; ++f)
        features.push_back(static_cast<std::uint32_t>(f));
    }
    leaves_.push_back(
        hoeffding_leaf::with_features(std::move(features), std::move(class_weights), depth));
    return static_cast<std::uint32_t>(leaves_.size() - 1);
  }

  std::size_t find_node(const vector& x) const {
    std::size_t at = 0;
    while (nodes_[at].feature >= 0)
      at = x[nodes_[at].feature] <= nodes_[at].threshold ? nodes_[at].left : nodes_[at].right;
    return at;
  }

  void attempt_split(std::size_t at) {
    const std::uint32_t leaf_index = nodes_[at].leaf;
    const hoeffding_leaf& l = leaves_[leaf_index];
    if (cfg_.max_depth > 0 && l.depth >= cfg_.max_depth)
      return;
    std::size_t non_zero = 0;
    for (double w : l.class_weights)
      non_zero += w > 0;
    if (non_zero < 2)
      return;
    auto [best, second] = best_two_splits(l, cfg_.split_points);
    if (best.feature < 0 || best.merit <= 0)
      return;
    const double range = std::log2(static_cast<double>(n_classes_));
    const double n = l.seen();
    const double eps = std::sqrt(range * range * std::log(1 / cfg_.split_confidence) / (2 * n));
    if (!(best.merit - second.merit > eps || eps < cfg_.tie_threshold))
      return;
    const std::uint32_t depth = l.depth + 1;
    // The split leaf's slot becomes the left child; the right child is appended.
    leaves_[leaf_index] = hoeffding_leaf{};
    auto fresh = new_leaf(std::move(best.left), depth);
    leaves_[leaf_index] = std::move(leaves_[fresh]);
    leaves_.pop_back();
    const auto right_leaf = new_leaf(std::move(best.right), depth);
    nodes_.push_back(node{-1, 0, 0, 0, leaf_index});
    nodes_.push_back(node{-1, 0, 0, 0, right_leaf});
    auto& split = nodes_[at];
    split.feature = best.feature;
    split.threshold = best.threshold;
    split.left = static_cast<std::uint32_t>(nodes_.size() - 2);
    split.right = static_cast<std::uint32_t>(nodes_.size() - 1);
  }

  // -- member variables -------------------------------------------------------------------------

  /// The configuration.
  hoeffding_tree_config cfg_;
  /// Features per record; 0 for an empty tree.
  std::size_t n_features_ = 0;
  /// Number of classes.
  std::size_t n_classes_ = 2;
  /// The nodes; nodes_[0] is the root.
  std::vector<node> nodes_;
  /// The leaves' statistics, indexed by node::leaf.
  std::vector<hoeffding_leaf> leaves_;
  /// Draws the feature subsets of new leaves.
  std::mt19937_64 rng_{1};
};

} // namespace eddy::ml
