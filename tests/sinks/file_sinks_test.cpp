#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sinks/csv_sink.hpp>
#include <eddy/sinks/jsonl_sink.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/csv_source.hpp>
#include <eddy/sources/jsonl_source.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace eddy;

namespace {

struct item {
  int64_t id = 0;
  std::string label;
  double score = 0;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(item, id, label, score)

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, item& x) {
  return f(x.id, x.label, x.score);
}

bool operator==(const item& x, const item& y) {
  return x.id == y.id && x.label == y.label && x.score == y.score;
}

std::vector<item> items() {
  return {{1, "plain", 0.1}, {2, "with, comma", 2.5}, {3, "with \"quotes\"", -1e-3}};
}

std::string slurp(const std::string& path) {
  std::ostringstream out;
  out << std::ifstream{path}.rdbuf();
  return out.str();
}

} // namespace

SCENARIO("a CSV sink writes what a CSV source reads back") {
  auto path = (std::filesystem::temp_directory_path() / "eddy_items.csv").string();
  {
    job j;
    j.source(from_container(items())).sink(csv_sink<item>(path, {"id", "label", "score"}));
    REQUIRE(j.run());
  }
  CHECK(slurp(path).rfind("id,label,score\n1,plain,", 0) == 0);
  job j;
  std::vector<item> back;
  j.source(csv_source<item>(path)).sink(collect(back));
  auto report = j.run();
  REQUIRE(report);
  CHECK(report->dead_letters.empty());
  CHECK(back == items());
}

SCENARIO("a JSON-lines sink writes what a JSON-lines source reads back") {
  auto path = (std::filesystem::temp_directory_path() / "eddy_items.jsonl").string();
  {
    job j;
    j.source(from_container(items())).sink(jsonl_sink<item>(path));
    REQUIRE(j.run());
  }
  job j;
  std::vector<item> back;
  j.source(jsonl_source<item>(path)).sink(collect(back));
  REQUIRE(j.run());
  CHECK(back == items());
}

SCENARIO("a file sink in a missing directory is an error before the job starts") {
  job j;
  j.source(from_container(items())).sink(csv_sink<item>("/no/such/dir/out.csv"));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK_THAT(describe(report.error()),
             Catch::Contains("/no/such/dir") && Catch::Contains("create it"));
}
