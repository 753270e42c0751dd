// Online k-means on mini-batches with a decay factor, as Flink ML's OnlineKMeans (and Spark's
// StreamingKMeans): each batch assigns its points to the nearest centroid, then every centroid
// moves to the weighted mean of its decayed history and its new points.
//
//   weight_i <- decay * weight_i;   share = n_i / (weight_i + n_i);   weight_i += n_i
//   centroid_i <- (1 - share) * centroid_i + share * mean of the batch's points in cluster i
//
// The first k records become the initial centroids (weight 1 each). decay = 1 remembers every
// point; decay = 0 keeps only the last batch. Values beyond +-max_input_magnitude
// (input_limits.hpp) are refused like NaN, so the sums and distances stay finite.
//
//   eddy::ml::online_kmeans_config cfg;
//   cfg.k = 3;
//   auto model = eddy::ml::online_kmeans::make(2, cfg);   // 2 features
//   for (auto& x : points) model->learn(x);                  // updates every batch_size points
//   int cluster = model->predict(x);
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>

#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace eddy::ml {

/// Configuration of an `online_kmeans` model.
struct online_kmeans_config {
  /// Number of clusters. Default: 2 (as Flink ML).
  std::size_t k = 2;
  /// Weight kept of the past at each batch, in [0, 1]. Default: 0 (as Flink ML).
  double decay_factor = 0;
  /// Points per mini-batch. Default: 32.
  std::size_t batch_size = 32;

  /// Saves or loads every setting with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& k& decay_factor& batch_size;
  }
};

/// Online mini-batch k-means; not thread-safe (const methods are).
class online_kmeans {
public:
  /// Names this type in model files (model_file.hpp).
  static constexpr const char* model_kind = "eddy.ml.online_kmeans";

  // -- constructors -----------------------------------------------------------------------------

  /// An empty model of no features; it refuses to learn (errc::not_fitted) until assigned from
  /// `make` or loaded.
  online_kmeans() = default;

  /// Makes a model for `n_features` features, or says which setting is out of range.
  [[nodiscard]] static caf::expected<online_kmeans> make(std::size_t n_features,
                                                         online_kmeans_config cfg = {}) {
    if (auto err = validate(n_features, cfg))
      return err;
    online_kmeans result;
    result.cfg_ = cfg;
    result.d_ = n_features;
    return result;
  }

  /// The error `make` returns for these settings, or none.
  [[nodiscard]] static caf::error validate(std::size_t n_features,
                                           const online_kmeans_config& cfg) {
    auto bad = [](const char* what) {
      return make_error(errc::invalid_argument, std::string{"online_kmeans: "} + what);
    };
    if (n_features < 1)
      return bad("n_features must be at least 1");
    if (cfg.k < 1 || cfg.k > (std::size_t{1} << 32))
      return bad("k must lie in [1, 2^32]");
    if (!(cfg.decay_factor >= 0 && cfg.decay_factor <= 1))
      return bad("decay_factor must lie in [0, 1]");
    if (cfg.batch_size < 1 || cfg.batch_size > (std::size_t{1} << 32))
      return bad("batch_size must lie in [1, 2^32]");
    return caf::error{};
  }

  // -- learning ---------------------------------------------------------------------------------

  /// Adds point `x`; the model changes when a batch is full. Bad input (a wrong size, NaN,
  /// infinite or beyond +-max_input_magnitude) changes nothing.
  caf::error learn(const vector& x) {
    constexpr const char* where = "online_kmeans::learn";
    if (d_ == 0)
      return not_made_error(where);
    if (auto err = check_features(x, static_cast<Eigen::Index>(d_), where))
      return err;
    if (auto err = check_magnitude(x, where))
      return err;
    add(x.data());
    return caf::error{};
  }

  /// Adds every row of `X` in order, as `learn` one row at a time; checks the whole batch first
  /// and learns nothing when a row is bad.
  caf::error learn_batch(const matrix& X) {
    constexpr const char* where = "online_kmeans::learn_batch";
    if (d_ == 0)
      return not_made_error(where);
    if (X.rows() > 0 && static_cast<std::size_t>(X.cols()) != d_)
      return make_error(errc::shape_mismatch, std::string{where} + ": X has " +
                                                  std::to_string(X.cols()) + " columns, expected " +
                                                  std::to_string(d_));
    if (!X.allFinite())
      return make_error(errc::bad_input,
                        std::string{where} + ": X holds a NaN or infinite value; nothing learned");
    if (auto err = check_magnitude(X, where))
      return err;
    std::vector<double> row(d_);
    for (Eigen::Index r = 0; r < X.rows(); ++r) {
      for (std::size_t f = 0; f < d_; ++f)
        row[f] = X(r, static_cast<Eigen::Index>(f));
      add(row.data());
    }
    return caf::error{};
  }

  /// Updates the centroids with the points waiting in an unfinished batch.
  void flush() {
    if (d_ == 0)
      return;
    const std::size_t n = pending_.size() / d_;
    if (n == 0 || weights_.size() < cfg_.k)
      return;
    std::vector<double> sums(cfg_.k * d_, 0.0), counts(cfg_.k, 0.0);
    for (std::size_t p = 0; p < n; ++p) {
      const auto c = nearest(pending_.data() + p * d_);
      counts[c] += 1;
      for (std::size_t f = 0; f < d_; ++f)
        sums[c * d_ + f] += pending_[p * d_ + f];
    }
    for (std::size_t c = 0; c < cfg_.k; ++c) {
      weights_[c] *= cfg_.decay_factor;
      if (counts[c] == 0)
        continue;
      const double share = counts[c] / (weights_[c] + counts[c]);
      weights_[c] += counts[c];
      for (std::size_t f = 0; f < d_; ++f)
        centroids_[c * d_ + f] += share * (sums[c * d_ + f] / counts[c] - centroids_[c * d_ + f]);
    }
    pending_.clear();
  }

  // -- prediction -------------------------------------------------------------------------------

  /// The index of the centroid nearest to `x`; -1 before k points or when `x` has the wrong
  /// size.
  [[nodiscard]] int predict(const vector& x) const {
    if (weights_.size() < cfg_.k || static_cast<std::size_t>(x.size()) != d_)
      return -1;
    return static_cast<int>(nearest(x.data()));
  }

  // -- properties -------------------------------------------------------------------------------

  /// The centroids, one per row (fewer than k rows before k points were seen).
  [[nodiscard]] matrix centroids() const {
    matrix result(static_cast<Eigen::Index>(weights_.size()), static_cast<Eigen::Index>(d_));
    for (std::size_t c = 0; c < weights_.size(); ++c)
      for (std::size_t f = 0; f < d_; ++f)
        result(static_cast<Eigen::Index>(c), static_cast<Eigen::Index>(f)) = centroids_[c * d_ + f];
    return result;
  }

  /// The (decayed) weight of every centroid.
  [[nodiscard]] const std::vector<double>& weights() const noexcept { return weights_; }

  /// Saves or loads the whole state, the unfinished batch included. A loaded state whose sizes
  /// disagree throws (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& d_& centroids_& weights_& pending_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  /// Adds a point of d_ values that passed the checks.
  void add(const double* x) {
    if (weights_.size() < cfg_.k) { // still collecting the initial centroids
      centroids_.insert(centroids_.end(), x, x + d_);
      weights_.push_back(1.0);
      return;
    }
    pending_.insert(pending_.end(), x, x + d_);
    if (pending_.size() == cfg_.batch_size * d_)
      flush();
  }

  /// Refuses a loaded state whose sizes disagree (computed without overflow) or that holds a
  /// value learn refuses.
  void check_loaded() const {
    auto refuse = [](const std::string& why) { throw_corrupt_archive("online_kmeans: " + why); };
    if (d_ == 0) {
      if (!centroids_.empty() || !weights_.empty() || !pending_.empty())
        refuse("centroids in a model of no features");
      return;
    }
    if (auto err = validate(d_, cfg_))
      refuse(eddy::describe(err));
    if (weights_.size() > cfg_.k)
      refuse(std::to_string(weights_.size()) +
             " centroids, more than k = " + std::to_string(cfg_.k));
    if (centroids_.size() % d_ != 0 || centroids_.size() / d_ != weights_.size())
      refuse(std::to_string(centroids_.size()) + " centroid values for " +
             std::to_string(weights_.size()) + " centroids of " + std::to_string(d_) + " features");
    if (pending_.size() % d_ != 0 || pending_.size() / d_ >= cfg_.batch_size)
      refuse(std::to_string(pending_.size()) +
             " values wait for a batch; expected whole points "
             "of " +
             std::to_string(d_) +
             " features, fewer than batch_size = " + std::to_string(cfg_.batch_size));
    if (!pending_.empty() && weights_.size() < cfg_.k)
      refuse("points wait for a batch before the k initial centroids are complete");
    if (!all_finite(centroids_))
      refuse("a centroid is not finite");
    for (double v : pending_)
      if (!(std::abs(v) <= max_input_magnitude))
        refuse("a waiting value is not finite or beyond +-max_input_magnitude");
    for (double w : weights_)
      if (!(w >= 0) || !std::isfinite(w))
        refuse("a centroid weight is negative or not finite");
  }

  std::size_t nearest(const double* x) const {
    std::size_t best = 0;
    double best_distance = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < weights_.size(); ++c) {
      double distance = 0;
      for (std::size_t f = 0; f < d_; ++f)
        distance += (x[f] - centroids_[c * d_ + f]) * (x[f] - centroids_[c * d_ + f]);
      if (distance < best_distance) {
        best_distance = distance;
        best = c;
      }
    }
    return best;
  }

  // -- member variables -------------------------------------------------------------------------

  /// The configuration.
  online_kmeans_config cfg_;
  /// Features per point.
  std::size_t d_ = 0;
  /// Centroids, d_ values each.
  std::vector<double> centroids_;
  /// Weight of each centroid.
  std::vector<double> weights_;
  /// Points of the unfinished batch, d_ values each.
  std::vector<double> pending_;
};

} // namespace eddy::ml
