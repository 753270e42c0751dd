#include <eddy/ml/datasets/synthetic_streams.hpp>

#include <catch2/catch.hpp>

SCENARIO("a sea stream is reproducible from its seed and labels by its concept") {
  eddy::ml::sea_config options;
  options.seed = 5;
  options.noise = 0;
  options.concept_length = 1'000;
  eddy::ml::sea_generator a{options}, b{options};
  CHECK(a.drift_points() == std::vector<std::size_t>{1'000, 2'000, 3'000});
  for (std::size_t t = 0; t < 4'000; ++t) {
    auto ra = a.next();
    auto rb = b.next();
    REQUIRE(ra.x == rb.x);
    REQUIRE(ra.y == rb.y);
    REQUIRE(ra.x.minCoeff() >= 0);
    REQUIRE(ra.x.maxCoeff() < 10);
    double theta = a.theta(a.concept_at(t));
    REQUIRE(ra.y == (ra.x[0] + ra.x[1] <= theta ? 1 : 0));
  }
  CHECK(a.theta(0) == 8);
  CHECK(a.theta(3) == 9.5);
}

SCENARIO("a sea stream flips about the configured fraction of labels") {
  eddy::ml::sea_config options;
  options.seed = 9;
  eddy::ml::sea_generator stream{options};
  int flipped = 0;
  for (int t = 0; t < 20'000; ++t) {
    auto r = stream.next();
    flipped += r.y != (r.x[0] + r.x[1] <= 8 ? 1 : 0);
  }
  CHECK(flipped / 20'000.0 == Approx(0.1).margin(0.01));
}

SCENARIO("a rotating hyperplane changes its labelling at each drift point") {
  eddy::ml::hyperplane_config options;
  options.seed = 3;
  options.noise = 0;
  options.drift_points = {500};
  eddy::ml::hyperplane_generator stream{options};
  eddy::ml::vector before;
  for (int t = 0; t < 500; ++t) {
    auto r = stream.next();
    REQUIRE(r.x.size() == 10);
    REQUIRE(r.y == (r.x.dot(stream.weights()) >= stream.weights().sum() / 2 ? 1 : 0));
    before = stream.weights();
  }
  int disagree = 0, positive = 0;
  for (int t = 0; t < 5'000; ++t) {
    auto r = stream.next();
    positive += r.y;
    disagree += r.y != (r.x.dot(before) >= before.sum() / 2 ? 1 : 0);
  }
  CHECK(stream.weights() != before);
  CHECK(disagree > 250);
  CHECK(positive / 5'000.0 == Approx(0.5).margin(0.05));
}

SCENARIO("a hyperplane with a magnitude drifts a little after every record") {
  eddy::ml::hyperplane_config options;
  options.magnitude = 0.001;
  options.drift_points = {};
  eddy::ml::hyperplane_generator stream{options};
  auto start = stream.weights();
  for (int t = 0; t < 1'000; ++t)
    stream.next();
  CHECK((stream.weights() - start).norm() > 0.01);
}
