#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/jsonl_source.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace eddy;

namespace {

struct trade {
  std::string symbol;
  double price = 0;
  int64_t qty = 0;
};

void from_json(const nlohmann::json& j, trade& x) {
  j.at("symbol").get_to(x.symbol);
  j.at("price").get_to(x.price);
  j.at("qty").get_to(x.qty);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trade& x) {
  return f(x.symbol, x.price, x.qty);
}

} // namespace

SCENARIO("JSON lines map into a record; broken lines become dead letters") {
  auto path = (std::filesystem::temp_directory_path() / "eddy_trades.jsonl").string();
  std::ofstream{path} << R"({"symbol":"ACME","price":12.5,"qty":3})" << '\n'
                      << R"({"symbol":"ACME","price":12.5)" << '\n'
                      << R"({"symbol":"INIT","qty":1})" << '\n'
                      << R"({"symbol":"BOLT","price":"high","qty":1})" << '\n'
                      << '\n'
                      << R"({"symbol":"BOLT","price":7,"qty":10,"extra":true})" << '\n';
  job j{job_config{}.with_threads(2)};
  std::vector<trade> out;
  j.source(jsonl_source<trade>(path)).sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  REQUIRE(out.size() == 2);
  CHECK(out[0].symbol == "ACME");
  CHECK(out[1].qty == 10);
  auto& d = report->dead_letters;
  REQUIRE(d.size() == 3);
  CHECK(d[0].origin == path + ":2");
  CHECK(d[0].reason == "broken JSON");
  CHECK(d[1].origin == path + ":3");
  CHECK_THAT(d[1].reason, Catch::Contains("price"));
  CHECK(d[2].origin == path + ":4");
  CHECK_THAT(d[2].reason, Catch::Contains("does not fit"));
}
