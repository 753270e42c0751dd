#include <eddy/ml/hoeffding_tree.hpp>
#include <eddy/ml/synthetic_streams.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <catch2/catch.hpp>

#include <limits>
#include <sstream>
#include <string>

using eddy::ml::hoeffding_tree;

namespace {

template <class T>
std::string to_bytes(const T& model) {
  std::ostringstream out;
  {
    boost::archive::binary_oarchive archive{out};
    archive << model;
  }
  return out.str();
}

template <class T>
T from_bytes(const std::string& bytes) {
  T model;
  std::istringstream in{bytes};
  boost::archive::binary_iarchive archive{in};
  archive >> model;
  return model;
}

eddy::ml::sea_generator sea(std::uint64_t seed) {
  eddy::ml::sea_config cfg;
  cfg.seed = seed;
  cfg.concepts = {1};
  return eddy::ml::sea_generator{cfg};
}

// Prequential accuracy (test, then train) over n records of a stationary SEA stream.
double prequential_accuracy(hoeffding_tree& tree, std::size_t n, std::uint64_t seed = 1) {
  auto stream = sea(seed);
  std::size_t right = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto r = stream.next();
    right += tree.predict(r.x) == r.y;
    REQUIRE_FALSE(tree.learn(r.x, r.y));
  }
  return static_cast<double>(right) / static_cast<double>(n);
}

} // namespace

SCENARIO("a hoeffding tree learns the sea concept close to its noise ceiling") {
  for (auto mode :
       {eddy::ml::leaf_prediction::majority_class, eddy::ml::leaf_prediction::naive_bayes,
        eddy::ml::leaf_prediction::naive_bayes_adaptive}) {
    eddy::ml::hoeffding_tree_config cfg;
    cfg.prediction = mode;
    auto tree = hoeffding_tree::make(3, 2, cfg);
    REQUIRE(tree);
    double accuracy = prequential_accuracy(*tree, 30'000);
    INFO("mode " << static_cast<int>(mode) << " accuracy " << accuracy);
    // 10 % of the labels are flipped: 0.9 is the ceiling; majority-class leaves need more records.
    CHECK(accuracy > (mode == eddy::ml::leaf_prediction::majority_class ? 0.8 : 0.85));
    CHECK(tree->n_leaves() > 1);
    CHECK(tree->n_nodes() == 2 * tree->n_leaves() - 1);
    CHECK(tree->memory_bytes() > sizeof(hoeffding_tree));
  }
}

SCENARIO("a hoeffding tree separates three classes") {
  auto tree = hoeffding_tree::make(2, 3);
  REQUIRE(tree);
  std::mt19937_64 rng{3};
  std::size_t right = 0;
  for (int i = 0; i < 6'000; ++i) {
    eddy::ml::vector x(2);
    x << eddy::ml::internal::uniform01(rng) * 3, eddy::ml::internal::uniform01(rng);
    int y = static_cast<int>(x[0]);
    if (i >= 5'000)
      right += tree->predict(x) == y;
    REQUIRE_FALSE(tree->learn(x, y));
  }
  CHECK(right > 950);
  CHECK(tree->predict_proba(eddy::ml::vector::Constant(2, 0.5)).sum() == Approx(1.0));
}

SCENARIO("a hoeffding tree refuses bad input with a sentence and stays unchanged") {
  auto tree = hoeffding_tree::make(3, 2);
  REQUIRE(tree);
  prequential_accuracy(*tree, 2'000);
  auto before = to_bytes(*tree);
  eddy::ml::vector x = eddy::ml::vector::Constant(3, 1.0);
  x[1] = std::numeric_limits<double>::quiet_NaN();
  auto err = tree->learn(x, 1);
  CHECK(eddy::ml::is(err, eddy::ml::errc::bad_input));
  CHECK(eddy::describe(err) == "hoeffding_tree::learn: x[1] is NaN");
  x[1] = -std::numeric_limits<double>::infinity();
  CHECK(eddy::describe(tree->learn(x, 1)) == "hoeffding_tree::learn: x[1] is -infinity");
  err = tree->learn(eddy::ml::vector::Zero(4), 0);
  CHECK(eddy::ml::is(err, eddy::ml::errc::shape_mismatch));
  CHECK(eddy::describe(err) == "hoeffding_tree::learn: x has 4 features, expected 3");
  CHECK(eddy::ml::is(tree->learn(eddy::ml::vector::Zero(3), 2), eddy::ml::errc::bad_input));
  CHECK(eddy::ml::is(tree->learn(eddy::ml::vector::Zero(3), 0, -1), eddy::ml::errc::bad_input));
  CHECK(to_bytes(*tree) == before);
  CHECK(tree->predict(eddy::ml::vector::Zero(5)) == -1);
  CHECK(tree->predict_proba(eddy::ml::vector::Zero(5)).size() == 0);
  CHECK_FALSE(hoeffding_tree::make(0, 2));
  CHECK_FALSE(hoeffding_tree::make(3, 1));
  eddy::ml::hoeffding_tree_config cfg;
  cfg.split_confidence = 0;
  auto bad = hoeffding_tree::make(3, 2, cfg);
  REQUIRE_FALSE(bad);
  CHECK(eddy::describe(bad.error()) == "hoeffding_tree: split_confidence must lie in (0, 1)");
}

SCENARIO("a stream with 1 % bad records gives the same hoeffding tree as the good records") {
  auto clean = hoeffding_tree::make(3, 2);
  auto mixed = hoeffding_tree::make(3, 2);
  REQUIRE(clean);
  REQUIRE(mixed);
  auto stream = sea(4);
  std::size_t refused = 0;
  for (int i = 0; i < 20'000; ++i) {
    auto r = stream.next();
    REQUIRE_FALSE(clean->learn(r.x, r.y));
    REQUIRE_FALSE(mixed->learn(r.x, r.y));
    if (i % 100 == 50) { // one bad record in a hundred, of each kind in turn
      eddy::ml::vector bad = r.x;
      switch ((i / 100) % 3) {
      case 0:
        bad[i % 3] = std::numeric_limits<double>::quiet_NaN();
        break;
      case 1:
        bad[i % 3] = std::numeric_limits<double>::infinity();
        break;
      default:
        bad = eddy::ml::vector::Zero(2);
      }
      refused += static_cast<bool>(mixed->learn(bad, r.y));
    }
  }
  CHECK(refused == 200);
  CHECK(to_bytes(*mixed) == to_bytes(*clean));
  auto probe = sea(99);
  for (int i = 0; i < 1'000; ++i) {
    auto p = mixed->predict_proba(probe.next().x);
    REQUIRE(p.allFinite());
  }
}

SCENARIO("a restored hoeffding tree predicts exactly like an uninterrupted one") {
  for (std::size_t max_features : {0, 2}) {
    eddy::ml::hoeffding_tree_config cfg;
    cfg.max_features = max_features; // 2: random feature subsets, so the engine matters
    cfg.grace_period = 50;
    auto original = hoeffding_tree::make(3, 2, cfg);
    REQUIRE(original);
    auto stream = sea(5);
    std::vector<eddy::ml::labelled_record> records;
    for (int i = 0; i < 20'000; ++i)
      records.push_back(stream.next());
    for (std::size_t i = 0; i < 7'000; ++i)
      REQUIRE_FALSE(original->learn(records[i].x, records[i].y));
    auto restored = from_bytes<hoeffding_tree>(to_bytes(*original));
    for (std::size_t i = 7'000; i < records.size(); ++i) {
      REQUIRE(restored.predict_proba(records[i].x) == original->predict_proba(records[i].x));
      REQUIRE_FALSE(original->learn(records[i].x, records[i].y));
      REQUIRE_FALSE(restored.learn(records[i].x, records[i].y));
    }
    CHECK(restored.n_nodes() == original->n_nodes());
    CHECK(to_bytes(restored) == to_bytes(*original));
  }
}
