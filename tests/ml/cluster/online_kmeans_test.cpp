#include "../archive_bytes.hpp"

#include <eddy/ml/cluster/online_kmeans.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/random_draws.hpp>

#include <boost/serialization/vector.hpp>
#include <catch2/catch.hpp>

#include <limits>
#include <random>

using eddy::ml::online_kmeans;

namespace {

// Points around three centres, cycling through them, with a little seeded noise.
std::vector<eddy::ml::vector> blobs(std::size_t n, std::uint64_t seed, double shift = 0) {
  std::mt19937_64 rng{seed};
  const double centres[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  std::vector<eddy::ml::vector> result;
  for (std::size_t i = 0; i < n; ++i) {
    eddy::ml::vector x(2);
    x << centres[i % 3][0] + shift + eddy::ml::standard_normal(rng) * 0.5,
        centres[i % 3][1] + eddy::ml::standard_normal(rng) * 0.5;
    result.push_back(x);
  }
  return result;
}

} // namespace

SCENARIO("online k-means finds three separated clusters") {
  eddy::ml::online_kmeans_config cfg;
  cfg.k = 3;
  cfg.decay_factor = 1;
  auto model = online_kmeans::make(2, cfg);
  REQUIRE(model);
  CHECK(model->predict(eddy::ml::vector::Zero(2)) == -1);
  for (const auto& x : blobs(3'000, 1))
    REQUIRE_FALSE(model->learn(x));
  auto c = model->centroids();
  REQUIRE(c.rows() == 3);
  // Each true centre has a centroid within 0.5.
  for (auto centre : {eddy::ml::vector{eddy::ml::vector::Zero(2)},
                      eddy::ml::vector{(eddy::ml::vector(2) << 10, 0).finished()},
                      eddy::ml::vector{(eddy::ml::vector(2) << 0, 10).finished()}}) {
    double nearest = 1e9;
    for (Eigen::Index r = 0; r < 3; ++r)
      nearest = std::min(nearest, (c.row(r).transpose() - centre).norm());
    CHECK(nearest < 0.5);
  }
  CHECK(model->predict(c.row(1).transpose()) == 1);
}

SCENARIO("online k-means with decay follows clusters that move") {
  eddy::ml::online_kmeans_config cfg;
  cfg.k = 3;
  cfg.decay_factor = 0.5;
  auto model = online_kmeans::make(2, cfg);
  for (const auto& x : blobs(3'000, 2))
    REQUIRE_FALSE(model->learn(x));
  for (const auto& x : blobs(3'000, 3, 2.0)) // every cluster moves 2 to the right
    REQUIRE_FALSE(model->learn(x));
  auto c = model->centroids();
  CHECK(c.col(0).minCoeff() > 1.5);
}

SCENARIO("online k-means refuses bad points and restores exactly") {
  eddy::ml::online_kmeans_config cfg;
  cfg.k = 3;
  auto model = online_kmeans::make(2, cfg);
  auto points = blobs(2'000, 4);
  for (std::size_t i = 0; i < 1'000; ++i)
    REQUIRE_FALSE(model->learn(points[i]));
  auto before = to_bytes(*model);
  eddy::ml::vector bad(2);
  bad << 1, std::numeric_limits<double>::quiet_NaN();
  CHECK(eddy::describe(model->learn(bad)) ==
        "online_kmeans::learn: x[1] is NaN; clean or impute the record first");
  CHECK(eddy::ml::is(model->learn(eddy::ml::vector::Zero(3)), eddy::ml::errc::shape_mismatch));
  CHECK(to_bytes(*model) == before);
  auto restored = from_bytes<online_kmeans>(before);
  for (std::size_t i = 1'000; i < points.size(); ++i) {
    REQUIRE_FALSE(model->learn(points[i]));
    REQUIRE_FALSE(restored.learn(points[i]));
    REQUIRE(restored.predict(points[i]) == model->predict(points[i]));
  }
  CHECK(to_bytes(restored) == to_bytes(*model));
  cfg.decay_factor = 2;
  CHECK_FALSE(online_kmeans::make(2, cfg));
}

SCENARIO("a default-constructed online k-means refuses to learn instead of crashing") {
  online_kmeans model;
  for (int i = 0; i < 3; ++i) // the third point used to divide 0 by 0 in flush
    CHECK(eddy::ml::is(model.learn(eddy::ml::vector{}), eddy::ml::errc::not_fitted));
  CHECK(eddy::ml::is(model.learn_batch(eddy::ml::matrix(2, 0)), eddy::ml::errc::not_fitted));
  model.flush();
  CHECK(model.predict(eddy::ml::vector{}) == -1);
  CHECK(model.centroids().rows() == 0);
}

SCENARIO("one online k-means mini-batch moves the centroids as Flink ML's formula says") {
  // k = 2, one feature, batch of 4, decay 0.5. The first two points (0 and 10) become the
  // centroids with weight 1. The batch {1, 2, 9, 13} gives cluster 0 the points {1, 2} (mean 1.5)
  // and cluster 1 {9, 13} (mean 11). Flink ML: w' = decay w + n = 2.5, and
  // c' = (decay w c + n mean) / w' = (0.5 * 0 + 2 * 1.5) / 2.5 = 1.2 and
  // (0.5 * 10 + 2 * 11) / 2.5 = 10.8.
  eddy::ml::online_kmeans_config cfg;
  cfg.k = 2;
  cfg.decay_factor = 0.5;
  cfg.batch_size = 4;
  auto model = online_kmeans::make(1, cfg);
  REQUIRE(model);
  for (double x : {0.0, 10.0, 1.0, 2.0, 9.0}) {
    REQUIRE_FALSE(model->learn(eddy::ml::vector::Constant(1, x)));
    CHECK(model->centroids()(0, 0) == 0.0); // nothing moves before the batch is full
  }
  REQUIRE_FALSE(model->learn(eddy::ml::vector::Constant(1, 13.0)));
  CHECK(model->centroids()(0, 0) == Approx(1.2));
  CHECK(model->centroids()(1, 0) == Approx(10.8));
  CHECK(model->weights()[0] == Approx(2.5));
  CHECK(model->weights()[1] == Approx(2.5));
  // A second batch that only feeds cluster 1: cluster 0 keeps its centroid, its weight decays.
  for (double x : {11.0, 11.0, 11.0, 11.0})
    REQUIRE_FALSE(model->learn(eddy::ml::vector::Constant(1, x)));
  CHECK(model->centroids()(0, 0) == Approx(1.2));
  CHECK(model->weights()[0] == Approx(1.25));
  CHECK(model->centroids()(1, 0) == Approx((1.25 * 10.8 + 4 * 11) / 5.25));
  CHECK(model->weights()[1] == Approx(5.25));
}

SCENARIO("online k-means learn_batch equals learning the rows one by one") {
  eddy::ml::online_kmeans_config cfg;
  cfg.k = 3;
  cfg.decay_factor = 0.8;
  cfg.batch_size = 7;
  auto batch = online_kmeans::make(2, cfg);
  auto single = online_kmeans::make(2, cfg);
  auto points = blobs(1'000, 5);
  eddy::ml::matrix X(1'000, 2);
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    X.row(i) = points[static_cast<std::size_t>(i)].transpose();
  REQUIRE_FALSE(batch->learn_batch(X.topRows(333)));
  REQUIRE_FALSE(batch->learn_batch(X.bottomRows(667)));
  for (const auto& x : points)
    REQUIRE_FALSE(single->learn(x));
  CHECK(to_bytes(*batch) == to_bytes(*single));
  auto before = to_bytes(*batch);
  X(5, 1) = std::numeric_limits<double>::infinity();
  CHECK(eddy::ml::is(batch->learn_batch(X), eddy::ml::errc::bad_input));
  X(5, 1) = -1e150;
  CHECK(eddy::ml::is(batch->learn_batch(X), eddy::ml::errc::bad_input));
  CHECK(eddy::ml::is(batch->learn_batch(eddy::ml::matrix::Zero(3, 3)),
                     eddy::ml::errc::shape_mismatch));
  CHECK(to_bytes(*batch) == before);
}

SCENARIO("a stream with 1 % bad points gives the same k-means model as the good points") {
  eddy::ml::online_kmeans_config cfg;
  cfg.k = 3;
  cfg.decay_factor = 0.9;
  auto clean = online_kmeans::make(2, cfg);
  auto mixed = online_kmeans::make(2, cfg);
  std::size_t refused = 0;
  auto points = blobs(10'000, 6);
  for (std::size_t i = 0; i < points.size(); ++i) {
    REQUIRE_FALSE(clean->learn(points[i]));
    REQUIRE_FALSE(mixed->learn(points[i]));
    if (i % 100 == 42) {
      eddy::ml::vector bad = points[i];
      switch ((i / 100) % 4) {
      case 0:
        bad[1] = std::numeric_limits<double>::quiet_NaN();
        break;
      case 1:
        bad[0] = -std::numeric_limits<double>::infinity();
        break;
      case 2:
        bad[i % 2] = (i % 3 == 0 ? -1 : 1) * std::numeric_limits<double>::max(); // huge, finite
        break;
      default:
        bad = eddy::ml::vector::Zero(3);
      }
      refused += static_cast<bool>(mixed->learn(bad));
    }
  }
  CHECK(refused == 100);
  CHECK(to_bytes(*mixed) == to_bytes(*clean));
  CHECK(mixed->centroids().allFinite());
}

SCENARIO("online k-means stays finite with values at the magnitude limit") {
  eddy::ml::online_kmeans_config cfg;
  cfg.k = 2;
  cfg.batch_size = 8;
  auto model = online_kmeans::make(3, cfg);
  std::mt19937_64 rng{7};
  for (int i = 0; i < 2'000; ++i) {
    eddy::ml::vector x(3);
    for (int f = 0; f < 3; ++f)
      x[f] = (eddy::ml::uniform01(rng) < 0.5 ? -1 : 1) * eddy::ml::max_input_magnitude;
    REQUIRE_FALSE(model->learn(x));
    if (i >= 1) // k = 2 points seen
      REQUIRE(model->predict(x) >= 0);
  }
  CHECK(model->centroids().allFinite());
}

namespace {

// The binary archive of an online_kmeans written field by field, so that a test can damage one.
struct kmeans_fields {
  eddy::ml::online_kmeans_config cfg;
  std::size_t d = 2;
  std::vector<double> centroids{0, 0, 1, 1}, weights{1, 1}, pending{};
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg& d& centroids& weights& pending;
  }
};

} // namespace

SCENARIO("an online k-means archive whose sizes disagree is refused as corrupt") {
  auto write = [](const kmeans_fields& f) { return eddy::ml::to_binary(f); };
  using fields = kmeans_fields;
  online_kmeans model;
  REQUIRE_FALSE(eddy::ml::from_binary(write(fields{}), model));
  CHECK(model.centroids().rows() == 2);
  auto refused = [&](const fields& f) {
    online_kmeans kept;
    CHECK(eddy::ml::is(eddy::ml::from_binary(write(f), kept), eddy::ml::errc::corrupt_file));
    CHECK(kept.centroids().rows() == 0);
  };
  fields f;
  f.centroids.pop_back(); // 3 values for 2 centroids of 2 features
  refused(f);
  f = {};
  f.pending = {1, 2, 3}; // not a whole point
  refused(f);
  f = {};
  f.weights = {1, 1, 1}; // more centroids than k
  f.centroids = {0, 0, 1, 1, 2, 2};
  refused(f);
  f = {};
  f.cfg.batch_size = 0;
  refused(f);
}
