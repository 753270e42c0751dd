// A CART decision tree trained in one batch on a bounded data set (Gini impurity, binary splits
// on numeric features at midpoints between sorted values), as scikit-learn's
// DecisionTreeClassifier. `random_forest` grows these on bootstrap samples. Labels are
// 0 .. k - 1 with k <= max_batch_classes (input_limits.hpp).
//
//   auto tree = eddy::ml::decision_tree::make();   // unlimited depth, all features per split
//   if (auto err = tree->fit(X, y)) return err;      // X: one record per row, y: 0 .. k - 1
//   int label = tree->predict(x);
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>
#include <eddy/ml/random_draws.hpp>
#include <eddy/ml/tree/tree_stats.hpp>

#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// Configuration of a `decision_tree`.
struct decision_tree_config {
  /// Deepest level a node may be split at (the root is level 0); 0 means unlimited. Default: 0.
  std::size_t max_depth = 0;
  /// Records a node needs to be split. Default: 2.
  std::size_t min_samples_split = 2;
  /// Records each child of a split must keep. Default: 1.
  std::size_t min_samples_leaf = 1;
  /// Features tried per split, drawn at random; 0 means all. Default: 0.
  std::size_t max_features = 0;
  /// Seed of the feature draws. Default: 1.
  std::uint64_t seed = 1;

  /// Saves or loads every setting with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& max_depth& min_samples_split& min_samples_leaf& max_features& seed;
  }
};

/// A batch-trained CART classification tree; `fit` replaces the model. Const methods are safe
/// to call from several threads.
class decision_tree {
public:
  /// Names this type in model files (model_file.hpp).
  static constexpr const char* model_kind = "eddy.ml.decision_tree";

  // -- constructors -----------------------------------------------------------------------------

  /// An unfitted tree with the default configuration (`fit` works; `predict` gives -1 until
  /// then).
  decision_tree() = default;

  /// Makes an unfitted tree, or says which setting is out of range.
  [[nodiscard]] static caf::expected<decision_tree> make(decision_tree_config cfg = {}) {
    if (auto err = validate(cfg))
      return err;
    decision_tree result;
    result.cfg_ = cfg;
    return result;
  }

  /// The error `make` returns for `cfg`, or none.
  [[nodiscard]] static caf::error validate(const decision_tree_config& cfg) {
    if (cfg.min_samples_split < 2)
      return make_error(errc::invalid_argument, "decision_tree: min_samples_split must be >= 2");
    if (cfg.min_samples_leaf < 1)
      return make_error(errc::invalid_argument, "decision_tree: min_samples_leaf must be >= 1");
    return caf::error{};
  }

  /// Checks a batch for `fit`: at least one row and column, fewer than 2^32 rows, one label per
  /// row in [0, max_batch_classes), every value finite. Returns the number of classes
  /// (max(y) + 1) through `n_classes`.
  [[nodiscard]] static caf::error check_fit_batch(const matrix& X, const labels& y,
                                                  const char* where, std::size_t& n_classes) {
    if (y.size() == 0 || X.cols() == 0)
      return make_error(errc::invalid_argument, std::string{where} + ": no records or no features");
    if (X.rows() >= (Eigen::Index{1} << 32))
      return make_error(errc::invalid_argument, std::string{where} + ": 2^32 rows or more");
    if (auto err = check_batch(X, y, X.cols(), where))
      return err;
    if (auto err = check_batch_labels(y, where))
      return err;
    n_classes = static_cast<std::size_t>(y.maxCoeff()) + 1;
    return caf::error{};
  }

  // -- training ---------------------------------------------------------------------------------

  /// Fits the tree to the rows of `X` and labels `y` (0 .. max(y)); on bad input, or when memory
  /// runs out, returns why and keeps the previous model.
  caf::error fit(const matrix& X, const labels& y) {
    constexpr const char* where = "decision_tree::fit";
    std::size_t n_classes = 0;
    if (auto err = check_fit_batch(X, y, where, n_classes))
      return err;
    try {
      std::vector<std::uint32_t> rows(static_cast<std::size_t>(X.rows()));
      for (std::size_t i = 0; i < rows.size(); ++i)
        rows[i] = static_cast<std::uint32_t>(i);
      std::mt19937_64 rng{cfg_.seed};
      decision_tree fitted;
      fitted.cfg_ = cfg_;
      fitted.fit_rows(X, y, std::move(rows), n_classes, rng);
      *this = std::move(fitted);
    } catch (const std::exception& ex) { // bad_alloc, length_error
      return make_error(errc::invalid_argument,
                        std::string{where} + ": cannot build the tree: " + ex.what());
    }
    return caf::error{};
  }

  /// Fits on the given rows (repeats allowed: a bootstrap sample) of a batch that passed
  /// `check_fit_batch`; may throw std::bad_alloc (`fit` turns it into an error).
  void fit_rows(const matrix& X, const labels& y, std::vector<std::uint32_t> rows,
                std::size_t n_classes, std::mt19937_64& rng) {
    n_features_ = static_cast<std::size_t>(X.cols());
    n_classes_ = n_classes;
    nodes_.clear();
    values_.clear();
    build(X, y, rows, rng);
  }

  // -- prediction -------------------------------------------------------------------------------

  /// The class proportions at the leaf of `x`; empty when unfitted or `x` has the wrong size.
  [[nodiscard]] vector predict_proba(const vector& x) const {
    if (nodes_.empty() || static_cast<std::size_t>(x.size()) != n_features_)
      return vector{};
    const auto at = leaf_of(x);
    return Eigen::Map<const vector>(values_.data() + at * n_classes_,
                                    static_cast<Eigen::Index>(n_classes_));
  }

  /// Adds the class proportions at the leaf of `x` to `sum` (no allocation; `x` must be valid).
  void add_proba(const vector& x, vector& sum) const {
    const auto at = leaf_of(x);
    for (std::size_t c = 0; c < n_classes_; ++c)
      sum[static_cast<Eigen::Index>(c)] += values_[at * n_classes_ + c];
  }

  /// The most probable class of `x`, or -1 when unfitted or `x` has the wrong size.
  [[nodiscard]] int predict(const vector& x) const {
    auto p = predict_proba(x);
    return p.size() == 0 ? -1 : arg_max(p);
  }

  // -- properties -------------------------------------------------------------------------------

  /// Nodes in the tree, leaves included (0 before `fit`).
  [[nodiscard]] std::size_t n_nodes() const noexcept { return nodes_.size(); }

  /// Number of classes seen by `fit`.
  [[nodiscard]] std::size_t n_classes() const noexcept { return n_classes_; }

  /// Features per record seen by `fit` (0 before).
  [[nodiscard]] std::size_t n_features() const noexcept { return n_features_; }

  /// Bytes held by the tree (capacity of its arrays).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return sizeof(*this) + nodes_.capacity() * sizeof(node) + values_.capacity() * sizeof(double);
  }

  /// Saves or loads the whole model. A loaded model with an index out of range or sizes that
  /// disagree throws (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& n_features_& n_classes_& nodes_& values_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// A split `x[feature] <= threshold ? left : right`, or a leaf when feature < 0.
  struct node {
    /// The feature split on; -1 for a leaf.
    std::int32_t feature = -1;
    /// The threshold of the split.
    double threshold = 0;
    /// The children's node indices (always greater than this node's index).
    std::uint32_t left = 0, right = 0;

    /// Saves or loads the node with a Boost archive.
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& feature& threshold& left& right;
    }
  };

  /// A node waiting to be built.
  struct pending {
    /// Its index in nodes_.
    std::size_t index;
    /// Its rows are rows[begin, end) of the work array.
    std::size_t begin, end;
    /// Its depth (the root is 0).
    std::size_t depth;
  };

  /// Refuses a loaded model that would index out of bounds or loop.
  void check_loaded() const {
    bool bad = static_cast<bool>(validate(cfg_)) || values_.size() != nodes_.size() * n_classes_ ||
               n_classes_ > static_cast<std::size_t>(max_batch_classes) ||
               (!nodes_.empty() && (n_features_ == 0 || n_classes_ == 0));
    for (std::size_t i = 0; i < nodes_.size() && !bad; ++i) {
      const auto& n = nodes_[i];
      bad = n.feature >= 0 && (static_cast<std::size_t>(n.feature) >= n_features_ || n.left <= i ||
                               n.right <= i || n.left >= nodes_.size() || n.right >= nodes_.size());
    }
    if (bad)
      throw_corrupt_archive("decision_tree: a node or the class proportions are out of range");
  }

  std::size_t leaf_of(const vector& x) const {
    std::size_t at = 0;
    while (nodes_[at].feature >= 0)
      at = x[nodes_[at].feature] <= nodes_[at].threshold ? nodes_[at].left : nodes_[at].right;
    return at;
  }

  std::size_t add_node() {
    nodes_.emplace_back();
    values_.resize(values_.size() + n_classes_, 0.0);
    return nodes_.size() - 1;
  }

  void build(const matrix& X, const labels& y, std::vector<std::uint32_t>& rows,
             std::mt19937_64& rng) {
    std::vector<pending> todo{{add_node(), 0, rows.size(), 0}};
    std::vector<std::pair<double, int>> column;
    std::vector<double> counts(n_classes_), left(n_classes_);
    std::vector<std::size_t> features(n_features_);
    const std::size_t try_features =
        cfg_.max_features > 0 && cfg_.max_features < n_features_ ? cfg_.max_features : n_features_;
    while (!todo.empty()) {
      const pending p = todo.back();
      todo.pop_back();
      std::fill(counts.begin(), counts.end(), 0.0);
      for (std::size_t i = p.begin; i < p.end; ++i)
        counts[static_cast<std::size_t>(y[rows[i]])] += 1;
      const double n = static_cast<double>(p.end - p.begin);
      for (std::size_t c = 0; c < n_classes_; ++c)
        values_[p.index * n_classes_ + c] = counts[c] / n;
      const double impurity = gini(counts.data(), n_classes_, n);
      if (impurity <= 0 || p.end - p.begin < cfg_.min_samples_split ||
          (cfg_.max_depth > 0 && p.depth >= cfg_.max_depth))
        continue;
      // Features in random order; stop after `try_features` that are not constant here.
      for (std::size_t f = 0; f < n_features_; ++f)
        features[f] = f;
      double best_gain = 0, best_threshold = 0;
      int best_feature = -1;
      std::size_t tried = 0;
      for (std::size_t k = 0; k < n_features_ && tried < try_features; ++k) {
        std::swap(features[k], features[k + uniform_index(rng, n_features_ - k)]);
        const auto f = static_cast<Eigen::Index>(features[k]);
        column.clear();
        for (std::size_t i = p.begin; i < p.end; ++i)
          column.emplace_back(X(rows[i], f), y[rows[i]]);
        std::sort(column.begin(), column.end());
        if (column.front().first == column.back().first)
          continue; // constant: does not count as tried
        ++tried;
        std::fill(left.begin(), left.end(), 0.0);
        for (std::size_t i = 0; i + 1 < column.size(); ++i) {
          left[static_cast<std::size_t>(column[i].second)] += 1;
          if (column[i].first == column[i + 1].first)
            continue;
          const double nl = static_cast<double>(i + 1), nr = n - nl;
          if (nl < static_cast<double>(cfg_.min_samples_leaf) ||
              nr < static_cast<double>(cfg_.min_samples_leaf))
            continue;
          double sq_l = 0, sq_r = 0;
          for (std::size_t c = 0; c < n_classes_; ++c) {
            sq_l += left[c] * left[c];
            sq_r += (counts[c] - left[c]) * (counts[c] - left[c]);
          }
          // impurity - (nl / n) gini_l - (nr / n) gini_r, with gini = 1 - sum sq / size^2
          const double gain = impurity - 1 + (sq_l / nl + sq_r / nr) / n;
          if (gain > best_gain + 1e-12) {
            best_gain = gain;
            best_feature = static_cast<int>(f);
            best_threshold = (column[i].first + column[i + 1].first) / 2;
            if (best_threshold == column[i + 1].first)
              best_threshold = column[i].first;
          }
        }
      }
      if (best_feature < 0)
        continue;
      const auto mid =
          std::partition(rows.begin() + static_cast<std::ptrdiff_t>(p.begin),
                         rows.begin() + static_cast<std::ptrdiff_t>(p.end),
                         [&](std::uint32_t r) { return X(r, best_feature) <= best_threshold; }) -
          rows.begin();
      const auto l = add_node(), r = add_node();
      nodes_[p.index] = node{best_feature, best_threshold, static_cast<std::uint32_t>(l),
                             static_cast<std::uint32_t>(r)};
      todo.push_back({r, static_cast<std::size_t>(mid), p.end, p.depth + 1});
      todo.push_back({l, p.begin, static_cast<std::size_t>(mid), p.depth + 1});
    }
  }

  // -- member variables -------------------------------------------------------------------------

  /// The configuration.
  decision_tree_config cfg_;
  /// Features per record, and classes, as seen by `fit`.
  std::size_t n_features_ = 0, n_classes_ = 0;
  /// The nodes; nodes_[0] is the root.
  std::vector<node> nodes_;
  /// Class proportions of every node, n_classes_ per node.
  std::vector<double> values_;
};

} // namespace eddy::ml
