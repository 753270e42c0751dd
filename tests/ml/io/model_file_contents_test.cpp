// Model files whose frame and CRC-32C verify but whose contents disagree with each other (sizes
// that do not match, empty intercepts, wrong class counts, slots out of range, flags that are
// not 0 or 1): every learner and transformer with a model_kind refuses them on load with
// errc::corrupt_file and a sentence naming the inconsistency, and the model it was loaded into
// stays as it was. One scenario per kind of model file; each first loads the consistent
// payload (so the crafted layout is the model's), then damages one field at a time.
#include "crafted_model_file.hpp"

#include <eddy/examples/ml/sensor_features.hpp>
#include <eddy/ml/cluster/online_kmeans.hpp>
#include <eddy/ml/drift/adwin.hpp>
#include <eddy/ml/ensemble/adaptive_random_forest.hpp>
#include <eddy/ml/ensemble/random_forest.hpp>
#include <eddy/ml/features/feature_hasher.hpp>
#include <eddy/ml/features/imputer.hpp>
#include <eddy/ml/features/min_max_scaler.hpp>
#include <eddy/ml/features/one_hot_encoder.hpp>
#include <eddy/ml/features/rolling_stats.hpp>
#include <eddy/ml/features/standard_scaler.hpp>
#include <eddy/ml/features/vector_assembler.hpp>
#include <eddy/ml/linear_model/linear_regression.hpp>
#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/naive_bayes/naive_bayes.hpp>
#include <eddy/ml/neural_network/mlp.hpp>
#include <eddy/ml/reco/matrix_factorization.hpp>
#include <eddy/ml/tree/decision_tree.hpp>
#include <eddy/ml/tree/hoeffding_tree.hpp>

#include <boost/serialization/deque.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace eddy::ml;
using eddy::examples::sensor_features;

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();

/// A byte where a bool is stored: 0 or 1 are the only valid values.
using flag_byte = unsigned char;

vector values(std::initializer_list<double> list) {
  vector v(static_cast<Eigen::Index>(list.size()));
  Eigen::Index i = 0;
  for (double x : list)
    v[i++] = x;
  return v;
}

/// x in R^3 with label x0 + x1 > 0, for training the targets of the scenarios.
template <class Learn>
void train(Learn learn, int n = 50) {
  std::mt19937_64 rng{7};
  std::normal_distribution<double> normal;
  for (int i = 0; i < n; ++i) {
    vector x(3);
    for (int j = 0; j < 3; ++j)
      x[j] = normal(rng);
    learn(x, x[0] + x[1] > 0 ? 1 : 0);
  }
}

// -- logistic_regression: cfg, n_features, weights, intercepts, accum, z, t ----------------------

struct logistic_fields {
  using weight_matrix = logistic_regression::weight_matrix;
  int n_classes = 2;
  optimizer method = optimizer::sgd;
  flag_byte fit_intercept = 1;
  Eigen::Index n = 3;
  weight_matrix weights = weight_matrix::Constant(1, 3, 0.5);
  vector intercepts = values({0.25});
  weight_matrix accum, z;
  double t = 4;

  std::string payload() const {
    logistic_regression_config d;
    auto cfg =
        archived_fields<int, optimizer, learning_rate, double, double, double, double, double,
                        double, flag_byte>{{n_classes, method, d.schedule, d.eta0, d.power_t, d.l1,
                                            d.l2, d.ftrl_alpha, d.ftrl_beta, fit_intercept}};
    return payload_of(cfg, n, weights, intercepts, accum, z, t);
  }
};

} // namespace

SCENARIO("a logistic regression file with inconsistent contents is refused") {
  crafted_files files;
  auto target = *logistic_regression::make(3);
  train([&](const vector& x, int y) { REQUIRE_FALSE(target.learn(x, y)); });
  using fields = logistic_fields;
  auto loaded = accepted<logistic_regression>(files, fields{}.payload());
  CHECK(loaded.decision_function(values({1, 1, 1})) == 1.75);
  auto f = fields{};
  f.intercepts = vector{}; // empty intercepts
  refused(files, f.payload(), target, "0 intercepts for 1 weight vectors");
  f = fields{};
  f.weights = fields::weight_matrix::Zero(1, 2); // 2 weights for 3 features
  refused(files, f.payload(), target, "the weights are 1 x 2, expected 1 x 3");
  f = fields{};
  f.n_classes = 3; // a multinomial model has one weight row per class
  refused(files, f.payload(), target, "the weights are 1 x 3, expected 3 x 3");
  f = fields{};
  f.n_classes = 1;
  refused(files, f.payload(), target, "n_classes must be at least 2");
  f = fields{};
  f.method = optimizer::adagrad; // with no sums of squared gradients
  refused(files, f.payload(), target, "sums of squared gradients are 0 x 0, expected 1 x 4");
  f = fields{};
  f.method = optimizer::ftrl;
  f.accum = fields::weight_matrix::Zero(1, 4); // but no z
  refused(files, f.payload(), target, "FTRL's z is 0 x 0, expected 1 x 4");
  f = fields{};
  f.accum = fields::weight_matrix::Zero(1, 4); // SGD keeps none
  refused(files, f.payload(), target, "expected none for SGD");
  f = fields{};
  f.method = static_cast<optimizer>(7);
  refused(files, f.payload(), target, "the optimizer must be sgd, adagrad or ftrl");
  f = fields{};
  f.n = 0; // a model of no features with weights
  refused(files, f.payload(), target, "a model of no features holds weights");
  f = fields{};
  f.n = -3;
  refused(files, f.payload(), target, "n_features must be at least 1");
  f = fields{};
  f.weights(0, 1) = not_a_number;
  refused(files, f.payload(), target, "is not finite");
  f = fields{};
  f.t = 0;
  refused(files, f.payload(), target, "the update counter is not finite and >= 1");
  f = fields{};
  f.fit_intercept = 2;
  refused(files, f.payload(), target, "fit_intercept holds the byte 2, not 0 or 1");
}

namespace {

// -- linear_regression: cfg, weights, intercept, accum, t ----------------------------------------

struct linear_fields {
  optimizer method = optimizer::sgd;
  vector weights = values({0.5, -1, 2});
  double intercept = 0.25;
  vector accum;
  double t = 3;

  std::string payload() const {
    linear_regression_config d;
    auto cfg = archived_fields<optimizer, learning_rate, double, double, double, flag_byte>{
        {method, d.schedule, d.eta0, d.power_t, d.l2, flag_byte{1}}};
    return payload_of(cfg, weights, intercept, accum, t);
  }
};

} // namespace

SCENARIO("a linear regression file with inconsistent contents is refused") {
  crafted_files files;
  auto target = *linear_regression::make(3);
  train([&](const vector& x, int y) { REQUIRE_FALSE(target.learn(x, y)); });
  using fields = linear_fields;
  auto loaded = accepted<linear_regression>(files, fields{}.payload());
  CHECK(loaded.predict(values({1, 1, 1})) == 1.75);
  auto f = fields{};
  f.method = optimizer::adagrad;
  f.accum = values({1, 1, 1}); // AdaGrad keeps one more, for the intercept
  refused(files, f.payload(), target, "3 sums of squared gradients for 3 weights, expected 4");
  f = fields{};
  f.accum = values({1, 1, 1, 1}); // SGD keeps none
  refused(files, f.payload(), target, "for 3 weights, expected 0");
  f = fields{};
  f.weights = vector{};
  f.method = optimizer::adagrad;
  f.accum = values({1});
  refused(files, f.payload(), target, "1 sums of squared gradients for 0 weights, expected 0");
  f = fields{};
  f.method = optimizer::ftrl;
  refused(files, f.payload(), target, "the optimizer must be sgd or adagrad");
  f = fields{};
  f.intercept = not_a_number;
  refused(files, f.payload(), target, "is not finite");
  f = fields{};
  f.t = -1;
  refused(files, f.payload(), target, "the update counter");
}

namespace {

// -- gaussian_naive_bayes: var_smoothing, weights, means, m2, all_weight, all_mean, all_m2 -----

struct naive_bayes_fields {
  double var_smoothing = 1e-9;
  vector weights = values({2, 3});
  matrix means = matrix::Constant(2, 3, 0.5);
  matrix m2 = matrix::Constant(2, 3, 1.0);
  double all_weight = 5;
  vector all_mean = values({0.5, 0.5, 0.5});
  vector all_m2 = values({2, 2, 2});

  std::string payload() const {
    return payload_of(var_smoothing, weights, means, m2, all_weight, all_mean, all_m2);
  }
};

} // namespace

SCENARIO("a naive Bayes file with inconsistent contents is refused") {
  crafted_files files;
  auto target = *gaussian_naive_bayes::make(3, 2);
  train([&](const vector& x, int y) { REQUIRE_FALSE(target.learn(x, y)); });
  using fields = naive_bayes_fields;
  auto loaded = accepted<gaussian_naive_bayes>(files, fields{}.payload());
  CHECK(loaded.class_weights() == values({2, 3}));
  CHECK(loaded.variances() ==
        matrix::Constant(2, 3, 1.0).cwiseQuotient((matrix(2, 3) << 2, 2, 2, 3, 3, 3).finished()));
  auto f = fields{};
  f.weights = values({2, 3, 1}); // three classes, statistics for two
  refused(files, f.payload(), target, "3 class weights but means 2 x 3");
  f = fields{};
  f.m2 = matrix::Ones(2, 2);
  refused(files, f.payload(), target, "spreads 2 x 2, expected 2 x 3");
  f = fields{};
  f.all_mean = values({0, 0});
  refused(files, f.payload(), target, "2 overall means and 3 overall spreads for 3 features");
  f = fields{};
  f.weights = values({5});
  f.means = matrix::Zero(1, 3);
  f.m2 = matrix::Zero(1, 3);
  refused(files, f.payload(), target, "a model has at least 2 classes");
  f = fields{};
  f.weights = vector{}; // no classes, but statistics
  refused(files, f.payload(), target, "a model of no classes holds statistics");
  f = fields{};
  f.var_smoothing = -1;
  refused(files, f.payload(), target, "var_smoothing");
  f = fields{};
  f.weights[0] = -2;
  refused(files, f.payload(), target, "a class weight is negative or not finite");
  f = fields{};
  f.means(1, 2) = infinity;
  refused(files, f.payload(), target, "a mean or spread is not finite");
}

namespace {

// -- standard_scaler: count, mean, m2 ------------------------------------------------------------

struct standard_scaler_fields {
  double count = 4;
  vector mean = values({1, 2, 3});
  vector m2 = values({4, 4, 4});

  std::string payload() const { return payload_of(count, mean, m2); }
};

// -- min_max_scaler: min, max, low, high, clip ---------------------------------------------------

struct min_max_fields {
  vector min = values({0, -1, 2});
  vector max = values({1, 1, 4});
  double low = 0, high = 1;
  flag_byte clip = 0;

  std::string payload() const { return payload_of(min, max, low, high, clip); }
};

} // namespace

SCENARIO("a standard scaler file with inconsistent contents is refused") {
  crafted_files files;
  standard_scaler target(3);
  train([&](const vector& x, int) { REQUIRE_FALSE(target.learn(x)); });
  using fields = standard_scaler_fields;
  auto loaded = accepted<standard_scaler>(files, fields{}.payload());
  CHECK(loaded.transform(values({2, 2, 2})) == values({1, 0, -1}));
  auto f = fields{};
  f.m2 = values({4, 4}); // one spread short
  refused(files, f.payload(), target, "3 means but 2 spreads");
  f = fields{};
  f.count = not_a_number;
  refused(files, f.payload(), target, "the record count is not finite and >= 0");
  f = fields{};
  f.mean[2] = not_a_number;
  refused(files, f.payload(), target, "a mean or spread is not finite");
}

SCENARIO("a min-max scaler file with inconsistent contents is refused") {
  crafted_files files;
  min_max_scaler target(3);
  train([&](const vector& x, int) { REQUIRE_FALSE(target.learn(x)); });
  using fields = min_max_fields;
  auto loaded = accepted<min_max_scaler>(files, fields{}.payload());
  CHECK(loaded.transform(values({0.5, 0, 3})) == values({0.5, 0.5, 0.5}));
  auto f = fields{};
  f.max = values({1, 1}); // one maximum short
  refused(files, f.payload(), target, "3 minima but 2 maxima");
  f = fields{};
  f.low = infinity;
  refused(files, f.payload(), target, "the target range is not within");
  f = fields{};
  f.min[1] = infinity; // one end seen, not the other
  refused(files, f.payload(), target, "feature 1 has the range [inf, 1.000000]");
  f = fields{};
  f.min[0] = 2; // above its maximum
  refused(files, f.payload(), target, "feature 0 has the range");
  f = fields{};
  f.clip = 3;
  refused(files, f.payload(), target, "clip holds the byte 3");
}

namespace {

// -- imputer: strategy, fill value, counts, means ------------------------------------------------

struct imputer_fields {
  impute_strategy strategy = impute_strategy::mean;
  double fill = 0;
  vector counts = values({2, 0, 1});
  vector means = values({1.5, 0, -2});

  std::string payload() const { return payload_of(strategy, fill, counts, means); }
};

// -- one_hot_encoder: cfg, columns ---------------------------------------------------------------

struct one_hot_fields {
  std::size_t max_categories = 3;
  unknown_category unknown = unknown_category::other;
  std::vector<std::map<std::string, std::size_t>> columns{{{"a", 0}, {"b", 1}}, {{"x", 0}}};

  std::string payload() const {
    return payload_of(archived_fields<std::size_t, unknown_category>{{max_categories, unknown}},
                      columns);
  }
};

} // namespace

SCENARIO("an imputer file with inconsistent contents is refused") {
  crafted_files files;
  auto target = *imputer::make(3);
  train([&](const vector& x, int) { REQUIRE_FALSE(target.learn(x)); });
  using fields = imputer_fields;
  auto loaded = accepted<imputer>(files, fields{}.payload());
  CHECK(loaded.transform(values({not_a_number, not_a_number, not_a_number})) ==
        values({1.5, 0, -2}));
  auto f = fields{};
  f.counts = values({2, 0}); // one count short
  refused(files, f.payload(), target, "2 counts but 3 means");
  f = fields{};
  f.strategy = static_cast<impute_strategy>(5);
  refused(files, f.payload(), target, "the strategy 5 is neither mean nor constant");
  f = fields{};
  f.fill = not_a_number;
  refused(files, f.payload(), target, "the fill value is not within");
  f = fields{};
  f.counts[1] = -1;
  refused(files, f.payload(), target, "feature 1 has a count or mean");
}

SCENARIO("a one-hot encoder file with inconsistent contents is refused") {
  crafted_files files;
  one_hot_encoder_config cfg;
  cfg.max_categories = 3;
  auto target = *one_hot_encoder::make(2, cfg);
  REQUIRE_FALSE(target.learn({"p", "q"}));
  using fields = one_hot_fields;
  auto loaded = accepted<one_hot_encoder>(files, fields{}.payload());
  CHECK(loaded.transform({"b", "y"}) == values({0, 1, 0, 0, 0, 0, 0, 1}));
  auto f = fields{};
  f.columns[0]["b"] = 5; // a slot beyond the column's
  refused(files, f.payload(), target, "gives the category 'b' the slot 5, out of range or taken");
  f = fields{};
  f.columns[0]["b"] = 0; // two categories in one slot
  refused(files, f.payload(), target, "the slot 0, out of range or taken");
  f = fields{};
  f.columns[1] = {{"w", 0}, {"x", 1}, {"y", 2}, {"z", 3}};
  refused(files, f.payload(), target, "column 1 has 4 categories for 3 slots");
  f = fields{};
  f.max_categories = 0;
  refused(files, f.payload(), target, "needs at least one category per column");
  f = fields{};
  f.unknown = static_cast<unknown_category>(9);
  refused(files, f.payload(), target, "unknown must be other, ignore or error");
  f = fields{};
  f.max_categories = std::numeric_limits<std::size_t>::max(); // + 1 "other" slot wraps to 0
  refused(files, f.payload(), target, "make encodings wider than 2^32");
}

SCENARIO("a feature hasher file with fewer than one column is refused") {
  crafted_files files;
  auto target = *feature_hasher::make(16);
  auto loaded = accepted<feature_hasher>(files, payload_of(Eigen::Index{8}, true));
  CHECK(loaded.n_features() == 8);
  refused(files, payload_of(Eigen::Index{0}, true), target, "0 columns; a hasher has at least 1");
  refused(files, payload_of(Eigen::Index{-5}, true), target, "-5 columns");
  refused(files, payload_of(Eigen::Index{8}, flag_byte{7}), target,
          "alternate_sign holds the byte 7");
}

namespace {

// -- rolling_stats: buffer, count, seq, mean, m2, last, min and max candidates -------------------

using candidates = std::deque<std::pair<std::uint64_t, double>>;

/// The state of a window of 3 after pushing 1, 2, 3, 4.
struct rolling_fields {
  std::vector<double> buffer{4, 2, 3};
  std::size_t count = 3;
  std::uint64_t seq = 4;
  double mean = 3, m2 = 2, last = 4;
  candidates min{{1, 2}, {2, 3}, {3, 4}};
  candidates max{{3, 4}};

  std::string payload() const { return payload_of(buffer, count, seq, mean, m2, last, min, max); }
};

} // namespace

SCENARIO("a rolling statistics file with inconsistent contents is refused") {
  crafted_files files;
  rolling_stats pushed(3);
  for (double v : {1.0, 2.0, 3.0, 4.0})
    REQUIRE_FALSE(pushed.push(v));
  using fields = rolling_fields;
  CHECK(fields{}.payload() == to_bytes(pushed)); // the crafted layout is rolling_stats'
  auto loaded = accepted<rolling_stats>(files, fields{}.payload());
  CHECK(loaded.min() == 2);
  rolling_stats target(5);
  REQUIRE_FALSE(target.push(10));
  auto f = fields{};
  f.buffer.clear(); // a window of no values: seq % 0
  f.count = 0;
  f.seq = 0;
  f.min.clear();
  f.max.clear();
  refused(files, f.payload(), target, "a window of no values");
  f = fields{};
  f.count = 2;
  refused(files, f.payload(), target, "2 values in a window of 3 after 4 pushes");
  f = fields{};
  f.count = 4; // more values than the window holds
  refused(files, f.payload(), target, "4 values in a window of 3");
  f = fields{};
  f.min.push_front({0, 1}); // pushed out of the window already
  refused(files, f.payload(), target,
          "the minimum candidates hold a value that is not in the "
          "window");
  f = fields{};
  f.min = {{2, 3}, {1, 2}, {3, 4}};
  refused(files, f.payload(), target, "the minimum candidates are out of order");
  f = fields{};
  f.max.clear();
  refused(files, f.payload(), target, "the maximum candidates do not end with the newest value");
  f = fields{};
  f.max = {{3, 5}}; // not the value at sequence number 3
  refused(files, f.payload(), target,
          "the maximum candidates hold a value that is not in the "
          "window");
  f = fields{};
  f.buffer[1] = not_a_number;
  refused(files, f.payload(), target, "the window holds a value push refuses");
  f = fields{};
  f.last = 7;
  refused(files, f.payload(), target, "the last value is not the newest value of the window");
}

namespace {

// -- online_kmeans: cfg, d, centroids, weights, pending ------------------------------------------

struct kmeans_fields {
  online_kmeans_config cfg;
  std::size_t d = 2;
  std::vector<double> centroids{0, 0, 1, 1}, weights{1, 1}, pending{};

  std::string payload() const { return payload_of(cfg, d, centroids, weights, pending); }
};

// -- matrix_factorization ------------------------------------------------------------------------

struct mf_fields {
  matrix_factorization_config cfg;
  std::vector<std::int64_t> user_ids{7}, item_ids{3, 4};
  std::vector<double> user_factors = std::vector<double>(10, 0.1),
                      item_factors = std::vector<double>(20, 0.2), user_bias{0.5},
                      item_bias{0.1, 0.2};
  double mean = 3;
  std::uint64_t count = 2;
  std::mt19937_64 rng{1};

  std::string payload() const {
    return payload_of(cfg, user_ids, item_ids, user_factors, item_factors, user_bias, item_bias,
                      mean, count, rng);
  }
};

} // namespace

SCENARIO("an online k-means file with inconsistent contents is refused") {
  crafted_files files;
  auto target = *online_kmeans::make(2);
  for (double v : {0.0, 1.0, 2.0})
    REQUIRE_FALSE(target.learn(values({v, v})));
  using fields = kmeans_fields;
  auto loaded = accepted<online_kmeans>(files, fields{}.payload());
  CHECK(loaded.predict(values({0.9, 0.8})) == 1);
  auto f = fields{};
  f.d = std::size_t{1} << 63; // 2 centroids x 2^63 features wraps to 0 values
  f.centroids.clear();
  refused(files, f.payload(), target, "0 centroid values for 2 centroids");
  f = fields{};
  f.centroids.pop_back();
  refused(files, f.payload(), target, "3 centroid values for 2 centroids of 2 features");
  f = fields{};
  f.pending = {1, 2, 3};
  refused(files, f.payload(), target, "3 values wait for a batch");
  f = fields{};
  f.centroids[1] = not_a_number;
  refused(files, f.payload(), target, "a centroid is not finite");
  f = fields{};
  f.weights[0] = -1;
  refused(files, f.payload(), target, "a centroid weight is negative or not finite");
  f = fields{};
  f.pending = {1e200, 0};
  refused(files, f.payload(), target, "a waiting value is not finite or beyond");
}

SCENARIO("a matrix factorization file with inconsistent contents is refused") {
  crafted_files files;
  auto target = *matrix_factorization::make();
  REQUIRE_FALSE(target.learn(1, 2, 4.0));
  using fields = mf_fields;
  auto loaded = accepted<matrix_factorization>(files, fields{}.payload());
  CHECK(loaded.n_items() == 2);
  auto f = fields{};
  f.item_factors.pop_back();
  refused(files, f.payload(), target, "sizes do not match the ids and settings");
  f = fields{};
  f.item_ids = {3, 3};
  refused(files, f.payload(), target, "sizes do not match the ids and settings");
  f = fields{};
  f.user_bias[0] = not_a_number;
  refused(files, f.payload(), target, "a factor, bias or the mean is not finite");
}

SCENARIO("a sensor features file with inconsistent contents is refused") {
  crafted_files files;
  sensor_features target;
  vector x;
  REQUIRE_FALSE(target.next({1, 1, 1.0, 40.0, 20.0, 0}, x));
  using motes = std::map<int, std::pair<rolling_stats, rolling_stats>>;
  auto windows = [](std::size_t length) {
    motes m;
    m.emplace(1, std::pair{rolling_stats{length}, rolling_stats{length}});
    return m;
  };
  auto good = payload_of(std::size_t{12}, windows(12), standard_scaler{13});
  auto loaded = accepted<sensor_features>(files, good);
  CHECK(to_bytes(loaded) == good);
  refused(files, payload_of(std::size_t{12}, windows(12), standard_scaler{12}), target,
          "the scaler takes 12 features, expected 13");
  refused(files, payload_of(std::size_t{12}, windows(5), standard_scaler{13}), target,
          "the windows of mote 1 are not 12 readings long");
}

SCENARIO("a vector assembler file of other fields or a bad flag is refused") {
  crafted_files files;
  auto target = assemble_fields({"a", "b"});
  std::vector<std::string> names{"a", "b"};
  accepted(files, payload_of(names, true), target);
  refused(files, payload_of(std::vector<std::string>{"a"}, false), target,
          "the snapshot has other fields than this assembler");
  refused(files, payload_of(names, flag_byte{2}), target, "allow_missing holds the byte 2");
}

namespace {

// -- decision_tree: cfg, n_features, n_classes, nodes, values ------------------------------------

/// A node as decision_tree writes it: feature, threshold, left, right.
using tree_node = archived_fields<std::int32_t, double, std::uint32_t, std::uint32_t>;

struct tree_fields {
  decision_tree_config cfg;
  std::size_t n_features = 2, n_classes = 2;
  std::vector<tree_node> nodes{tree_node{{1, 0.5, 1, 2}}, tree_node{{-1, 0, 0, 0}},
                               tree_node{{-1, 0, 0, 0}}};
  std::vector<double> values{0.5, 0.5, 1, 0, 0, 1};

  std::string payload() const { return payload_of(cfg, n_features, n_classes, nodes, values); }
};

decision_tree fitted_tree(std::size_t n_features, std::uint64_t seed) {
  std::mt19937_64 rng{seed};
  matrix X(60, static_cast<Eigen::Index>(n_features));
  labels y(60);
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    for (Eigen::Index j = 0; j < X.cols(); ++j)
      X(i, j) = uniform01(rng);
    y[i] = X(i, 0) > 0.5 ? 1 : 0;
  }
  auto tree = *decision_tree::make();
  REQUIRE_FALSE(tree.fit(X, y));
  return tree;
}

// -- random_forest: cfg, n_features, n_classes, trees --------------------------------------------

struct forest_fields {
  std::size_t n_trees = 2;
  flag_byte bootstrap = 1;
  std::size_t n_features = 2, n_classes = 2;
  std::vector<decision_tree> trees{fitted_tree(2, 1), fitted_tree(2, 2)};

  std::string payload() const {
    random_forest_config d;
    auto cfg =
        archived_fields<std::size_t, std::size_t, flag_byte, std::size_t, std::size_t, std::size_t,
                        std::uint64_t>{{n_trees, d.max_features, bootstrap, d.max_depth,
                                        d.min_samples_split, d.min_samples_leaf, d.seed}};
    return payload_of(cfg, n_features, n_classes, trees);
  }
};

} // namespace

SCENARIO("decision tree and random forest files with inconsistent contents are refused") {
  crafted_files files;
  auto tree_target = fitted_tree(3, 5);
  auto tree = accepted<decision_tree>(files, tree_fields{}.payload());
  CHECK(tree.predict(values({0, 0.7})) == 1);
  auto t = tree_fields{};
  std::get<3>(t.nodes[0].fields) = 5; // no node 5
  refused(files, t.payload(), tree_target, "a node or the class proportions are out of range");
  t = tree_fields{};
  t.values.pop_back();
  refused(files, t.payload(), tree_target, "a node or the class proportions are out of range");

  auto forest_target = *random_forest::make();
  REQUIRE(forest_target.trees().empty());
  auto forest = accepted<random_forest>(files, forest_fields{}.payload());
  CHECK(forest.trees().size() == 2);
  auto f = forest_fields{};
  f.n_trees = 3;
  refused(files, f.payload(), forest_target, "the trees do not match the forest");
  f = forest_fields{};
  f.trees[1] = fitted_tree(3, 2); // a tree of 3 features in a forest of 2
  refused(files, f.payload(), forest_target, "the trees do not match the forest");
  f = forest_fields{};
  f.bootstrap = 2;
  refused(files, f.payload(), forest_target, "bootstrap holds the byte 2");
}

namespace {

// -- hoeffding_tree: cfg, n_features, n_classes, nodes, leaves, engine ---------------------------

/// A node as hoeffding_tree writes it: feature, threshold, left, right, leaf.
using hoeffding_node =
    archived_fields<std::int32_t, double, std::uint32_t, std::uint32_t, std::uint32_t>;

struct hoeffding_fields {
  hoeffding_tree_config cfg;
  std::size_t n_features = 2, n_classes = 2;
  std::vector<hoeffding_node> nodes{hoeffding_node{{-1, 0, 0, 0, 0}}};
  std::vector<hoeffding_leaf> leaves{hoeffding_leaf::with_features({0, 1}, {0, 0})};
  std::mt19937_64 rng{1};

  std::string payload() const { return payload_of(cfg, n_features, n_classes, nodes, leaves, rng); }
};

// -- adaptive_random_forest: cfg, n_features, n_classes, members, warnings, drifts, engine -----

/// A member as adaptive_random_forest writes it: tree, background tree, has_background, warning
/// and drift detectors, correct and seen weights.
using forest_member =
    archived_fields<hoeffding_tree, hoeffding_tree, flag_byte, adwin, adwin, double, double>;

struct arf_fields {
  adaptive_random_forest_config cfg = [] {
    adaptive_random_forest_config c;
    c.n_trees = 2;
    c.max_features = 2;
    c.tree.max_features = 2;
    return c;
  }();
  std::size_t n_features = 3, n_classes = 2;
  std::vector<forest_member> members{member(3), member(3)};
  std::uint64_t warnings = 0, drifts = 0;
  std::mt19937_64 rng{1};

  forest_member member(std::size_t d) const {
    return forest_member{{*hoeffding_tree::make(d, 2, cfg.tree), hoeffding_tree{}, flag_byte{0},
                          adwin{}, adwin{}, 0.0, 0.0}};
  }

  std::string payload() const {
    return payload_of(cfg, n_features, n_classes, members, warnings, drifts, rng);
  }
};

} // namespace

SCENARIO("Hoeffding tree and adaptive random forest files with inconsistent contents are refused") {
  crafted_files files;
  auto tree_target = *hoeffding_tree::make(3, 2);
  train([&](const vector& x, int y) { REQUIRE_FALSE(tree_target.learn(x, y)); });
  auto tree = accepted<hoeffding_tree>(files, hoeffding_fields{}.payload());
  CHECK(tree.n_leaves() == 1);
  auto t = hoeffding_fields{};
  std::get<4>(t.nodes[0].fields) = 1; // no leaf 1
  refused(files, t.payload(), tree_target, "node 0 is out of range");
  t = hoeffding_fields{};
  t.leaves[0].class_weights.push_back(0); // three class weights in a tree of two classes
  refused(files, t.payload(), tree_target, "a leaf's statistics do not match its shape");

  auto forest_target = *adaptive_random_forest::make(3, 2);
  train([&](const vector& x, int y) { REQUIRE_FALSE(forest_target.learn(x, y)); });
  auto forest = accepted<adaptive_random_forest>(files, arf_fields{}.payload());
  CHECK(forest.trees().size() == 2);
  auto f = arf_fields{};
  f.members.pop_back(); // n_trees says 2
  refused(files, f.payload(), forest_target, "adaptive_random_forest: settings out of range");
  f = arf_fields{};
  f.members[1] = f.member(4); // a tree of 4 features in a forest of 3
  refused(files, f.payload(), forest_target, "a tree does not match the forest");
  f = arf_fields{};
  std::get<2>(f.members[0].fields) = 2;
  refused(files, f.payload(), forest_target, "has_background holds the byte 2");
}

namespace {

// -- mlp_classifier: cfg, n_features, steps, coefs, intercepts, velocities, records kept ---------

struct mlp_fields {
  std::vector<int> hidden{2};
  int n_classes = 2;
  activation act = activation::relu;
  int batch_size = 4;
  flag_byte nesterov = 1;
  Eigen::Index n = 3;
  std::vector<matrix> coefs{matrix::Constant(3, 2, 0.5), matrix::Constant(2, 1, -0.5)};
  std::vector<vector> intercepts{values({0.1, 0.2}), values({0.3})};
  std::vector<matrix> vel_coefs{matrix::Zero(3, 2), matrix::Zero(2, 1)};
  std::vector<vector> vel_intercepts{vector::Zero(2), vector::Zero(1)};
  int n_pending = 1;
  matrix px = matrix::Constant(1, 3, 1.0);
  labels py = labels::Constant(1, 1);
  vector pw = vector::Ones(1);

  std::string payload() const {
    mlp_config d;
    auto cfg =
        archived_fields<std::vector<int>, int, activation, double, double, double, int, uint64_t,
                        flag_byte>{{hidden, n_classes, act, d.learning_rate, d.momentum, d.alpha,
                                    batch_size, d.seed, nesterov}};
    return payload_of(cfg, n, uint64_t{5}, coefs, intercepts, vel_coefs, vel_intercepts, n_pending,
                      px, py, pw);
  }
};

} // namespace

SCENARIO("a multilayer perceptron file with inconsistent contents is refused") {
  crafted_files files;
  mlp_config cfg;
  cfg.hidden = {4};
  auto target = *mlp_classifier::make(3, cfg);
  train([&](const vector& x, int y) { REQUIRE_FALSE(target.learn(x, y)); });
  using fields = mlp_fields;
  auto loaded = accepted<mlp_classifier>(files, fields{}.payload());
  CHECK(loaded.n_pending() == 1);
  CHECK(loaded.n_steps() == 5);
  auto f = fields{};
  f.coefs[0] = matrix::Zero(3, 3); // 3 units where the settings say 2
  refused(files, f.payload(), target, "layer 0 is 3 x 3 with 2 intercepts, expected 3 x 2");
  f = fields{};
  f.intercepts.pop_back();
  refused(files, f.payload(), target, "2 weight matrices and 1 intercept vectors for 2 layers");
  f = fields{};
  f.vel_coefs[1] = matrix::Zero(2, 2);
  refused(files, f.payload(), target, "the momentum: layer 1 is 2 x 2");
  f = fields{};
  f.hidden = {0};
  refused(files, f.payload(), target, "a hidden layer of 0 units");
  f = fields{};
  f.coefs[1](1, 0) = infinity;
  refused(files, f.payload(), target, "layer 1 holds a weight or momentum that is not finite");
  f = fields{};
  f.n_pending = 4; // a full mini-batch is stepped on, never kept
  refused(files, f.payload(), target, "4 records kept for a mini-batch of 4");
  f = fields{};
  f.py = labels::Constant(1, 2);
  refused(files, f.payload(), target, "a record kept has the label 2");
  f = fields{};
  f.px(0, 1) = not_a_number;
  refused(files, f.payload(), target, "a record kept holds a non-finite value");
  f = fields{};
  f.act = static_cast<activation>(9);
  refused(files, f.payload(), target, "hidden_activation is not relu, tanh or logistic");
  f = fields{};
  f.nesterov = 3;
  refused(files, f.payload(), target, "nesterov holds the byte 3, not 0 or 1");
}
