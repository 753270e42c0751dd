#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/tree/decision_tree.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/vector.hpp>
#include <catch2/catch.hpp>

#include <climits>
#include <cstdint>
#include <vector>

#include <limits>
#include <random>
#include <sstream>

using eddy::ml::decision_tree;

namespace {

// A checkerboard of 3 x 3 cells with labels (cell_x + cell_y) % 3, which no single split solves.
void checkerboard(std::size_t n, std::uint64_t seed, eddy::ml::matrix& X, eddy::ml::labels& y) {
  std::mt19937_64 rng{seed};
  X.resize(static_cast<Eigen::Index>(n), 2);
  y.resize(static_cast<Eigen::Index>(n));
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    X(i, 0) = eddy::ml::uniform01(rng) * 3;
    X(i, 1) = eddy::ml::uniform01(rng) * 3;
    y[i] = (static_cast<int>(X(i, 0)) + static_cast<int>(X(i, 1))) % 3;
  }
}

double accuracy(const decision_tree& tree, const eddy::ml::matrix& X, const eddy::ml::labels& y) {
  double right = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    right += tree.predict(X.row(i).transpose()) == y[i];
  return right / static_cast<double>(X.rows());
}

} // namespace

SCENARIO("a decision tree fits its training data and generalises on a checkerboard") {
  eddy::ml::matrix X, X_test;
  eddy::ml::labels y, y_test;
  checkerboard(3'000, 1, X, y);
  checkerboard(1'000, 2, X_test, y_test);
  auto tree = decision_tree::make();
  REQUIRE(tree);
  REQUIRE_FALSE(tree->fit(X, y));
  CHECK(accuracy(*tree, X, y) == 1.0);
  CHECK(accuracy(*tree, X_test, y_test) > 0.97);
  CHECK(tree->n_classes() == 3);
  CHECK(tree->predict_proba(X_test.row(0).transpose()).sum() == Approx(1.0));
}

SCENARIO("a decision tree respects its depth and leaf size limits") {
  eddy::ml::matrix X;
  eddy::ml::labels y;
  checkerboard(2'000, 3, X, y);
  eddy::ml::decision_tree_config cfg;
  cfg.max_depth = 2;
  auto shallow = decision_tree::make(cfg);
  REQUIRE_FALSE(shallow->fit(X, y));
  CHECK(shallow->n_nodes() <= 7);
  cfg.max_depth = 0;
  cfg.min_samples_leaf = 200;
  auto coarse = decision_tree::make(cfg);
  REQUIRE_FALSE(coarse->fit(X, y));
  CHECK(coarse->n_nodes() <= 2 * (2'000 / 200) - 1);
  cfg.min_samples_leaf = 0;
  auto bad = decision_tree::make(cfg);
  REQUIRE_FALSE(bad);
  CHECK(eddy::describe(bad.error()) == "decision_tree: min_samples_leaf must be >= 1");
}

SCENARIO("a decision tree refuses a batch with a bad value and keeps its model") {
  eddy::ml::matrix X;
  eddy::ml::labels y;
  checkerboard(500, 4, X, y);
  auto tree = decision_tree::make();
  REQUIRE_FALSE(tree->fit(X, y));
  const auto nodes = tree->n_nodes();
  auto dirty = X;
  dirty(17, 1) = std::numeric_limits<double>::quiet_NaN();
  auto err = tree->fit(dirty, y);
  CHECK(eddy::ml::is(err, eddy::ml::errc::bad_input));
  CHECK(eddy::describe(err) ==
        "decision_tree::fit: X holds a NaN or infinite value; nothing learned");
  CHECK(eddy::ml::is(tree->fit(X, y.head(10)), eddy::ml::errc::shape_mismatch));
  CHECK(tree->n_nodes() == nodes);
  CHECK(tree->predict(eddy::ml::vector::Zero(3)) == -1);
  CHECK(decision_tree{}.predict(eddy::ml::vector::Zero(2)) == -1);
}

SCENARIO("a restored decision tree predicts exactly like the original") {
  eddy::ml::matrix X;
  eddy::ml::labels y;
  checkerboard(2'000, 5, X, y);
  eddy::ml::decision_tree_config cfg;
  cfg.max_features = 1;
  auto tree = decision_tree::make(cfg);
  REQUIRE_FALSE(tree->fit(X, y));
  std::ostringstream out;
  {
    boost::archive::binary_oarchive archive{out};
    archive << *tree;
  }
  decision_tree restored;
  std::istringstream in{out.str()};
  {
    boost::archive::binary_iarchive archive{in};
    archive >> restored;
  }
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    REQUIRE(restored.predict_proba(X.row(i).transpose()) ==
            tree->predict_proba(X.row(i).transpose()));
  CHECK(restored.n_nodes() == tree->n_nodes());
}

SCENARIO("a decision tree refuses labels outside [0, 1024) instead of allocating for them") {
  eddy::ml::matrix X;
  eddy::ml::labels y;
  checkerboard(300, 6, X, y);
  auto tree = decision_tree::make();
  REQUIRE_FALSE(tree->fit(X, y));
  const auto nodes = tree->n_nodes();
  for (int label : {INT_MAX, 1024, -1, INT_MIN}) {
    auto bad = y;
    bad[5] = label;
    auto err = tree->fit(X, bad);
    CHECK(eddy::ml::is(err, eddy::ml::errc::bad_input));
    CHECK(eddy::describe(err) == "decision_tree::fit: label y[5] = " + std::to_string(label) +
                                     " is outside [0, 1024); map the labels to 0 .. k - 1 first");
  }
  CHECK(tree->n_nodes() == nodes);
  auto high = y;
  high[0] = 1023; // the largest label allowed
  REQUIRE_FALSE(tree->fit(X, high));
  CHECK(tree->n_classes() == 1024);
  CHECK(eddy::ml::is(tree->fit(eddy::ml::matrix(0, 2), eddy::ml::labels{}),
                     eddy::ml::errc::invalid_argument));
  CHECK(eddy::ml::is(tree->fit(eddy::ml::matrix(3, 0), eddy::ml::labels::Zero(3)),
                     eddy::ml::errc::invalid_argument));
}

SCENARIO("a default-constructed decision tree predicts -1 and fits with the defaults") {
  decision_tree tree;
  CHECK(tree.predict(eddy::ml::vector{}) == -1);
  CHECK(tree.predict_proba(eddy::ml::vector::Zero(2)).size() == 0);
  eddy::ml::matrix X;
  eddy::ml::labels y;
  checkerboard(500, 7, X, y);
  REQUIRE_FALSE(tree.fit(X, y));
  auto made = decision_tree::make();
  REQUIRE_FALSE(made->fit(X, y));
  CHECK(eddy::ml::to_binary(tree) == eddy::ml::to_binary(*made));
}

namespace {

// The binary archive of a decision_tree written field by field, so that a test can damage one.
struct tree_fields {
  struct node {
    std::int32_t feature = -1;
    double threshold = 0;
    std::uint32_t left = 0, right = 0;
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& feature& threshold& left& right;
    }
  };
  eddy::ml::decision_tree_config cfg;
  std::size_t n_features = 2, n_classes = 2;
  std::vector<node> nodes{{1, 0.5, 1, 2}, {}, {}};
  std::vector<double> values{0.5, 0.5, 1, 0, 0, 1};
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg& n_features& n_classes& nodes& values;
  }
};

} // namespace

SCENARIO("a decision tree archive with an index out of range is refused as corrupt") {
  decision_tree tree;
  REQUIRE_FALSE(eddy::ml::from_binary(eddy::ml::to_binary(tree_fields{}), tree));
  CHECK(tree.predict((eddy::ml::vector(2) << 0, 0.7).finished()) == 1);
  auto refused = [](const tree_fields& f) {
    decision_tree kept;
    CHECK(eddy::ml::is(eddy::ml::from_binary(eddy::ml::to_binary(f), kept),
                       eddy::ml::errc::corrupt_file));
    CHECK(kept.n_nodes() == 0);
  };
  tree_fields f;
  f.nodes[0].feature = 2;
  refused(f);
  f = {};
  f.nodes[0].right = 0; // a loop
  refused(f);
  f = {};
  f.nodes[0].left = 7;
  refused(f);
  f = {};
  f.values.pop_back();
  refused(f);
  f = {};
  f.n_classes = 3;
  refused(f);
}
