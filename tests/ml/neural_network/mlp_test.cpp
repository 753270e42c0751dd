#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/neural_network/mlp.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using eddy::ml::activation;
using eddy::ml::errc;
using eddy::ml::labels;
using eddy::ml::matrix;
using eddy::ml::mlp_classifier;
using eddy::ml::mlp_config;
using eddy::ml::vector;

namespace {

/// `n` points in [-1, 1]^2 labelled by the sign of x0 * x1 (XOR: no line separates it).
void xor_data(int n, uint64_t seed, matrix& X, labels& y) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  X.resize(n, 2);
  y.resize(n);
  for (int i = 0; i < n; ++i) {
    X(i, 0) = u(rng);
    X(i, 1) = u(rng);
    y[i] = X(i, 0) * X(i, 1) > 0 ? 1 : 0;
  }
}

/// The loss the MLP minimizes on (X, y): mean log loss plus alpha / 2 ||W||^2 / n.
double loss(const mlp_classifier& m, const matrix& X, const labels& y, double alpha) {
  matrix p = m.predict_proba_rows(X);
  double sum = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    sum -= std::log(p(i, y[i]));
  double penalty = 0;
  for (const auto& w : m.coefs())
    penalty += w.squaredNorm();
  return sum / static_cast<double>(X.rows()) +
         0.5 * alpha * penalty / static_cast<double>(X.rows());
}

template <class Model>
double accuracy(const Model& m, const matrix& X, const labels& y) {
  int right = 0;
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    right += m.predict(vector(X.row(i).transpose())) == y[i];
  return static_cast<double>(right) / static_cast<double>(X.rows());
}

} // namespace

TEST_CASE("mlp_classifier refuses settings out of range, saying which") {
  mlp_config cfg;
  cfg.hidden = {};
  auto m = mlp_classifier::make(4, cfg);
  REQUIRE_FALSE(m);
  CHECK(eddy::ml::is(m.error(), errc::invalid_argument));
  CHECK_THAT(eddy::describe(m.error()), Catch::Contains("hidden has 0 layers"));
  cfg = {};
  cfg.learning_rate = 0;
  CHECK_FALSE(mlp_classifier::make(4, cfg));
  cfg = {};
  cfg.momentum = 1.0;
  CHECK_FALSE(mlp_classifier::make(4, cfg));
  cfg = {};
  cfg.batch_size = 0;
  CHECK_FALSE(mlp_classifier::make(4, cfg));
  cfg = {};
  cfg.hidden = {8, 0};
  CHECK_FALSE(mlp_classifier::make(4, cfg));
  CHECK_FALSE(mlp_classifier::make(0));
  CHECK(mlp_classifier::make(4));
}

TEST_CASE("mlp_classifier's step is the gradient of its loss (central differences)") {
  for (auto act : {activation::tanh, activation::logistic, activation::relu}) {
    for (int classes : {2, 3}) {
      CAPTURE(static_cast<int>(act), classes);
      mlp_config cfg;
      cfg.hidden = {5, 4};
      cfg.n_classes = classes;
      cfg.hidden_activation = act;
      cfg.momentum = 0.0; // a step is then -learning_rate * gradient
      cfg.learning_rate = 1.0;
      cfg.alpha = 0.01;
      cfg.batch_size = 8;
      cfg.seed = 7;
      auto m = mlp_classifier::make(3, cfg);
      REQUIRE(m);
      std::mt19937_64 rng(3);
      std::normal_distribution<double> normal;
      matrix X(8, 3);
      labels y(8);
      for (int i = 0; i < 8; ++i) {
        for (int j = 0; j < 3; ++j)
          X(i, j) = normal(rng);
        y[i] = i % classes;
      }
      const mlp_classifier before = *m;
      REQUIRE_FALSE(m->learn_batch(X, y));
      REQUIRE(m->n_steps() == 1);
      const double h = 1e-6;
      double worst = 0;
      for (size_t l = 0; l < before.coefs().size(); ++l) {
        for (Eigen::Index k = 0; k < before.coefs()[l].size() + before.intercepts()[l].size();
             ++k) {
          auto coefs = before.coefs();
          auto intercepts = before.intercepts();
          bool is_weight = k < coefs[l].size();
          double& p = is_weight ? coefs[l].data()[k] : intercepts[l][k - coefs[l].size()];
          const double original = p;
          mlp_classifier probe = before;
          p = original + h;
          REQUIRE_FALSE(probe.set_parameters(coefs, intercepts));
          double up = loss(probe, X, y, cfg.alpha);
          p = original - h;
          REQUIRE_FALSE(probe.set_parameters(coefs, intercepts));
          double down = loss(probe, X, y, cfg.alpha);
          double numeric = (up - down) / (2 * h);
          double stepped =
              is_weight ? m->coefs()[l].data()[k] : m->intercepts()[l][k - coefs[l].size()];
          double analytic = original - stepped; // learning rate 1
          worst = std::max(worst, std::abs(numeric - analytic));
        }
      }
      CHECK(worst < 1e-6);
    }
  }
}

TEST_CASE("mlp_classifier learns XOR, which logistic regression cannot") {
  matrix X, test_X;
  labels y, test_y;
  xor_data(4000, 1, X, y);
  xor_data(1000, 2, test_X, test_y);
  mlp_config cfg;
  cfg.hidden = {16};
  cfg.learning_rate = 0.05;
  cfg.batch_size = 20;
  auto m = mlp_classifier::make(2, cfg);
  REQUIRE(m);
  auto linear = eddy::ml::logistic_regression::make(2);
  REQUIRE(linear);
  for (int epoch = 0; epoch < 30; ++epoch) {
    REQUIRE_FALSE(m->learn_batch(X, y));
    REQUIRE_FALSE(linear->learn_batch(X, y));
  }
  CHECK(accuracy(*m, test_X, test_y) > 0.95);
  CHECK(accuracy(*linear, test_X, test_y) < 0.7);
}

TEST_CASE("mlp_classifier separates three classes with a softmax output") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0.0, 0.5);
  const double centres[3][2] = {{0, 2}, {2, -1}, {-2, -1}};
  matrix X(3000, 2);
  labels y(3000);
  for (int i = 0; i < 3000; ++i) {
    y[i] = i % 3;
    X(i, 0) = centres[i % 3][0] + normal(rng);
    X(i, 1) = centres[i % 3][1] + normal(rng);
  }
  mlp_config cfg;
  cfg.n_classes = 3;
  cfg.hidden = {8};
  cfg.learning_rate = 0.05;
  cfg.batch_size = 10;
  auto m = mlp_classifier::make(2, cfg);
  REQUIRE(m);
  for (int epoch = 0; epoch < 5; ++epoch)
    REQUIRE_FALSE(m->learn_batch(X, y));
  CHECK(accuracy(*m, X, y) > 0.97);
  vector p = m->predict_proba(vector(X.row(0).transpose()));
  REQUIRE(p.size() == 3);
  CHECK(p.sum() == Approx(1.0));
}

TEST_CASE("mlp_classifier keeps records until the mini-batch is full; learn_batch learns the "
          "same") {
  matrix X;
  labels y;
  xor_data(250, 4, X, y);
  mlp_config cfg;
  cfg.batch_size = 100;
  auto one = mlp_classifier::make(2, cfg);
  REQUIRE(one);
  auto whole = *one;
  const auto initial = one->coefs();
  for (Eigen::Index i = 0; i < 99; ++i)
    REQUIRE_FALSE(one->learn(vector(X.row(i).transpose()), y[i]));
  CHECK(one->n_steps() == 0);
  CHECK(one->n_pending() == 99);
  CHECK(one->coefs() == initial); // nothing learned before the batch is full
  for (Eigen::Index i = 99; i < 250; ++i)
    REQUIRE_FALSE(one->learn(vector(X.row(i).transpose()), y[i]));
  CHECK(one->n_steps() == 2);
  CHECK(one->n_pending() == 50);
  REQUIRE_FALSE(whole.learn_batch(X, y));
  CHECK(whole.same_state(*one));
  REQUIRE_FALSE(one->flush());
  CHECK(one->n_steps() == 3);
  CHECK(one->n_pending() == 0);
}

TEST_CASE("mlp_classifier scores a batch as it scores its records one by one") {
  matrix X;
  labels y;
  xor_data(300, 6, X, y);
  mlp_config cfg;
  cfg.hidden = {12, 6};
  cfg.batch_size = 30;
  auto m = mlp_classifier::make(2, cfg);
  REQUIRE(m);
  REQUIRE_FALSE(m->learn_batch(X, y));
  vector rows = m->proba_of_one_rows(X);
  REQUIRE(rows.size() == 300);
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    CHECK(rows[i] == Approx(m->proba_of_one(vector(X.row(i).transpose()))).margin(1e-12));
}

TEST_CASE("mlp_classifier refuses bad input and leaves its state as it was") {
  mlp_config cfg;
  cfg.batch_size = 4;
  auto m = mlp_classifier::make(3, cfg);
  REQUIRE(m);
  REQUIRE_FALSE(m->learn(vector::Ones(3), 1));
  const auto before = *m;
  auto nan = vector::Ones(3).eval();
  nan[1] = std::numeric_limits<double>::quiet_NaN();
  auto err = m->learn(nan, 1);
  CHECK(eddy::ml::is(err, errc::bad_input));
  CHECK_THAT(eddy::describe(err), Catch::Contains("x[1] is NaN"));
  CHECK(eddy::ml::is(m->learn(vector::Ones(2), 1), errc::shape_mismatch));
  CHECK(eddy::ml::is(m->learn(vector::Ones(3), 2), errc::bad_input));
  CHECK(eddy::ml::is(m->learn(vector::Ones(3), 1, -1.0), errc::bad_input));
  auto huge = vector::Constant(3, 1e200).eval();
  CHECK(eddy::ml::is(m->learn(huge, 1), errc::bad_input));
  matrix X = matrix::Ones(2, 3);
  X(1, 2) = std::numeric_limits<double>::infinity();
  labels y(2);
  y << 0, 1;
  CHECK(eddy::ml::is(m->learn_batch(X, y), errc::bad_input));
  CHECK(m->same_state(before));
}

TEST_CASE("mlp_classifier refuses a step that would overflow; no weight is ever non-finite") {
  mlp_config cfg;
  cfg.batch_size = 1;
  cfg.learning_rate = 1e308;
  cfg.momentum = 0.0;
  auto m = mlp_classifier::make(2, cfg);
  REQUIRE(m);
  const auto before = *m;
  const vector x = vector::Constant(2, 100.0);
  auto err = m->learn(x, 1 - m->predict(x)); // wrong by more than 0.5: a gradient beyond 1e308
  CHECK(eddy::ml::is(err, errc::bad_input));
  CHECK_THAT(eddy::describe(err), Catch::Contains("overflow"));
  CHECK(m->same_state(before));
  CHECK(m->n_pending() == 0);
}

TEST_CASE("mlp_classifier restored from its bytes mid-batch continues bit for bit") {
  matrix X;
  labels y;
  xor_data(700, 8, X, y);
  mlp_config cfg;
  cfg.hidden = {8, 8};
  cfg.batch_size = 64;
  auto m = mlp_classifier::make(2, cfg);
  REQUIRE(m);
  for (Eigen::Index i = 0; i < 350; ++i)
    REQUIRE_FALSE(m->learn(vector(X.row(i).transpose()), y[i]));
  REQUIRE(m->n_pending() > 0);
  mlp_classifier restored;
  REQUIRE_FALSE(eddy::ml::from_binary(eddy::ml::to_binary(*m), restored));
  CHECK(restored.same_state(*m));
  for (Eigen::Index i = 350; i < 700; ++i) {
    REQUIRE_FALSE(m->learn(vector(X.row(i).transpose()), y[i]));
    REQUIRE_FALSE(restored.learn(vector(X.row(i).transpose()), y[i]));
  }
  CHECK(restored.same_state(*m));
  CHECK(restored.n_steps() == 10);
}

TEST_CASE("mlp_classifier's set_parameters refuses shapes that do not fit") {
  mlp_config cfg;
  cfg.hidden = {4};
  auto m = mlp_classifier::make(3, cfg);
  REQUIRE(m);
  auto err = m->set_parameters({matrix::Zero(3, 5), matrix::Zero(5, 1)},
                               {vector::Zero(5), vector::Zero(1)});
  CHECK(eddy::ml::is(err, errc::shape_mismatch));
  CHECK_THAT(eddy::describe(err), Catch::Contains("expected 3 x 4"));
  CHECK_FALSE(m->set_parameters({matrix::Zero(3, 4), matrix::Zero(4, 1)},
                                {vector::Zero(4), vector::Zero(1)}));
  CHECK(m->proba_of_one(vector::Ones(3)) == 0.5);
}
