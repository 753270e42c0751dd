// Models trained offline, served online: model files in a directory become versions, in the order
// they were written; a damaged one is a dead letter; a file dropped in while the job runs reaches
// the scorers as the next version.
#include "../../operators/temp_dir.hpp"
#include "points.hpp"

#include <eddy/ml/io/model_file.hpp>
#include <eddy/ml/operators/model_files.hpp>
#include <eddy/ml/operators/score.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

/// A logistic regression trained offline on records [from, from + n).
ml::logistic_regression trained(uint64_t from, uint64_t n) {
  auto m = ml::logistic_regression::make(test::n_features);
  REQUIRE(m);
  for (uint64_t i = from; i < from + n; ++i) {
    auto p = test::labelled_at(i);
    REQUIRE(!m->learn(test::features(p.x), p.y));
  }
  return *m;
}

/// Saves `m` as `<dir>/<name>` with modification time `age` seconds in the past.
void save(const std::string& dir, const std::string& name, const ml::logistic_regression& m,
          int age) {
  auto path = std::filesystem::path(dir) / name;
  REQUIRE(!ml::save_model(path.string(), m));
  std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() -
                                             std::chrono::seconds{age});
}

} // namespace

SCENARIO("model files become versions, oldest first; a damaged one is a dead letter") {
  auto dir = test::temp_dir("eddy_ml_model_files");
  auto a = trained(0, 300), b = trained(10'000, 600);
  save(dir, "b.model", b, 10); // written after a.model
  save(dir, "a.model", a, 20);
  {
    std::ofstream damaged(std::filesystem::path(dir) / "c.model");
    damaged << "not a model";
  }
  // Written between the two (a, c, b): the source meets it before its second version.
  std::filesystem::last_write_time(std::filesystem::path(dir) / "c.model",
                                   std::filesystem::file_time_type::clock::now() - 15s);
  std::ofstream(std::filesystem::path(dir) / "notes.txt") << "not a .model file";
  job j{job_config{}.with_threads(2)};
  std::vector<ml::model_version> versions;
  j.source(ml::model_files<ml::logistic_regression>(dir).named("offline-lr").every(5ms).until(2))
      .sink(collect(versions));
  auto report = j.run();
  REQUIRE(report);
  REQUIRE(versions.size() == 2);
  CHECK(versions[0].version == 1);
  CHECK(versions[0].reason == "model file a.model");
  CHECK(test::model_of(versions[0]).same_state(a));
  CHECK(versions[1].version == 2);
  CHECK(versions[1].model == "offline-lr");
  CHECK(test::model_of(versions[1]).same_state(b));
  REQUIRE(report->dead_letters.size() == 1);
  CHECK(report->dead_letters[0].record == "c.model");
}

SCENARIO("a model file dropped into the directory while the job runs reaches the scorers") {
  constexpr uint64_t n = 6'000;
  auto dir = test::temp_dir("eddy_ml_model_files_watch");
  auto first = trained(0, 300), second = trained(20'000, 2'000);
  save(dir, "first.model", first, 5);
  auto second_seen = std::make_shared<std::atomic<bool>>(false);
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  job j{job_config{}.with_threads(2)};
  auto versions =
      j.source(ml::model_files<ml::logistic_regression>(dir).every(2ms).until(2)).name("files");
  versions.sink([second_seen](const ml::model_version& v) {
    if (v.version == 2)
      second_seen->store(true);
  });
  // Half way through, the points wait (up to 10 s) until the second version was published.
  auto points = j.source(generator<ml::point>(n, [second_seen](uint64_t i) {
    if (i == n / 2)
      for (int k = 0; k < 10'000 && !second_seen->load(); ++k)
        std::this_thread::sleep_for(1ms);
    return test::point_at(i);
  }));
  std::vector<ml::prediction> predictions;
  ml::score<ml::logistic_regression>(points, versions)
      .sink([&predictions, dropped, dir, second](const ml::prediction& p) {
        // The first prediction made with the first model drops the second file in.
        // (No Catch assertion here: this runs on a job thread. A failed save shows below as
        // no prediction made with the second model.)
        if (!dropped->exchange(true)) {
          auto tmp = std::filesystem::path(dir) / "second.tmp";
          if (!ml::save_model(tmp.string(), second))
            std::filesystem::rename(tmp, std::filesystem::path(dir) / "second.model");
        }
        predictions.push_back(p);
      });
  auto report = j.run();
  REQUIRE(report);
  CHECK(report->dead_letters.empty());
  REQUIRE(predictions.size() == n);
  size_t with_second = 0, wrong = 0;
  for (const auto& p : predictions) {
    const auto& m = p.version == 1 ? first : second;
    with_second += p.version == 2;
    if (p.version < 1 || p.version > 2 ||
        p.score != m.proba_of_one(test::features(test::point_at(p.id).x)))
      ++wrong;
  }
  CHECK(wrong == 0);
  CHECK(with_second >= n / 4);
}

SCENARIO("a model directory that does not exist is refused before the job starts") {
  job j;
  j.source(ml::model_files<ml::logistic_regression>("/no/such/eddy/models"))
      .sink([](const ml::model_version&) {});
  auto report = j.run();
  REQUIRE(!report);
  CHECK(describe(report.error()).find("/no/such/eddy/models is not a directory") !=
        std::string::npos);
}

SCENARIO("a model-file source recovered alone emits every file once, in the order it chose") {
  auto dir = test::temp_dir("eddy_ml_model_files_recovery");
  std::vector<ml::logistic_regression> models;
  for (int k = 0; k < 4; ++k) {
    models.push_back(trained(uint64_t(k) * 1'000, 200 + 100 * uint64_t(k)));
    save(dir, "m" + std::to_string(k) + ".model", models.back(), 40 - 10 * k); // m0 oldest
  }
  auto plan = parse_fault_plan("crash:files#0@after=2");
  REQUIRE(plan);
  job j{job_config{}
            .with_threads(2)
            .with_checkpoints(test::temp_dir("eddy_ml_model_files_recovery_chk"), 2ms)
            .with_faults(*plan)};
  std::vector<ml::model_version> versions;
  j.source(ml::model_files<ml::logistic_regression>(dir).every(1ms).until(4))
      .name("files")
      .sink(collect(versions));
  auto report = j.run();
  REQUIRE(report);
  CHECK(report->recoveries.size() == 1);
  REQUIRE(versions.size() == 4);
  for (size_t k = 0; k < versions.size(); ++k) {
    CHECK(versions[k].version == k + 1);
    CHECK(versions[k].reason == "model file m" + std::to_string(k) + ".model");
    CHECK(test::model_of(versions[k]).same_state(models[k]));
  }
}
