// Matrix factorization for ratings, learned online by SGD (Funk; Koren, Bell and Volinsky 2009):
// rating(u, i) ~ mean + b_u + b_i + p_u . q_i, with user and item factors p_u, q_i and biases.
// Users and items are any 64-bit ids; a new id gets small random factors when first rated.
// Ratings must be finite and within +-max_input_magnitude (input_limits.hpp); a step that would
// make the model non-finite is refused, and a refused rating changes nothing.
//
//   auto mf = eddy::ml::matrix_factorization::make();       // 10 factors, lr 0.01, reg 0.02
//   mf->learn(user, item, 4.0);                              // one rating
//   double guess = mf->predict(user, other_item);
//   auto best = mf->top_k(user, 5);                          // {item, predicted rating}, best
//   first
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/random_draws.hpp>

#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace eddy::ml {

/// Configuration of a `matrix_factorization` model.
struct matrix_factorization_config {
  /// Latent factors per user and item. Default: 10.
  std::size_t n_factors = 10;
  /// SGD step size. Default: 0.01.
  double learning_rate = 0.01;
  /// L2 penalty on factors and biases. Default: 0.02.
  double regularization = 0.02;
  /// Standard deviation of the random initial factors. Default: 0.1.
  double init_stddev = 0.1;
  /// Seed of the initial factors. Default: 1.
  std::uint64_t seed = 1;

  /// Saves or loads every setting with a Boost archive.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& n_factors& learning_rate& regularization& init_stddev& seed;
  }
};

/// Biased matrix factorization trained by SGD; not thread-safe (const methods are).
class matrix_factorization {
public:
  /// Names this type in model files (model_file.hpp).
  static constexpr const char* model_kind = "eddy.ml.matrix_factorization";

  // -- constructors -----------------------------------------------------------------------------

  /// An empty model with the default configuration, ready to learn (the same as `make()`).
  matrix_factorization() = default;

  /// Makes an empty model, or says which setting is out of range.
  [[nodiscard]] static caf::expected<matrix_factorization>
  make(matrix_factorization_config cfg = {}) {
    if (auto err = validate(cfg))
      return err;
    matrix_factorization result;
    result.cfg_ = cfg;
    result.rng_.seed(cfg.seed);
    return result;
  }

  /// The error `make` returns for `cfg`, or none.
  [[nodiscard]] static caf::error validate(const matrix_factorization_config& cfg) {
    auto bad = [](const char* what) {
      return make_error(errc::invalid_argument, std::string{"matrix_factorization: "} + what);
    };
    if (cfg.n_factors < 1 || cfg.n_factors > 100'000)
      return bad("n_factors must lie in [1, 100000]");
    if (!(cfg.learning_rate > 0) || !std::isfinite(cfg.learning_rate))
      return bad("learning_rate must be finite and > 0");
    if (!(cfg.regularization >= 0) || !std::isfinite(cfg.regularization))
      return bad("regularization must be finite and >= 0");
    if (!(cfg.init_stddev >= 0) || !std::isfinite(cfg.init_stddev))
      return bad("init_stddev must be finite and >= 0");
    return caf::error{};
  }

  // -- learning ---------------------------------------------------------------------------------

  /// Learns that `user` rated `item` with `rating` (one SGD step). A non-finite rating, or a step
  /// that would make the model non-finite, is refused and changes nothing.
  caf::error learn(std::int64_t user, std::int64_t item, double rating) {
    constexpr const char* where = "matrix_factorization::learn";
    if (!std::isfinite(rating))
      return make_error(errc::bad_input, std::string{where} + ": the rating is not finite");
    if (auto err = check_magnitude(rating, "the rating", where))
      return err;
    const std::size_t f = cfg_.n_factors;
    const double lr = cfg_.learning_rate, reg = cfg_.regularization;
    const double mean = mean_ + (rating - mean_) / static_cast<double>(count_ + 1);
    // Compute the step on copies first, so that a diverging step leaves the model unchanged.
    std::vector<double> p = known(users_, user) ? row(user_factors_, users_.at(user)) : draw();
    std::vector<double> q = known(items_, item) ? row(item_factors_, items_.at(item)) : draw();
    double bu = known(users_, user) ? user_bias_[users_.at(user)] : 0.0;
    double bi = known(items_, item) ? item_bias_[items_.at(item)] : 0.0;
    double dot = 0;
    for (std::size_t k = 0; k < f; ++k)
      dot += p[k] * q[k];
    const double error = rating - (mean + bu + bi + dot);
    bu += lr * (error - reg * bu);
    bi += lr * (error - reg * bi);
    bool finite = std::isfinite(bu) && std::isfinite(bi);
    for (std::size_t k = 0; k < f; ++k) {
      const double pk = p[k];
      p[k] += lr * (error * q[k] - reg * pk);
      q[k] += lr * (error * pk - reg * q[k]);
      finite = finite && std::isfinite(p[k]) && std::isfinite(q[k]);
    }
    if (!finite)
      return make_error(errc::bad_input, "matrix_factorization::learn: the step diverges; lower "
                                         "learning_rate or scale the ratings");
    const auto u = slot(users_, user_ids_, user_factors_, user_bias_, user);
    const auto i = slot(items_, item_ids_, item_factors_, item_bias_, item);
    std::copy(p.begin(), p.end(), user_factors_.begin() + static_cast<std::ptrdiff_t>(u * f));
    std::copy(q.begin(), q.end(), item_factors_.begin() + static_cast<std::ptrdiff_t>(i * f));
    user_bias_[u] = bu;
    item_bias_[i] = bi;
    mean_ = mean;
    ++count_;
    return {};
  }

  // -- prediction -------------------------------------------------------------------------------

  /// The predicted rating; unknown users or items contribute no bias and no factors.
  [[nodiscard]] double predict(std::int64_t user, std::int64_t item) const {
    double result = mean_;
    const bool u = known(users_, user), i = known(items_, item);
    if (u)
      result += user_bias_[users_.at(user)];
    if (i)
      result += item_bias_[items_.at(item)];
    if (u && i)
      for (std::size_t k = 0, f = cfg_.n_factors; k < f; ++k)
        result += user_factors_[users_.at(user) * f + k] * item_factors_[items_.at(item) * f + k];
    return result;
  }

  /// The `k` known items with the highest predicted rating for `user`, best first, leaving out
  /// the items in `exclude` (e.g. those the user rated).
  [[nodiscard]] std::vector<std::pair<std::int64_t, double>>
  top_k(std::int64_t user, std::size_t k, const std::vector<std::int64_t>& exclude = {}) const {
    std::vector<std::pair<std::int64_t, double>> scored;
    for (auto item : item_ids_)
      if (std::find(exclude.begin(), exclude.end(), item) == exclude.end())
        scored.emplace_back(item, predict(user, item));
    const auto n = std::min(k, scored.size());
    std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(n), scored.end(),
                      [](const auto& a, const auto& b) {
                        return a.second > b.second || (a.second == b.second && a.first < b.first);
                      });
    scored.resize(n);
    return scored;
  }

  // -- properties -------------------------------------------------------------------------------

  /// Users seen so far.
  [[nodiscard]] std::size_t n_users() const noexcept { return user_ids_.size(); }

  /// Items seen so far.
  [[nodiscard]] std::size_t n_items() const noexcept { return item_ids_.size(); }

  /// The mean of the ratings learned.
  [[nodiscard]] double global_mean() const noexcept { return mean_; }

  /// Saves or loads the whole state (the id maps are rebuilt on load). A loaded state whose
  /// sizes disagree, that repeats an id or holds a value that is not finite throws
  /// (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& user_ids_& item_ids_& user_factors_& item_factors_& user_bias_& item_bias_;
    ar& mean_& count_& rng_;
    if constexpr (Archive::is_loading::value) {
      users_.clear();
      items_.clear();
      for (std::size_t i = 0; i < user_ids_.size(); ++i)
        users_[user_ids_[i]] = i;
      for (std::size_t i = 0; i < item_ids_.size(); ++i)
        items_[item_ids_[i]] = i;
      const bool bad = validate(cfg_) || users_.size() != user_ids_.size() ||
                       items_.size() != item_ids_.size() ||
                       user_factors_.size() != user_ids_.size() * cfg_.n_factors ||
                       item_factors_.size() != item_ids_.size() * cfg_.n_factors ||
                       user_bias_.size() != user_ids_.size() ||
                       item_bias_.size() != item_ids_.size();
      if (bad)
        throw_corrupt_archive("matrix_factorization: sizes do not match the ids and settings");
      if (!all_finite(user_factors_) || !all_finite(item_factors_) || !all_finite(user_bias_) ||
          !all_finite(item_bias_) || !std::isfinite(mean_))
        throw_corrupt_archive("matrix_factorization: a factor, bias or the mean is not finite");
    }
  }

private:
  using index = std::unordered_map<std::int64_t, std::size_t>;

  static bool known(const index& ids, std::int64_t id) { return ids.count(id) > 0; }

  std::vector<double> row(const std::vector<double>& factors, std::size_t i) const {
    const auto f = cfg_.n_factors;
    return {factors.begin() + static_cast<std::ptrdiff_t>(i * f),
            factors.begin() + static_cast<std::ptrdiff_t>((i + 1) * f)};
  }

  /// Fresh factors for a new id. Drawn before we know the step is finite; the engine moves on
  /// either way, which keeps a restored model in step with the original.
  std::vector<double> draw() {
    std::vector<double> v(cfg_.n_factors);
    for (auto& x : v)
      x = cfg_.init_stddev * standard_normal(rng_);
    return v;
  }

  std::size_t slot(index& ids, std::vector<std::int64_t>& order, std::vector<double>& factors,
                   std::vector<double>& bias, std::int64_t id) {
    if (auto it = ids.find(id); it != ids.end())
      return it->second;
    ids[id] = order.size();
    order.push_back(id);
    factors.resize(factors.size() + cfg_.n_factors, 0.0);
    bias.push_back(0.0);
    return order.size() - 1;
  }

  // -- member variables -------------------------------------------------------------------------

  /// The configuration.
  matrix_factorization_config cfg_;
  /// Row of each user id.
  index users_;
  /// Row of each item id.
  index items_;
  /// The user ids in row order (what the archive stores; users_ is rebuilt from it).
  std::vector<std::int64_t> user_ids_;
  /// The item ids in row order.
  std::vector<std::int64_t> item_ids_;
  /// User factors, n_factors per row.
  std::vector<double> user_factors_;
  /// Item factors, n_factors per row.
  std::vector<double> item_factors_;
  /// User biases, one per row.
  std::vector<double> user_bias_;
  /// Item biases, one per row.
  std::vector<double> item_bias_;
  /// Running mean of the ratings.
  double mean_ = 0;
  /// Ratings learned.
  std::uint64_t count_ = 0;
  /// Draws the initial factors.
  std::mt19937_64 rng_{1};
};

} // namespace eddy::ml
