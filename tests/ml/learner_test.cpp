#include <eddy/ml/learner.hpp>

#include <catch2/catch.hpp>

#include <limits>

using namespace eddy::ml;

SCENARIO("input checks name the caller and say what is wrong") {
  CHECK_FALSE(check_features(vector::Ones(3), 3, "f"));
  CHECK(eddy::describe(check_features(vector::Ones(2), 3, "f")) ==
        "f: x has 2 features, expected 3");
  vector x = vector::Ones(3);
  x[1] = std::numeric_limits<double>::quiet_NaN();
  CHECK(is(check_features(x, 3, "f"), errc::bad_input));
  CHECK(eddy::describe(check_features(x, 3, "f")).find("x[1] is NaN") != std::string::npos);
  x[1] = -std::numeric_limits<double>::infinity();
  CHECK(eddy::describe(check_features(x, 3, "f")).find("x[1] is infinite") != std::string::npos);
  CHECK(is(check_label(2, 2, "g"), errc::bad_input));
  CHECK(is(check_label(-1, 2, "g"), errc::bad_input));
  CHECK_FALSE(check_label(1, 2, "g"));
  CHECK(is(check_weight(-0.5, "h"), errc::bad_input));
  CHECK(is(check_weight(std::numeric_limits<double>::quiet_NaN(), "h"), errc::bad_input));
  CHECK_FALSE(check_weight(0.0, "h"));
  CHECK(is(check_target(std::numeric_limits<double>::infinity(), "t"), errc::bad_input));
}

SCENARIO("a batch is checked whole before any row is learned") {
  struct counter {
    int learned = 0;
    caf::error learn(const vector&, int) {
      ++learned;
      return caf::error{};
    }
  } c;
  matrix X = matrix::Ones(3, 2);
  labels y = labels::Zero(3);
  auto any_label = [](int) { return caf::error{}; };
  auto only_zero = [](int label) { return check_label(label, 1, "b"); };
  CHECK(is(learn_rows(c, X, labels::Zero(2), 2, "b", any_label), errc::shape_mismatch));
  CHECK(is(learn_rows(c, X, y, 3, "b", any_label), errc::shape_mismatch));
  y[2] = 4;
  CHECK(is(learn_rows(c, X, y, 2, "b", only_zero), errc::bad_input));
  CHECK(c.learned == 0);
  y[2] = 0;
  REQUIRE_FALSE(learn_rows(c, X, y, 2, "b", only_zero));
  CHECK(c.learned == 3);
}

SCENARIO("the optimal step size is scikit-learn's") {
  // alpha = 1e-4: typw = 10, t0 = 1000, so eta_1 = 10 and eta_2 = 1 / (1e-4 * 1001)
  CHECK(sgd_step_size(learning_rate::optimal, 0.0, 1e-4, 0.0, 1.0) == Approx(10.0));
  CHECK(sgd_step_size(learning_rate::optimal, 0.0, 1e-4, 0.0, 2.0) == Approx(1.0 / 0.1001));
  CHECK(sgd_step_size(learning_rate::inverse_scaling, 0.01, 0.0, 0.25, 16.0) == Approx(0.005));
  CHECK(sgd_step_size(learning_rate::constant, 0.3, 0.0, 0.0, 99.0) == 0.3);
  CHECK(soft_threshold(0.5, 0.2) == Approx(0.3));
  CHECK(soft_threshold(-0.1, 0.2) == 0.0);
}
