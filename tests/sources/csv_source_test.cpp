#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/csv_source.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace eddy;

namespace {

struct row {
  int64_t id = 0;
  std::string name;
  double value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, row& x) {
  return f(x.id, x.name, x.value);
}

bool operator==(const row& x, const row& y) {
  return x.id == y.id && x.name == y.name && x.value == y.value;
}

std::string write_file(const std::string& name, const std::string& text) {
  auto path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream{path} << text;
  return path;
}

struct reading {
  int64_t reading = 0;
  int mote_id = 0;
  int indoor = 0;
  double humidity = 0;
  double temperature = 0;
  int label = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reading& x) {
  return f(x.reading, x.mote_id, x.indoor, x.humidity, x.temperature, x.label);
}

} // namespace

SCENARIO("a CSV file maps into a record; bad lines become dead letters with file and line") {
  auto path = write_file("eddy_csv_test.csv", "id,name,value\n"
                                              "1,apple,1.5\n"
                                              "2,\"pear, green\",2\n"
                                              "3,plum\n"
                                              "x,cherry,3\n"
                                              "\n"
                                              "4,fig,4e2\n"
                                              "5,kiwi,abc\n");
  job j{job_config{}.with_threads(2).with_batch_size(2)};
  std::vector<row> out;
  j.source(csv_source<row>(path)).name("fruit").sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(out == std::vector<row>{{1, "apple", 1.5}, {2, "pear, green", 2}, {4, "fig", 400}});
  auto& d = report->dead_letters;
  REQUIRE(d.size() == 3);
  CHECK(d[0].origin == path + ":4");
  CHECK(d[0].reason == "has 2 fields, expected 3");
  CHECK(d[0].record == "3,plum");
  CHECK(d[1].origin == path + ":5");
  CHECK(d[1].reason == "field 1 ('x') is not a valid integer");
  CHECK(d[2].origin == path + ":8");
  CHECK(d[2].reason == "field 3 ('abc') is not a valid number");
}

SCENARIO("a missing input file is an error before the job starts") {
  job j;
  std::vector<row> out;
  j.source(csv_source<row>("no/such/file.csv")).sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::invalid_source));
  CHECK_THAT(describe(report.error()),
             Catch::Contains("no/such/file.csv") && Catch::Contains("does not exist"));
}

SCENARIO("a file source refuses more than one instance") {
  auto path = write_file("eddy_csv_one.csv", "id,name,value\n1,a,1\n");
  job j;
  std::vector<row> out;
  j.source(csv_source<row>(path)).parallelism(2).sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK_THAT(describe(report.error()), Catch::Contains("at most 1 instance"));
}

SCENARIO("the sensor data set parses completely") {
  job j{job_config{}.with_threads(2)};
  std::vector<reading> out;
  j.source(csv_source<reading>("data/sensors/single_hop.csv").with_event_time([](const reading& r) {
     return r.reading * 5000;
   })).sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(out.size() == 18'914);
  CHECK(report->dead_letters.empty());
  int64_t anomalies = 0;
  for (const auto& r : out)
    anomalies += r.label;
  CHECK(anomalies == 149);
}

SCENARIO("a CSV source can read its file several times over") {
  auto path = write_file("eddy_csv_repeat.csv", "id,name,value\n1,a,1\n2,b,2\nbad\n");
  job j;
  std::vector<row> out;
  j.source(csv_source<row>(path).repeat(3)).sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(out.size() == 6);
  REQUIRE(report->dead_letters.size() == 3);
  CHECK(report->dead_letters[2].origin == path + ":4"); // line numbers restart with each pass
}

SCENARIO("a read error in the middle of a file fails the job, saying which file and where") {
  // /proc/self/mem opens like a file, but reading its first page fails (EIO): what a failing disk
  // or a vanished network file system looks like to a reader. Before, the stream ended silently
  // and the job succeeded on a truncated input.
  job j{job_config{}.with_threads(2)};
  std::vector<row> out;
  j.source(csv_source<row>("/proc/self/mem")).name("reader").sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::job_failed));
  CHECK_THAT(describe(report.error()), Catch::Contains("reader#0") &&
                                           Catch::Contains("cannot read input file") &&
                                           Catch::Contains("/proc/self/mem"));
}
