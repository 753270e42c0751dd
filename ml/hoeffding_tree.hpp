// The Hoeffding tree (VFDT, Domingos and Hulten 2000): an incremental decision tree that splits a
// leaf once the Hoeffding bound says its best split beats the runner-up with high confidence.
//
// Numeric features are summarised per leaf by one Gaussian per feature and class (MOA's
// GaussianNumericAttributeClassObserver); candidate thresholds are evenly spaced between the
// smallest and largest value seen, and the split criterion is information gain. Leaves predict
// the majority class, naive Bayes, or whichever of the two has been right more often there
// (naive Bayes adaptive, MOA's default).
//
//   auto tree = eddy::ml::hoeffding_tree::make(3, 2);   // 3 features, classes 0 and 1
//   if (!tree) return tree.error();
//   if (auto err = tree->learn(x, y)) std::cerr << eddy::describe(err) << '\n';
//   int label = tree->predict(x);
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/internal/tree_input.hpp>
#include <eddy/ml/internal/tree_random.hpp>
#include <eddy/ml/internal/tree_stats.hpp>

#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
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

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& grace_period& split_confidence& tie_threshold& prediction& max_features& max_depth;
    ar& split_points& seed;
  }
};

/// A Hoeffding tree classifier for numeric features; not thread-safe.
class hoeffding_tree {
public:
  static constexpr const char* model_kind = "eddy.ml.hoeffding_tree";

  // -- constructors -----------------------------------------------------------------------------

  /// An empty tree of no features (assign one from `make` or load one).
  hoeffding_tree() = default;

  /// Makes a tree for `n_features` features and classes 0 .. n_classes - 1, or says which
  /// setting is out of range.
  [[nodiscard]] static caf::expected<hoeffding_tree>
  make(std::size_t n_features, std::size_t n_classes, hoeffding_tree_config cfg = {}) {
    auto bad = [](std::string what) {
      return make_error(errc::invalid_argument, "hoeffding_tree: " + std::move(what));
    };
    if (n_features < 1)
      return bad("n_features must be at least 1");
    if (n_classes < 2)
      return bad("n_classes must be at least 2");
    if (!(cfg.grace_period >= 1) || !std::isfinite(cfg.grace_period))
      return bad("grace_period must be finite and >= 1");
    if (!(cfg.split_confidence > 0 && cfg.split_confidence < 1))
      return bad("split_confidence must lie in (0, 1)");
    if (!(cfg.tie_threshold >= 0) || !std::isfinite(cfg.tie_threshold))
      return bad("tie_threshold must be finite and >= 0");
    if (cfg.split_points < 1)
      return bad("split_points must be at least 1");
    hoeffding_tree result;
    result.cfg_ = cfg;
    result.n_features_ = n_features;
    result.n_classes_ = n_classes;
    result.rng_.seed(cfg.seed);
    result.reset();
    return result;
  }

  // -- learning ---------------------------------------------------------------------------------

  /// Learns record `x` of class `y` with `weight`; on bad input returns why and changes nothing.
  caf::error learn(const vector& x, int y, double weight = 1.0) {
    if (auto err = internal::check_features("hoeffding_tree::learn", x, n_features_))
      return err;
    if (auto err = internal::check_label("hoeffding_tree::learn", y, n_classes_))
      return err;
    if (auto err = internal::check_weight("hoeffding_tree::learn", weight))
      return err;
    if (weight > 0)
      learn_unchecked(x, y, weight);
    return {};
  }

  /// Learns every row of `X` in order; checks the whole batch first.
  caf::error learn_batch(const matrix& X, const labels& y) {
    if (auto err =
            internal::check_batch("hoeffding_tree::learn_batch", X, y, n_features_, n_classes_))
      return err;
    for (Eigen::Index r = 0; r < X.rows(); ++r)
      learn_unchecked(X.row(r).transpose(), y[r], 1.0);
    return {};
  }

  /// Learns a record known to be valid (the ensembles check once and call this).
  void learn_unchecked(const vector& x, int y, double weight) {
    const auto at = find_node(x);
    auto& l = leaves_[nodes_[at].leaf];
    if (cfg_.prediction == leaf_prediction::naive_bayes_adaptive) {
      if (internal::arg_max(l.class_weights) == y)
        l.mc_correct += weight;
      if (internal::arg_max(naive_bayes_scores(l, x)) == y)
        l.nb_correct += weight;
    }
    l.class_weights[y] += weight;
    for (std::size_t k = 0; k < l.features.size(); ++k)
      l.estimators[k * n_classes_ + y].add(x[l.features[k]], weight);
    const double seen = total(l.class_weights);
    if (seen - l.weight_at_last_attempt >= cfg_.grace_period) {
      l.weight_at_last_attempt = seen;
      attempt_split(at);
    }
  }

  /// Forgets everything learned (keeps the configuration and the random engine's position).
  void reset() {
    nodes_.assign(1, node{});
    leaves_.clear();
    nodes_[0].leaf = new_leaf(std::vector<double>(n_classes_, 0.0), 0);
  }

  // -- prediction -------------------------------------------------------------------------------

  /// The class probabilities of `x`; empty when `x` has the wrong size.
  [[nodiscard]] vector predict_proba(const vector& x) const {
    if (static_cast<std::size_t>(x.size()) != n_features_ || nodes_.empty())
      return vector{};
    const auto& l = leaves_[nodes_[find_node(x)].leaf];
    const bool use_nb =
        cfg_.prediction == leaf_prediction::naive_bayes ||
        (cfg_.prediction == leaf_prediction::naive_bayes_adaptive && l.nb_correct >= l.mc_correct);
    vector p(static_cast<Eigen::Index>(n_classes_));
    if (use_nb) {
      auto scores = naive_bayes_scores(l, x);
      const double top = scores[internal::arg_max(scores)];
      for (std::size_t c = 0; c < n_classes_; ++c)
        p[c] = std::isfinite(scores[c]) ? std::exp(scores[c] - top) : 0.0;
    } else {
      for (std::size_t c = 0; c < n_classes_; ++c)
        p[c] = l.class_weights[c];
    }
    const double sum = p.sum();
    return sum > 0 ? vector(p / sum) : vector(vector::Constant(p.size(), 1.0 / p.size()));
  }

  /// The most probable class of `x`, or -1 when `x` has the wrong size.
  [[nodiscard]] int predict(const vector& x) const {
    auto p = predict_proba(x);
    return p.size() == 0 ? -1 : internal::arg_max(p);
  }

  // -- properties -------------------------------------------------------------------------------

  /// Features per record.
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
    std::size_t bytes =
        sizeof(*this) + nodes_.capacity() * sizeof(node) + leaves_.capacity() * sizeof(leaf);
    for (const auto& l : leaves_)
      bytes += l.class_weights.capacity() * sizeof(double) +
               l.features.capacity() * sizeof(std::uint32_t) +
               l.estimators.capacity() * sizeof(internal::gaussian_estimator);
    return bytes;
  }

  /// The configuration.
  [[nodiscard]] const hoeffding_tree_config& config() const noexcept { return cfg_; }

  /// Saves or loads the whole state (configuration, nodes, leaf statistics, engine).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& n_features_& n_classes_& nodes_& leaves_;
    internal::serialize_rng(ar, rng_);
  }

private:
  /// A node: a split `x[feature] <= threshold ? left : right`, or a leaf (feature < 0).
  struct node {
    std::int32_t feature = -1;
    double threshold = 0;
    std::uint32_t left = 0, right = 0, leaf = 0;

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& feature& threshold& left& right& leaf;
    }
  };

  /// What a leaf knows: class weights and one Gaussian per watched feature and class.
  struct leaf {
    std::vector<double> class_weights;
    std::vector<std::uint32_t> features;
    std::vector<internal::gaussian_estimator> estimators; // [k * n_classes + class]
    double weight_at_last_attempt = 0;
    double mc_correct = 0, nb_correct = 0;
    std::uint32_t depth = 0;

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& class_weights& features& estimators& weight_at_last_attempt& mc_correct& nb_correct;
      ar& depth;
    }
  };

  /// A candidate split and its merit.
  struct candidate {
    double merit = 0;
    std::int32_t feature = -1;
    double threshold = 0;
    std::vector<double> left, right;
  };

  static double total(const std::vector<double>& w) {
    double s = 0;
    for (double v : w)
      s += v;
    return s;
  }

  std::uint32_t new_leaf(std::vector<double> class_weights, std::uint32_t depth) {
    leaf l;
    l.weight_at_last_attempt = total(class_weights);
    l.class_weights = std::move(class_weights);
    l.depth = depth;
    const bool subset = cfg_.max_features > 0 && cfg_.max_features < n_features_;
    const auto picked = subset ? internal::sample_indices(rng_, n_features_, cfg_.max_features)
                               : std::vector<std::size_t>{};
    for (std::size_t k = 0; k < (subset ? picked.size() : n_features_); ++k)
      l.features.push_back(static_cast<std::uint32_t>(subset ? picked[k] : k));
    l.estimators.resize(l.features.size() * n_classes_);
    leaves_.push_back(std::move(l));
    return static_cast<std::uint32_t>(leaves_.size() - 1);
  }

  std::size_t find_node(const vector& x) const {
    std::size_t at = 0;
    while (nodes_[at].feature >= 0)
      at = x[nodes_[at].feature] <= nodes_[at].threshold ? nodes_[at].left : nodes_[at].right;
    return at;
  }

  std::vector<double> naive_bayes_scores(const leaf& l, const vector& x) const {
    const double sum = total(l.class_weights);
    std::vector<double> scores(n_classes_, -std::numeric_limits<double>::infinity());
    for (std::size_t c = 0; sum > 0 && c < n_classes_; ++c) {
      if (l.class_weights[c] <= 0)
        continue;
      scores[c] = std::log(l.class_weights[c] / sum);
      for (std::size_t k = 0; k < l.features.size(); ++k) {
        const auto& g = l.estimators[k * n_classes_ + c];
        if (g.weight > 0)
          scores[c] += g.log_density(x[l.features[k]]);
      }
    }
    return scores;
  }

  /// The best threshold on watched feature `k` of leaf `l` by information gain.
  candidate best_split_on(const leaf& l, std::size_t k, double parent_entropy) const {
    candidate best;
    best.merit = -std::numeric_limits<double>::infinity();
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t c = 0; c < n_classes_; ++c) {
      lo = std::min(lo, l.estimators[k * n_classes_ + c].min);
      hi = std::max(hi, l.estimators[k * n_classes_ + c].max);
    }
    if (!(lo < hi))
      return best;
    const double step = (hi - lo) / static_cast<double>(cfg_.split_points + 1);
    std::vector<double> left(n_classes_), right(n_classes_);
    for (std::size_t i = 0; i < cfg_.split_points; ++i) {
      const double t = lo + step * static_cast<double>(i + 1);
      for (std::size_t c = 0; c < n_classes_; ++c) {
        const auto& g = l.estimators[k * n_classes_ + c];
        left[c] = g.weight_at_most(t);
        right[c] = g.weight - left[c];
      }
      const double wl = total(left), wr = total(right), w = wl + wr;
      // As MOA: both branches must hold at least 1 % of the weight.
      if (w <= 0 || wl < 0.01 * w || wr < 0.01 * w)
        continue;
      const double merit =
          parent_entropy - (wl / w) * internal::entropy(left) - (wr / w) * internal::entropy(right);
      if (merit > best.merit)
        best = candidate{merit, static_cast<std::int32_t>(l.features[k]), t, left, right};
    }
    return best;
  }

  void attempt_split(std::size_t at) {
    const std::uint32_t leaf_index = nodes_[at].leaf;
    const leaf& l = leaves_[leaf_index];
    if (cfg_.max_depth > 0 && l.depth >= cfg_.max_depth)
      return;
    std::size_t non_zero = 0;
    for (double w : l.class_weights)
      non_zero += w > 0;
    if (non_zero < 2)
      return;
    const double parent = internal::entropy(l.class_weights);
    candidate best, second; // second starts as the null split (merit 0)
    best.merit = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < l.features.size(); ++k) {
      auto c = best_split_on(l, k, parent);
      if (c.merit > best.merit) {
        if (best.merit > second.merit)
          second = best;
        best = std::move(c);
      } else if (c.merit > second.merit) {
        second = std::move(c);
      }
    }
    if (best.feature < 0 || best.merit <= 0)
      return;
    const double range = std::log2(static_cast<double>(n_classes_));
    const double n = total(l.class_weights);
    const double eps = std::sqrt(range * range * std::log(1 / cfg_.split_confidence) / (2 * n));
    if (!(best.merit - second.merit > eps || eps < cfg_.tie_threshold))
      return;
    const std::uint32_t depth = l.depth + 1;
    // The split leaf's slot becomes the left child; the right child is appended.
    leaves_[leaf_index] = leaf{};
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
  /// Features per record.
  std::size_t n_features_ = 0;
  /// Number of classes.
  std::size_t n_classes_ = 2;
  /// The nodes; nodes_[0] is the root.
  std::vector<node> nodes_;
  /// The leaves' statistics, indexed by node::leaf.
  std::vector<leaf> leaves_;
  /// Draws the feature subsets of new leaves.
  std::mt19937_64 rng_{1};
};

} // namespace eddy::ml
