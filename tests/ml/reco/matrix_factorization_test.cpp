#include "../archive_bytes.hpp"

#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/random_draws.hpp>
#include <eddy/ml/reco/matrix_factorization.hpp>

#include <boost/serialization/vector.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

using eddy::ml::matrix_factorization;

namespace {

using rating = std::tuple<std::int64_t, std::int64_t, double>;

// Ratings 3 + u_k . v_k of a rank-2 truth for 50 users and 40 items, in seeded random order.
std::vector<rating> low_rank_ratings(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 truth{99}, rng{seed};
  std::vector<double> u(100), v(80);
  for (auto& x : u)
    x = eddy::ml::standard_normal(truth);
  for (auto& x : v)
    x = eddy::ml::standard_normal(truth);
  std::vector<rating> result;
  for (std::size_t i = 0; i < n; ++i) {
    auto user = static_cast<std::int64_t>(eddy::ml::uniform_index(rng, 50));
    auto item = static_cast<std::int64_t>(eddy::ml::uniform_index(rng, 40));
    result.emplace_back(user * 7 + 1000, item,
                        3 + u[user * 2] * v[item * 2] + u[user * 2 + 1] * v[item * 2 + 1]);
  }
  return result;
}

double rmse(const matrix_factorization& mf, const std::vector<rating>& rs) {
  double sum = 0;
  for (auto& [u, i, r] : rs)
    sum += (mf.predict(u, i) - r) * (mf.predict(u, i) - r);
  return std::sqrt(sum / static_cast<double>(rs.size()));
}

} // namespace

SCENARIO("matrix factorization recovers low-rank ratings far better than the mean") {
  eddy::ml::matrix_factorization_config cfg;
  cfg.learning_rate = 0.02;
  auto mf = matrix_factorization::make(cfg);
  REQUIRE(mf);
  auto train = low_rank_ratings(30'000, 1);
  auto test = low_rank_ratings(2'000, 2);
  for (int epoch = 0; epoch < 10; ++epoch)
    for (auto& [u, i, r] : train)
      REQUIRE_FALSE(mf->learn(u, i, r));
  CHECK(mf->n_users() == 50);
  CHECK(mf->n_items() == 40);
  double mean_only = 0;
  for (auto& [u, i, r] : test)
    mean_only += (r - mf->global_mean()) * (r - mf->global_mean());
  mean_only = std::sqrt(mean_only / static_cast<double>(test.size()));
  INFO("rmse " << rmse(*mf, test) << " vs. the mean's " << mean_only);
  CHECK(rmse(*mf, test) < 0.3 * mean_only);
}

SCENARIO("matrix factorization ranks a user's items by predicted rating") {
  auto mf = matrix_factorization::make();
  for (auto& [u, i, r] : low_rank_ratings(20'000, 3))
    REQUIRE_FALSE(mf->learn(u, i, r));
  auto top = mf->top_k(1000, 5, {0, 1});
  REQUIRE(top.size() == 5);
  for (std::size_t k = 1; k < top.size(); ++k)
    CHECK(top[k - 1].second >= top[k].second);
  for (auto& [item, score] : top) {
    CHECK(item != 0);
    CHECK(item != 1);
    CHECK(score == mf->predict(1000, item));
  }
  CHECK(mf->top_k(1000, 100).size() == 40);
  CHECK(mf->predict(-5, -5) == mf->global_mean()); // unknown user and item
}

SCENARIO("matrix factorization refuses bad ratings and restores exactly") {
  auto clean = matrix_factorization::make();
  auto mixed = matrix_factorization::make();
  auto rs = low_rank_ratings(10'000, 4);
  for (std::size_t n = 0; n < rs.size(); ++n) {
    auto& [u, i, r] = rs[n];
    REQUIRE_FALSE(clean->learn(u, i, r));
    REQUIRE_FALSE(mixed->learn(u, i, r));
    if (n % 100 == 3) {
      auto err = mixed->learn(u, i + 1'000, std::numeric_limits<double>::quiet_NaN());
      CHECK(eddy::describe(err) == "matrix_factorization::learn: the rating is not finite");
    }
    if (n % 100 == 53) { // huge but finite: the SGD step would wreck the factors
      auto err = mixed->learn(u, i, n % 200 == 53 ? 1e300 : -std::numeric_limits<double>::max());
      CHECK(eddy::ml::is(err, eddy::ml::errc::bad_input));
    }
  }
  CHECK(to_bytes(*mixed) == to_bytes(*clean));
  CHECK(mixed->n_items() == 40);
  auto restored = from_bytes<matrix_factorization>(to_bytes(*clean));
  for (auto& [u, i, r] : low_rank_ratings(5'000, 5)) {
    REQUIRE(restored.predict(u + 1, i) == clean->predict(u + 1, i));
    REQUIRE_FALSE(clean->learn(u + 1, i, r)); // new users too: the engine must match
    REQUIRE_FALSE(restored.learn(u + 1, i, r));
  }
  CHECK(to_bytes(restored) == to_bytes(*clean));
}

SCENARIO("a default-constructed matrix factorization learns like make()") {
  matrix_factorization plain;
  auto made = matrix_factorization::make();
  REQUIRE(made);
  for (auto& [u, i, r] : low_rank_ratings(2'000, 6)) {
    REQUIRE_FALSE(plain.learn(u, i, r));
    REQUIRE_FALSE(made->learn(u, i, r));
  }
  CHECK(to_bytes(plain) == to_bytes(*made));
  CHECK(matrix_factorization{}.predict(1, 2) == 0.0);
  CHECK(matrix_factorization{}.top_k(1, 5).empty());
}

SCENARIO("matrix factorization refuses ratings beyond the magnitude limit with a sentence") {
  auto mf = matrix_factorization::make();
  REQUIRE_FALSE(mf->learn(1, 2, 3.0));
  auto before = to_bytes(*mf);
  auto err = mf->learn(1, 2, 1e101);
  CHECK(eddy::describe(err) == "matrix_factorization::learn: the rating = 1e+101 is beyond "
                               "+-1e+100; rescale it (nothing learned)");
  CHECK(to_bytes(*mf) == before);
  CHECK(mf->n_items() == 1);
}

namespace {

// The binary archive of a matrix_factorization written field by field, so that a test can
// damage one.
struct mf_fields {
  eddy::ml::matrix_factorization_config cfg;
  std::vector<std::int64_t> user_ids{7}, item_ids{3, 4};
  std::vector<double> user_factors = std::vector<double>(10, 0.1),
                      item_factors = std::vector<double>(20, 0.2), user_bias{0.5},
                      item_bias{0.1, 0.2};
  double mean = 3;
  std::uint64_t count = 2;
  std::mt19937_64 rng{1};
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg& user_ids& item_ids& user_factors& item_factors& user_bias& item_bias& mean& count;
    ar& rng;
  }
};

} // namespace

SCENARIO("a matrix factorization archive whose sizes disagree is refused as corrupt") {
  matrix_factorization mf;
  REQUIRE_FALSE(eddy::ml::from_binary(eddy::ml::to_binary(mf_fields{}), mf));
  CHECK(mf.n_items() == 2);
  CHECK(mf.predict(7, 4) == Approx(3 + 0.5 + 0.2 + 10 * 0.1 * 0.2));
  auto refused = [](const mf_fields& f) {
    matrix_factorization kept;
    CHECK(eddy::ml::is(eddy::ml::from_binary(eddy::ml::to_binary(f), kept),
                       eddy::ml::errc::corrupt_file));
    CHECK(kept.n_users() == 0);
  };
  mf_fields f;
  f.item_factors.pop_back(); // 19 values for 2 items x 10 factors
  refused(f);
  f = {};
  f.cfg.n_factors = 5; // the rows hold 10
  refused(f);
  f = {};
  f.item_ids = {3, 3}; // an id twice
  refused(f);
  f = {};
  f.user_bias.clear();
  refused(f);
}
