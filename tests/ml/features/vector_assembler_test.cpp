#include <eddy/ml/features/vector_assembler.hpp>

#include <eddy/ml/io/serialization.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

using namespace eddy::ml;

namespace {

struct reading {
  double temperature;
  double humidity;
  int mote;
};

vector_assembler<reading> make_assembler(bool allow_missing = false) {
  vector_assembler<reading> result(allow_missing);
  result.add("temperature", [](const reading& r) { return r.temperature; })
      .add("humidity", [](const reading& r) { return r.humidity; })
      .add("mote", [](const reading& r) { return r.mote; });
  return result;
}

} // namespace

SCENARIO("a record becomes a dense or a sparse vector, one feature per field") {
  auto assemble = make_assembler();
  vector x;
  REQUIRE_FALSE(assemble({21.5, 0.0, 3}, x));
  CHECK(x == (vector(3) << 21.5, 0.0, 3.0).finished());
  Eigen::SparseVector<double> s;
  REQUIRE_FALSE(assemble.sparse({21.5, 0.0, 3}, s));
  CHECK(s.size() == 3);
  CHECK(s.nonZeros() == 2);
  CHECK(s.coeff(2) == 3.0);
  CHECK(assemble.names() == std::vector<std::string>{"temperature", "humidity", "mote"});
}

SCENARIO("a missing value is refused with the field's name, or let through for an imputer") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  vector x;
  auto err = make_assembler()({nan, 1.0, 1}, x);
  CHECK(is(err, errc::bad_input));
  CHECK(eddy::describe(err) == "vector_assembler: field 'temperature' is missing or not finite");
  REQUIRE_FALSE(make_assembler(true)({nan, 1.0, 1}, x));
  CHECK(std::isnan(x[0]));
}

SCENARIO("field maps are assembled by name") {
  auto assemble = assemble_fields({"b", "a"});
  vector x;
  REQUIRE_FALSE(assemble(field_map{{"a", 1.0}, {"b", 2.0}, {"c", 3.0}}, x));
  CHECK(x == (vector(2) << 2.0, 1.0).finished());
  CHECK(is(assemble(field_map{{"a", 1.0}}, x), errc::bad_input));
}

SCENARIO("an assembler snapshot only loads into an assembler of the same fields") {
  auto assemble = make_assembler();
  auto same = make_assembler();
  CHECK_FALSE(from_binary(to_binary(assemble), same));
  auto other = assemble_fields({"x"});
  CHECK(is(from_binary(to_binary(assemble_fields({"y"})), other), errc::corrupt_file));
}

SCENARIO("a field function that throws gives an error value, not an exception") {
  vector_assembler<reading> assemble;
  assemble.add("temperature", [](const reading& r) { return r.temperature; })
      .add("checked",
           [](const reading& r) -> double {
             if (r.mote < 0)
               throw std::out_of_range("no such mote");
             return r.mote;
           })
      .add("odd", [](const reading& r) -> double {
        if (r.mote == 7)
          throw 42;
        return 0.0;
      });
  vector x;
  auto err = assemble({20.0, 1.0, -1}, x);
  CHECK(is(err, errc::bad_input));
  CHECK(eddy::describe(err) ==
        "vector_assembler: the function of field 'checked' threw: no such mote");
  Eigen::SparseVector<double> s;
  CHECK(is(assemble.sparse({20.0, 1.0, -1}, s), errc::bad_input));
  CHECK(is(assemble({20.0, 1.0, 7}, x), errc::bad_input));
  REQUIRE_FALSE(assemble({20.0, 1.0, 2}, x));
  CHECK(x == (vector(3) << 20.0, 2.0, 0.0).finished());
}
