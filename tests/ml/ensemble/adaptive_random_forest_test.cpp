#include "../archive_bytes.hpp"

#include <eddy/ml/datasets/synthetic_streams.hpp>
#include <eddy/ml/ensemble/adaptive_random_forest.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

using eddy::ml::adaptive_random_forest;
using eddy::ml::hoeffding_tree;

namespace {

std::vector<eddy::ml::labelled_record> sea_records(std::uint64_t seed, std::size_t n,
                                                   std::vector<int> concepts = {1, 2, 3, 4}) {
  eddy::ml::sea_config cfg;
  cfg.seed = seed;
  cfg.concepts = std::move(concepts);
  eddy::ml::sea_generator stream{cfg};
  std::vector<eddy::ml::labelled_record> result;
  for (std::size_t i = 0; i < n; ++i)
    result.push_back(stream.next());
  return result;
}

// 1 where the model predicted the record right before learning it (prequential).
template <class Model>
std::vector<char> correctness(Model& model, const std::vector<eddy::ml::labelled_record>& rs) {
  std::vector<char> right;
  for (const auto& r : rs) {
    right.push_back(model.predict(r.x) == r.y);
    REQUIRE_FALSE(model.learn(r.x, r.y));
  }
  return right;
}

double accuracy(const std::vector<char>& right, std::size_t from, std::size_t to) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i)
    sum += right[i];
  return sum / static_cast<double>(to - from);
}

// Records after drift `d` until a 500-record window is back to 97 % of the model's accuracy
// in the 2'000 records before the drift (10'000 when it never gets there).
std::size_t recovery(const std::vector<char>& right, std::size_t d) {
  const double before = accuracy(right, d - 2'000, d);
  for (std::size_t offset = 0; offset < 10'000; offset += 100)
    if (accuracy(right, d + offset, d + offset + 500) >= 0.97 * before)
      return offset;
  return 10'000;
}

} // namespace

SCENARIO("an adaptive random forest regains its accuracy after a drift faster than a tree") {
  // SEA, seed 1, drifts at 25'000, 50'000 and 75'000 (see bench/ml/drift_report.cpp for the
  // full curves over ten seeds).
  auto records = sea_records(1, 100'000);
  auto tree = hoeffding_tree::make(3, 2);
  auto forest = adaptive_random_forest::make(3, 2);
  REQUIRE(tree);
  REQUIRE(forest);
  auto tree_right = correctness(*tree, records);
  auto forest_right = correctness(*forest, records);
  std::size_t tree_recovery = 0, forest_recovery = 0;
  double tree_after = 0, forest_after = 0;
  for (std::size_t d : {25'000, 50'000, 75'000}) {
    tree_recovery += recovery(tree_right, d);
    forest_recovery += recovery(forest_right, d);
    tree_after += accuracy(tree_right, d, d + 5'000) / 3;
    forest_after += accuracy(forest_right, d, d + 5'000) / 3;
  }
  INFO("records to recover: tree " << tree_recovery << ", forest " << forest_recovery);
  INFO("accuracy in the 5'000 records after a drift: tree " << tree_after << ", forest "
                                                            << forest_after);
  CHECK(forest_recovery < tree_recovery);
  CHECK(forest_after > tree_after + 0.03);
  CHECK(forest->n_drifts() > 0);
  CHECK(forest->n_warnings() >= forest->n_drifts());
  CHECK(forest->memory_bytes() > tree->memory_bytes());
}

SCENARIO("an adaptive random forest refuses bad input and a 1 % bad stream changes nothing") {
  auto clean = adaptive_random_forest::make(3, 2);
  auto mixed = adaptive_random_forest::make(3, 2);
  REQUIRE(clean);
  REQUIRE(mixed);
  auto records = sea_records(2, 10'000);
  std::size_t refused = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    REQUIRE_FALSE(clean->learn(r.x, r.y));
    REQUIRE_FALSE(mixed->learn(r.x, r.y));
    if (i % 100 == 7) {
      eddy::ml::vector bad = r.x;
      bad[i % 3] = i % 200 == 7 ? std::numeric_limits<double>::quiet_NaN()
                                : std::numeric_limits<double>::infinity();
      auto err = mixed->learn(bad, r.y);
      REQUIRE(eddy::ml::is(err, eddy::ml::errc::bad_input));
      refused += 1;
    }
  }
  CHECK(refused == 100);
  CHECK(to_bytes(*mixed) == to_bytes(*clean));
  auto err = mixed->learn(eddy::ml::vector::Zero(2), 0);
  CHECK(eddy::describe(err) == "adaptive_random_forest::learn: x has 2 features, expected 3");
  CHECK(mixed->predict(eddy::ml::vector::Zero(2)) == -1);
  for (const auto& r : sea_records(3, 500))
    REQUIRE(mixed->predict_proba(r.x).allFinite());
  eddy::ml::adaptive_random_forest_config cfg;
  cfg.n_trees = 0;
  auto none = adaptive_random_forest::make(3, 2, cfg);
  REQUIRE_FALSE(none);
  CHECK(eddy::describe(none.error()) == "adaptive_random_forest: n_trees must be at least 1");
}

SCENARIO("a restored adaptive random forest predicts exactly like an uninterrupted one") {
  auto records = sea_records(4, 40'000, {1, 3}); // a drift at 25'000, after the snapshot
  eddy::ml::adaptive_random_forest_config cfg;
  cfg.n_trees = 5;
  auto original = adaptive_random_forest::make(3, 2, cfg);
  REQUIRE(original);
  for (std::size_t i = 0; i < 12'345; ++i)
    REQUIRE_FALSE(original->learn(records[i].x, records[i].y));
  auto restored = from_bytes<adaptive_random_forest>(to_bytes(*original));
  for (std::size_t i = 12'345; i < records.size(); ++i) {
    REQUIRE(restored.predict_proba(records[i].x) == original->predict_proba(records[i].x));
    REQUIRE_FALSE(original->learn(records[i].x, records[i].y));
    REQUIRE_FALSE(restored.learn(records[i].x, records[i].y));
  }
  CHECK(restored.n_drifts() == original->n_drifts());
  CHECK(original->n_drifts() > 0);
  CHECK(to_bytes(restored) == to_bytes(*original));
}

SCENARIO("a default-constructed adaptive random forest refuses to learn instead of crashing") {
  adaptive_random_forest forest;
  CHECK(eddy::ml::is(forest.learn(eddy::ml::vector{}, 0), eddy::ml::errc::not_fitted));
  CHECK(eddy::ml::is(forest.learn(eddy::ml::vector::Zero(3), 0), eddy::ml::errc::not_fitted));
  CHECK(eddy::ml::is(forest.learn_batch(eddy::ml::matrix(0, 0), eddy::ml::labels{}),
                     eddy::ml::errc::not_fitted));
  CHECK(forest.predict(eddy::ml::vector{}) == -1);
  CHECK(forest.predict_proba(eddy::ml::vector::Zero(3)).size() == 0);
  auto restored = from_bytes<adaptive_random_forest>(to_bytes(forest));
  CHECK(restored.trees().empty());
}

SCENARIO("adaptive random forest learn_batch equals learning the rows one by one") {
  auto records = sea_records(5, 4'000);
  eddy::ml::matrix X(static_cast<Eigen::Index>(records.size()), 3);
  eddy::ml::labels y(static_cast<Eigen::Index>(records.size()));
  for (std::size_t i = 0; i < records.size(); ++i) {
    X.row(static_cast<Eigen::Index>(i)) = records[i].x.transpose();
    y[static_cast<Eigen::Index>(i)] = records[i].y;
  }
  eddy::ml::adaptive_random_forest_config cfg;
  cfg.n_trees = 3;
  auto batch = adaptive_random_forest::make(3, 2, cfg);
  auto single = adaptive_random_forest::make(3, 2, cfg);
  REQUIRE_FALSE(batch->learn_batch(X.topRows(1'000), y.head(1'000)));
  REQUIRE_FALSE(batch->learn_batch(X.bottomRows(3'000), y.tail(3'000)));
  for (const auto& r : records)
    REQUIRE_FALSE(single->learn(r.x, r.y));
  CHECK(to_bytes(*batch) == to_bytes(*single));
  auto before = to_bytes(*batch);
  X(17, 2) = 1e200;
  auto err = batch->learn_batch(X, y);
  CHECK(eddy::describe(err) == "adaptive_random_forest::learn_batch: X(17, 2) = 1e+200 is beyond "
                               "+-1e+100; rescale it (nothing learned)");
  CHECK(eddy::ml::is(batch->learn(eddy::ml::vector::Constant(3, -1e101), 0),
                     eddy::ml::errc::bad_input));
  CHECK(eddy::ml::is(batch->learn(records[0].x, 0, 1e60), eddy::ml::errc::bad_input));
  CHECK(to_bytes(*batch) == before);
}

namespace {

// The binary archive of an adaptive_random_forest written field by field, so that a test can
// damage one.
struct forest_fields {
  struct member {
    hoeffding_tree tree, background;
    bool has_background = false;
    eddy::ml::adwin warning, drift;
    double correct = 0, seen = 0;
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& tree& background& has_background& warning& drift& correct& seen;
    }
  };
  eddy::ml::adaptive_random_forest_config cfg;
  std::size_t n_features = 3, n_classes = 2;
  std::vector<member> members;
  std::uint64_t warnings = 0, drifts = 0;
  std::mt19937_64 rng{1};
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg& n_features& n_classes& members& warnings& drifts& rng;
  }
};

forest_fields two_trees() {
  forest_fields f;
  f.cfg.n_trees = 2;
  f.cfg.max_features = 3;
  f.cfg.tree.max_features = 3;
  for (int i = 0; i < 2; ++i)
    f.members.push_back({*hoeffding_tree::make(3, 2, f.cfg.tree), {}, false, {}, {}, 0, 0});
  return f;
}

} // namespace

SCENARIO("an adaptive random forest archive whose trees do not match it is refused as corrupt") {
  adaptive_random_forest forest;
  REQUIRE_FALSE(eddy::ml::from_binary(eddy::ml::to_binary(two_trees()), forest));
  CHECK(forest.trees().size() == 2);
  auto refused = [](const forest_fields& damaged) {
    auto kept = *adaptive_random_forest::make(3, 2);
    auto before = to_bytes(kept);
    auto err = eddy::ml::from_binary(eddy::ml::to_binary(damaged), kept);
    CHECK(eddy::ml::is(err, eddy::ml::errc::corrupt_file));
    CHECK(to_bytes(kept) == before);
  };
  auto f = two_trees();
  f.n_features = 4; // the trees take 3
  refused(f);
  f = two_trees();
  f.members.pop_back(); // n_trees says 2
  refused(f);
  f = two_trees();
  f.members[1].has_background = true; // an empty background tree
  refused(f);
  f = two_trees();
  f.cfg.lambda = 0;
  refused(f);
}
