// A random forest trained in one batch (Breiman 2001): CART trees on bootstrap samples, each
// split choosing among a random subset of the features; the forest averages the trees' class
// proportions, as scikit-learn's RandomForestClassifier. Labels are 0 .. k - 1 with
// k <= max_batch_classes (input_limits.hpp).
//
//   auto forest = eddy::ml::random_forest::make();   // 100 trees, sqrt(d) features per split
//   if (auto err = forest->fit(X, y)) return err;
//   int label = forest->predict(x);
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/random_draws.hpp>
#include <eddy/ml/tree/decision_tree.hpp>
#include <eddy/ml/tree/tree_stats.hpp>

#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <vector>

namespace eddy::ml {

/// Configuration of a `random_forest`.
struct random_forest_config {
  /// Trees in the forest. Default: 100.
  std::size_t n_trees = 100;
  /// Features tried per split; 0 means floor(sqrt(d)) (scikit-learn's "sqrt"). Default: 0.
  std::size_t max_features = 0;
  /// Whether each tree learns a bootstrap sample (else all rows). Default: true.
  bool bootstrap = true;
  /// Depth limit of the trees; 0 means unlimited. Default: 0.
  std::size_t max_depth = 0;
  /// Records a node needs to be split. Default: 2.
  std::size_t min_samples_split = 2;
  /// Records each child of a split must keep. Default: 1.
  std::size_t min_samples_leaf = 1;
  /// Seed of the bootstrap samples and feature draws. Default: 1.
  std::uint64_t seed = 1;

  /// Saves or loads every setting with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& n_trees& max_features;
    serialize_flag(ar, bootstrap, "random_forest: bootstrap");
    ar& max_depth& min_samples_split& min_samples_leaf& seed;
  }
};

/// A batch-trained random forest classifier; `fit` replaces the model. Const methods are safe
/// to call from several threads.
class random_forest {
public:
  /// Names this type in model files (model_file.hpp).
  static constexpr const char* model_kind = "eddy.ml.random_forest";

  // -- constructors -----------------------------------------------------------------------------

  /// An unfitted forest with the default configuration (`fit` works; `predict` gives -1 until
  /// then).
  random_forest() = default;

  /// Makes an unfitted forest, or says which setting is out of range.
  [[nodiscard]] static caf::expected<random_forest> make(random_forest_config cfg = {}) {
    if (auto err = validate(cfg))
      return err;
    random_forest result;
    result.cfg_ = cfg;
    return result;
  }

  /// The error `make` returns for `cfg`, or none.
  [[nodiscard]] static caf::error validate(const random_forest_config& cfg) {
    if (cfg.n_trees < 1 || cfg.n_trees > 1'000'000)
      return make_error(errc::invalid_argument, "random_forest: n_trees must lie in [1, 1000000]");
    decision_tree_config t;
    t.min_samples_split = cfg.min_samples_split;
    t.min_samples_leaf = cfg.min_samples_leaf;
    return decision_tree::validate(t);
  }

  // -- training ---------------------------------------------------------------------------------

  /// Fits the forest to the rows of `X` and labels `y` (0 .. max(y)); on bad input, or when
  /// memory runs out, returns why and keeps the previous model.
  caf::error fit(const matrix& X, const labels& y) {
    constexpr const char* where = "random_forest::fit";
    std::size_t n_classes = 0;
    if (auto err = decision_tree::check_fit_batch(X, y, where, n_classes))
      return err;
    try {
      fit_checked(X, y, n_classes);
    } catch (const std::exception& ex) { // bad_alloc, length_error
      return make_error(errc::invalid_argument,
                        std::string{where} + ": cannot build the forest: " + ex.what());
    }
    return caf::error{};
  }

  // -- prediction -------------------------------------------------------------------------------

  /// The mean of the trees' class proportions for `x`; empty when unfitted or `x` has the
  /// wrong size.
  [[nodiscard]] vector predict_proba(const vector& x) const {
    if (trees_.empty() || static_cast<std::size_t>(x.size()) != n_features_)
      return vector{};
    vector sum = vector::Zero(static_cast<Eigen::Index>(n_classes_));
    for (const auto& tree : trees_)
      tree.add_proba(x, sum);
    return sum / static_cast<double>(trees_.size());
  }

  /// The most probable class of `x`, or -1 when unfitted or `x` has the wrong size.
  [[nodiscard]] int predict(const vector& x) const {
    auto p = predict_proba(x);
    return p.size() == 0 ? -1 : arg_max(p);
  }

  // -- properties -------------------------------------------------------------------------------

  /// The trees (empty before `fit`).
  [[nodiscard]] const std::vector<decision_tree>& trees() const noexcept { return trees_; }

  /// Number of classes seen by `fit`.
  [[nodiscard]] std::size_t n_classes() const noexcept { return n_classes_; }

  /// Bytes held by the forest, walking every tree.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    std::size_t bytes = sizeof(*this) + (trees_.capacity() - trees_.size()) * sizeof(decision_tree);
    for (const auto& tree : trees_)
      bytes += tree.memory_bytes();
    return bytes;
  }

  /// Saves or loads the whole model. A loaded model whose trees do not match it throws
  /// (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& n_features_& n_classes_& trees_;
    if constexpr (Archive::is_loading::value) {
      bool bad =
          static_cast<bool>(validate(cfg_)) || (!trees_.empty() && trees_.size() != cfg_.n_trees);
      for (const auto& tree : trees_)
        bad = bad || tree.n_nodes() == 0 || tree.n_features() != n_features_ ||
              tree.n_classes() != n_classes_;
      if (bad)
        throw_corrupt_archive("random_forest: the trees do not match the forest");
    }
  }

private:
  /// Fits on a batch that passed `check_fit_batch`; may throw std::bad_alloc.
  void fit_checked(const matrix& X, const labels& y, std::size_t n_classes) {
    const auto d = static_cast<std::size_t>(X.cols());
    decision_tree_config t;
    t.max_depth = cfg_.max_depth;
    t.min_samples_split = cfg_.min_samples_split;
    t.min_samples_leaf = cfg_.min_samples_leaf;
    t.max_features =
        cfg_.max_features > 0
            ? cfg_.max_features
            : std::max<std::size_t>(1, static_cast<std::size_t>(std::sqrt(static_cast<double>(d))));
    std::mt19937_64 rng{cfg_.seed};
    const auto n = static_cast<std::size_t>(X.rows());
    std::vector<decision_tree> trees(cfg_.n_trees, *decision_tree::make(t));
    for (auto& tree : trees) {
      std::vector<std::uint32_t> rows(n);
      for (std::size_t i = 0; i < n; ++i)
        rows[i] = static_cast<std::uint32_t>(cfg_.bootstrap ? uniform_index(rng, n) : i);
      tree.fit_rows(X, y, std::move(rows), n_classes, rng);
    }
    trees_ = std::move(trees);
    n_features_ = d;
    n_classes_ = n_classes;
  }

  // -- member variables -------------------------------------------------------------------------

  /// The configuration.
  random_forest_config cfg_;
  /// Features per record, and classes, as seen by `fit`.
  std::size_t n_features_ = 0, n_classes_ = 0;
  /// The trees.
  std::vector<decision_tree> trees_;
};

} // namespace eddy::ml
