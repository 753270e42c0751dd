#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sinks/csv_sink.hpp>
#include <eddy/sinks/jsonl_sink.hpp>
#include <eddy/sinks/stdout_sink.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/csv_source.hpp>
#include <eddy/sources/jsonl_source.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

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

SCENARIO("every sink takes the dead-letter stream") {
  auto dir = std::filesystem::temp_directory_path();
  auto jsonl = (dir / "eddy_dead_letters.jsonl").string();
  auto csv = (dir / "eddy_dead_letters.csv").string();
  auto printed = (dir / "eddy_dead_letters.txt").string();
  std::vector<dead_letter> kept;
  {
    job j{job_config{}.with_threads(2)};
    std::vector<int64_t> good;
    j.source(from_container(std::vector<int64_t>{1, 2, 3, 4}))
        .map([](const int64_t& x) {
          if (x % 2 == 0)
            throw std::runtime_error("even, \"rejected\"");
          return x;
        })
        .name("odd-only")
        .sink(collect(good));
    auto dead = j.dead_letters();
    dead.sink(jsonl_sink<dead_letter>(jsonl));
    dead.sink(csv_sink<dead_letter>(csv, {"origin", "reason", "record"}));
    auto* out = std::fopen(printed.c_str(), "w");
    REQUIRE(out != nullptr);
    dead.sink(stdout_sink<dead_letter>({}, out));
    dead.sink(collect(kept));
    auto report = j.run();
    std::fclose(out);
    REQUIRE(report);
    CHECK(good == std::vector<int64_t>{1, 3});
  }
  REQUIRE(kept.size() == 2);
  auto json = slurp(jsonl);
  CHECK(json.find(R"({"origin":"odd-only#0","reason":"even, \"rejected\"","record":"2"})") !=
        std::string::npos);
  CHECK(json.find(R"("record":"4")") != std::string::npos);
  auto text = slurp(csv);
  CHECK(text.find("origin,reason,record\n") == 0);
  CHECK(text.find(R"(odd-only#0,"even, ""rejected""",2)") != std::string::npos);
  auto lines = slurp(printed);
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 2);
  CHECK(lines.find("odd-only#0") != std::string::npos);
}
