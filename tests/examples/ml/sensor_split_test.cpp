#include <eddy/examples/ml/sensor_split.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace eddy::ml;
using namespace eddy::examples;

namespace {

/// A sensor CSV file with the header, one good row and `row`, removed at the end.
struct csv_file {
  std::string path = "/tmp/eddy_sensor_split_test_" + std::to_string(::getpid()) + ".csv";
  explicit csv_file(const std::string& row) {
    std::ofstream(path) << "reading,mote_id,indoor,humidity,temperature,label\n"
                        << "1,1,1,45.9,27.9,0\n"
                        << row << "\n";
  }
  ~csv_file() { std::remove(path.c_str()); }
};

} // namespace

SCENARIO("the sensor split refuses NaN, infinite and out-of-range values, never casts them") {
  // Each of these used to reach static_cast<int> / static_cast<long> of a double no integer
  // holds, or put a NaN into the features; the last two have more than six fields.
  for (const char* row :
       {"nan,1,1,45.9,27.9,0", "1e20,1,1,45.9,27.9,0", "-3,1,1,45.9,27.9,0", "1.5,1,1,45.9,27.9,0",
        "2,nan,1,45.9,27.9,0", "2,1e20,1,45.9,27.9,0", "2,-1,1,45.9,27.9,0", "2,1,1,45.9,27.9,nan",
        "2,1,1,45.9,27.9,2", "2,1,1,45.9,27.9,1e300", "2,1,1,45.9,27.9,-inf", "2,1,nan,45.9,27.9,0",
        "2,1,1,inf,27.9,0", "2,1,1,45.9,nan,0", "2,1,1,45.9,27.9", "2,1,1,45.9x,27.9,0",
        "2,1,1,45.9,27.9,0,7", "2,1,1,45.9,27.9,0abc"}) {
    csv_file file{row};
    auto split = read_sensor_split(file.path);
    INFO(row << ": " << (split ? std::string{"accepted"} : eddy::describe(split.error())));
    REQUIRE_FALSE(split);
    CHECK(is(split.error(), errc::bad_input));
    CHECK(eddy::describe(split.error()).find("line 3") != std::string::npos);
  }
}

SCENARIO("the sensor split refuses values whose changes would overflow") {
  for (const char* row : {"2,1,1,1e300,27.9,0", "2,1,1,45.9,-1e300,0", "2,1,1e101,45.9,27.9,0"}) {
    csv_file file{row};
    auto split = read_sensor_split(file.path);
    INFO(row);
    REQUIRE_FALSE(split);
    CHECK(eddy::describe(split.error()) ==
          "read_sensor_split: " + file.path + ": reading 2 of mote 1 has a value beyond +-1e100");
  }
  CHECK(is(read_sensor_split("/no/such/file.csv").error(), errc::io_error));
}

SCENARIO("the sensor split puts rows with reading % 10 < 3 into the test set") {
  csv_file file{"13,1,1,46.9,28.4,1\n13,2,0,50,20,0\n9007199254740992,2147483647,1,45,27,1"};
  auto split = read_sensor_split(file.path);
  REQUIRE(split);
  // readings 1 and 2^53 are test rows, the two of reading 13 training rows
  REQUIRE(split->train_x.rows() == 2);
  REQUIRE(split->test_x.rows() == 2);
  CHECK(split->train_y == (labels(2) << 1, 0).finished());
  CHECK(split->test_y == (labels(2) << 0, 1).finished());
  // indoor, humidity, temperature, change of humidity and temperature since the mote's last row
  CHECK(split->train_x.row(0) ==
        (vector(5) << 1, 46.9, 28.4, 46.9 - 45.9, 28.4 - 27.9).finished().transpose());
  CHECK(split->train_x.row(1) == (vector(5) << 0, 50, 20, 0, 0).finished().transpose());
  CHECK(split->test_x.row(1) == (vector(5) << 1, 45, 27, 0, 0).finished().transpose());
}
