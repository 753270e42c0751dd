#include <eddy/ml/errc.hpp>

#include <catch2/catch.hpp>

SCENARIO("an ml error carries its code and its sentence") {
  auto err = eddy::ml::make_error(eddy::ml::errc::shape_mismatch, "x has 3 features, expected 4");
  CHECK(eddy::ml::is(err, eddy::ml::errc::shape_mismatch));
  CHECK_FALSE(eddy::ml::is(err, eddy::ml::errc::bad_input));
  CHECK(eddy::describe(err) == "x has 3 features, expected 4");
  CHECK(eddy::describe(caf::error{}) == "no error");
}
