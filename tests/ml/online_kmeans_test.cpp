#include <eddy/ml/internal/tree_random.hpp>
#include <eddy/ml/online_kmeans.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <catch2/catch.hpp>

#include <limits>
#include <random>
#include <sstream>

using eddy::ml::online_kmeans;

namespace {

// Points around three centres, cycling through them, with a little seeded noise.
std::vector<eddy::ml::vector> blobs(std::size_t n, std::uint64_t seed, double shift = 0) {
  std::mt19937_64 rng{seed};
  const double centres[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  std::vector<eddy::ml::vector> result;
  for (std::size_t i = 0; i < n; ++i) {
    eddy::ml::vector x(2);
    x << centres[i % 3][0] + shift + eddy::ml::internal::standard_normal(rng) * 0.5,
        centres[i % 3][1] + eddy::ml::internal::standard_normal(rng) * 0.5;
    result.push_back(x);
  }
  return result;
}

template <class T>
std::string to_bytes(const T& model) {
  std::ostringstream out;
  {
    boost::archive::binary_oarchive archive{out};
    archive << model;
  }
  return out.str();
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
  CHECK(eddy::describe(model->learn(bad)) == "online_kmeans::learn: x[1] is NaN");
  CHECK(eddy::ml::is(model->learn(eddy::ml::vector::Zero(3)), eddy::ml::errc::shape_mismatch));
  CHECK(to_bytes(*model) == before);
  online_kmeans restored;
  std::istringstream in{before};
  {
    boost::archive::binary_iarchive archive{in};
    archive >> restored;
  }
  for (std::size_t i = 1'000; i < points.size(); ++i) {
    REQUIRE_FALSE(model->learn(points[i]));
    REQUIRE_FALSE(restored.learn(points[i]));
    REQUIRE(restored.predict(points[i]) == model->predict(points[i]));
  }
  CHECK(to_bytes(restored) == to_bytes(*model));
  cfg.decay_factor = 2;
  CHECK_FALSE(online_kmeans::make(2, cfg));
}
