// The file sinks are exactly-once: whatever crashes, the visible files hold every record once,
// and no part file is left behind.
#include "../operators/halted.hpp"
#include "../operators/temp_dir.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/csv_sink.hpp>
#include <eddy/sinks/jsonl_sink.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

struct row {
  int64_t n = 0;
  std::string label;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, row& x) {
  return f(x.n, x.label);
}

void to_json(nlohmann::json& j, const row& x) {
  j = nlohmann::json{{"n", x.n}, {"label", x.label}};
}

/// A paced source of 0..n-1, doubled by a map named "double" into rows, written by `sink`
/// (named "write"); the map and the sink have two instances each, joined by forward edges.
template <class Sink>
void doubling_job(job& j, int64_t n, double rate, Sink sink) {
  j.source(generator<int64_t>(static_cast<uint64_t>(n),
                              [](uint64_t i) { return static_cast<int64_t>(i); })
               .at_rate(rate))
      .name("numbers")
      .map([](const int64_t& x) {
        return row{2 * x, "twice " + std::to_string(x) + ", exactly"};
      })
      .name("double")
      .parallelism(2)
      .sink(std::move(sink))
      .name("write")
      .parallelism(2);
}

/// The lines a run without failures writes, sorted: CSV (quoted label) or JSON lines.
std::vector<std::string> expected_lines(int64_t n, bool csv) {
  std::vector<std::string> out;
  for (int64_t x = 0; x < n; ++x) {
    auto label = "twice " + std::to_string(x) + ", exactly";
    out.push_back(csv ? std::to_string(2 * x) + ",\"" + label + "\""
                      : nlohmann::json(row{2 * x, label}).dump());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// The lines of both instances' visible files, sorted; checks each CSV file's header.
std::vector<std::string> visible_lines(const std::string& path, bool csv) {
  std::vector<std::string> out;
  for (auto file : {path + ".0", path + ".1"}) {
    INFO(file);
    std::ifstream in{file};
    REQUIRE(in);
    std::string line;
    if (csv) {
      REQUIRE(std::getline(in, line));
      CHECK(line == "n,label");
    }
    while (std::getline(in, line))
      out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// What differs between sorted line lists: "" when equal, else counts and the first few lines
/// missing from or extra in `got`.
std::string differences(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  if (missing.empty() && extra.empty())
    return "";
  std::string out = std::to_string(got.size()) + " lines, " + std::to_string(want.size()) +
                    " expected; missing " + std::to_string(missing.size()) + ", extra " +
                    std::to_string(extra.size()) + ":";
  for (size_t i = 0; i < missing.size() && i < 5; ++i)
    out += " -[" + missing[i] + "]";
  for (size_t i = 0; i < extra.size() && i < 5; ++i)
    out += " +[" + extra[i] + "]";
  return out;
}

/// The files in `dir` besides the visible ones: in-progress or pending parts.
std::vector<std::string> part_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator{dir}) {
    auto name = e.path().filename().string();
    if (name.find(".part-") != std::string::npos)
      out.push_back(name);
  }
  return out;
}

/// What the doubling job runs with.
struct run_options {
  /// CSV, or JSON lines.
  bool csv = true;
  /// Checkpoints every 20 ms.
  bool checkpoints = false;
  /// The operator that crashes (none when empty), which instance, after how many records.
  std::string crash_op;
  uint32_t crash_instance = 0;
  uint64_t crash_after = 0;
  /// How the crashed task is recovered.
  recovery_mode recovery = recovery_mode::whole_job;
};

/// Runs the doubling job of `n` records at `rate` into a file in `dir`; returns the report.
job_report run_into(const std::string& dir, const run_options& opt, int64_t n, double rate) {
  auto cfg = job_config{}.with_threads(2).with_batch_size(32);
  if (opt.checkpoints) {
    cfg.with_checkpoints(dir + "/checkpoints", 20ms);
    cfg.checkpoints.recovery = opt.recovery;
  }
  if (!opt.crash_op.empty()) {
    fault_plan faults;
    faults.crashes.push_back({opt.crash_op, opt.crash_instance, opt.crash_after});
    cfg.with_faults(faults);
  }
  job j{cfg};
  if (opt.csv)
    doubling_job(j, n, rate, csv_sink<row>(dir + "/out.csv", {"n", "label"}));
  else
    doubling_job(j, n, rate, jsonl_sink<row>(dir + "/out.jsonl"));
  auto report = j.run();
  REQUIRE(report);
  return *report;
}

} // namespace

SCENARIO("without checkpoints the file sinks' visible output is the input") {
  for (bool csv : {true, false}) {
    INFO((csv ? "CSV" : "JSON lines"));
    auto dir = test::temp_dir("eddy_file_sinks_plain");
    auto report = run_into(dir, run_options{csv, false, "", 0, 0}, 3'000, 0);
    CHECK(differences(visible_lines(dir + (csv ? "/out.csv" : "/out.jsonl"), csv),
                      expected_lines(3'000, csv)) == "");
    CHECK(part_files(dir).empty());
    CHECK(report.recoveries.empty());
  }
}

/// Crashes `op`#1 after 2,000 records of a doubling job of 8,000 records at 20,000/s (about
/// 400 ms, a checkpoint every 20 ms), recovered `how`; checks the visible files hold every
/// record once and no part is left.
void check_crash_recovered(const std::string& op, recovery_mode how) {
  for (bool csv : {true, false}) {
    INFO((csv ? "CSV" : "JSON lines"));
    auto dir = test::temp_dir("eddy_file_sinks_crash");
    auto report = run_into(dir, run_options{csv, true, op, 1, 2'000, how}, 8'000, 20'000);
    CHECK(differences(visible_lines(dir + (csv ? "/out.csv" : "/out.jsonl"), csv),
                      expected_lines(8'000, csv)) == "");
    CHECK(part_files(dir).empty());
    REQUIRE(report.faults.size() == 1);
    CHECK(report.faults[0].find(op + "#1 crashed after") != std::string::npos);
    REQUIRE(report.recoveries.size() == 1);
    CHECK(report.recoveries[0].single_task == (how == recovery_mode::single_task));
    CHECK(report.recoveries[0].from_checkpoint > 0);
    CHECK(report.checkpoints.size() >= 3);
  }
}

SCENARIO("a file sink that crashes is recovered: every record visible exactly once") {
  check_crash_recovered("write", recovery_mode::whole_job);
}

// The same, recovered alone: the replacement sink gets again what followed the checkpoint from
// its upstream's in-flight log, and the committer drops only what the failed instance
// pre-committed after it.
SCENARIO("a file sink that crashes is recovered alone: every record visible exactly once") {
  check_crash_recovered("write", recovery_mode::single_task);
}

SCENARIO("a map upstream of a file sink crashes: every record visible exactly once") {
  for (auto how : {recovery_mode::whole_job, recovery_mode::single_task}) {
    INFO((how == recovery_mode::whole_job ? "whole job" : "single task") << " recovery");
    check_crash_recovered("double", how);
  }
}

SCENARIO("a run that fails without checkpoints leaves the older file as it was, and no part") {
  auto dir = test::temp_dir("eddy_file_sinks_failed_run");
  auto path = dir + "/out.jsonl";
  std::ofstream{path} << "from an older run\n";
  job j{job_config{}.with_threads(2).with_batch_size(16)};
  j.source(generator<int64_t>(2'000, [](uint64_t i) { return static_cast<int64_t>(i); }))
      .map([](const int64_t& x) -> int64_t {
        if (x == 1'500)
          throw std::runtime_error("cannot take 1500");
        return x;
      })
      .name("picky")
      .on_error(error_policy::fail)
      .sink(jsonl_sink<int64_t>(path));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK_THAT(describe(report.error()), Catch::Contains("cannot take 1500"));
  std::ifstream in{path};
  std::string all{std::istreambuf_iterator<char>{in}, {}};
  CHECK(all == "from an older run\n");
  CHECK(part_files(dir).empty());
}

SCENARIO("a file sink used again by a job started from the checkpoint where the first one halted "
         "shows every record once") {
  // The first job stops dead right after checkpoint 3 completed, before its commit; its tasks
  // may still pre-commit parts for later checkpoints as they stop. The second job uses the same
  // sink object from that checkpoint: it drops what followed the checkpoint, commits what the
  // first one left pending, and replays the rest.
  constexpr int64_t n = 3'000;
  auto dir = test::temp_dir("eddy_file_sinks_reused");
  auto path = dir + "/out.jsonl";
  auto sink = jsonl_sink<row>(path);
  auto cfg = job_config{}.with_threads(2).with_batch_size(16).with_checkpoints(dir + "/chk", 10ms);
  cfg.faults.halt_after_checkpoint = 3;
  job a{cfg};
  doubling_job(a, n, 20'000, sink);
  auto halted = a.run();
  REQUIRE_FALSE(halted);
  auto from = test::halted_at(halted.error());
  REQUIRE_FALSE(from.empty());
  job b{job_config{}.with_threads(2).with_batch_size(16).from_savepoint(from)};
  doubling_job(b, n, 1e9, sink);
  auto report = b.run();
  if (!report)
    FAIL(describe(report.error()));
  CHECK(differences(visible_lines(path, false), expected_lines(n, false)).empty());
  CHECK(part_files(dir).empty());
}
