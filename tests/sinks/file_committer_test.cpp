// The committing half of the file sinks, driven by hand: pre-committed parts stay invisible
// until their checkpoint is committed, aborted ones disappear, and errors reach the instances.
#include "../operators/temp_dir.hpp"

#include <eddy/sinks/csv_sink.hpp>
#include <eddy/sinks/internal/file_committer.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace eddy;
using internal::file_committer;

namespace {

std::string slurp(const std::string& path) {
  std::ostringstream out;
  out << std::ifstream{path, std::ios::binary}.rdbuf();
  return out.str();
}

/// The names of the files in `dir`, sorted.
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator{dir})
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Writes a part of `instance` holding `text` and files it under `id`, as a sink instance does.
void stage(file_committer& c, checkpoint_id id, uint32_t instance, const std::string& text) {
  auto part = c.next_part(instance);
  std::ofstream{part, std::ios::binary} << c.header() << text;
  c.stage(id, instance, part);
}

} // namespace

SCENARIO("pre-committed parts are invisible until their checkpoint is committed") {
  auto dir = test::temp_dir("eddy_committer_commit");
  auto path = dir + "/out.csv";
  file_committer c{path, "a,b\n"};
  c.attach(0, 1);
  stage(c, 1, 0, "1,x\n");
  stage(c, 2, 0, "2,y\n");
  stage(c, 3, 0, "3,z\n");
  // Durable but hidden: three pending parts, no visible file.
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(files_in(dir) == std::vector<std::string>{".out.csv.part-0-0.pending",
                                                  ".out.csv.part-0-1.pending",
                                                  ".out.csv.part-0-2.pending"});
  CHECK(c.pending().size() == 3);
  c.commit(2);
  CHECK(slurp(path) == "a,b\n1,x\n2,y\n"); // the header once, in checkpoint order
  CHECK(c.pending().size() == 1);
  c.commit(final_checkpoint);
  CHECK(slurp(path) == "a,b\n1,x\n2,y\n3,z\n");
  CHECK(files_in(dir) == std::vector<std::string>{"out.csv"});
}

SCENARIO("aborting drops pending parts, and takes back what damaged checkpoints committed") {
  auto dir = test::temp_dir("eddy_committer_abort");
  auto path = dir + "/out.jsonl";
  file_committer c{path, ""};
  c.attach(0, 1);
  stage(c, 1, 0, "1\n");
  stage(c, 2, 0, "2\n");
  stage(c, 3, 0, "3\n");
  c.commit(1);
  c.abort_after(1); // the job goes back to checkpoint 1
  CHECK(c.pending().empty());
  CHECK(files_in(dir) == std::vector<std::string>{"out.jsonl"});
  CHECK(slurp(path) == "1\n");
  // The replay writes 2 and 3 again, then checkpoint 3 completes...
  stage(c, 2, 0, "2\n");
  stage(c, 3, 0, "3\n");
  c.commit(3);
  CHECK(slurp(path) == "1\n2\n3\n");
  // ...and turns out damaged: the job goes back to 1, and the file to what 1 committed.
  c.abort_after(1);
  CHECK(slurp(path) == "1\n");
  stage(c, 4, 0, "2\n3\n");
  c.commit(final_checkpoint);
  CHECK(slurp(path) == "1\n2\n3\n");
}

SCENARIO("several instances: one visible file each, created even when an instance wrote "
         "nothing") {
  auto dir = test::temp_dir("eddy_committer_instances");
  auto path = dir + "/out.csv";
  file_committer c{path, "n\n"};
  c.attach(0, 3);
  c.attach(1, 3);
  c.attach(2, 3);
  stage(c, 1, 1, "10\n");
  stage(c, 1, 0, "0\n");
  stage(c, 2, 0, "1\n");
  c.commit(final_checkpoint);
  CHECK(slurp(path + ".0") == "n\n0\n1\n");
  CHECK(slurp(path + ".1") == "n\n10\n");
  CHECK(slurp(path + ".2") == "n\n");
  CHECK(files_in(dir) == std::vector<std::string>{"out.csv.0", "out.csv.1", "out.csv.2"});
}

SCENARIO("an instance that starts removes what its earlier attempts left") {
  auto dir = test::temp_dir("eddy_committer_leftovers");
  auto path = dir + "/out.csv";
  for (auto name :
       {".out.csv.part-0-7.inprogress", ".out.csv.part-0-8.pending", ".out.csv.part-1-9.inprogress",
        ".out.csv.part-3-2.pending", ".other.csv.part-0-1.inprogress", "out.csv"})
    std::ofstream{dir + "/" + name} << "old\n";
  file_committer c{path, ""};
  c.attach(1, 2); // only its own
  CHECK(files_in(dir) == std::vector<std::string>{
                             ".other.csv.part-0-1.inprogress", ".out.csv.part-0-7.inprogress",
                             ".out.csv.part-0-8.pending", ".out.csv.part-3-2.pending", "out.csv"});
  c.attach(0, 2); // its own and those of instances past the parallelism
  CHECK(files_in(dir) == std::vector<std::string>{".other.csv.part-0-1.inprogress", "out.csv"});
  // A pending part the committer holds (its commit failed, say) is not a leftover.
  stage(c, 1, 0, "new\n");
  c.attach(0, 2);
  CHECK(c.pending().size() == 1);
  c.commit(1);
  CHECK(slurp(path + ".0") == "new\n");
}

SCENARIO("a commit that fails keeps the part pending and fails the next pre-commit") {
  auto dir = test::temp_dir("eddy_committer_error");
  auto path = dir + "/out.csv";
  file_committer c{path, ""};
  c.attach(0, 1);
  stage(c, 1, 0, "1\n");
  std::filesystem::create_directory(path); // in the way of the rename
  std::ofstream{path + "/blocker"} << "x";
  c.commit(1);
  CHECK(c.pending().size() == 1);
  CHECK_THROWS_WITH(c.rethrow_error(), Catch::Contains("committing checkpoint 1 failed") &&
                                           Catch::Contains("stay pending"));
  CHECK_NOTHROW(c.rethrow_error()); // thrown once
  std::filesystem::remove_all(path);
  c.commit(1); // the next commit retries it
  CHECK(c.pending().empty());
  CHECK(slurp(path) == "1\n");
}

SCENARIO("a CSV sink's records stay invisible until the committer commits them") {
  auto dir = test::temp_dir("eddy_committer_csv_sink");
  auto path = dir + "/out.csv";
  csv_sink<int> s{path, {"n"}};
  auto committer = s.committer();
  {
    auto instance = s; // what the runtime does: one copy per instance
    instance.open(0, 1);
    instance(1);
    instance(2);
    instance.pre_commit(1);
    instance(3);
    CHECK_FALSE(std::filesystem::exists(path));
    committer->commit(1);
    CHECK(slurp(path) == "n\n1\n2\n");
    instance.pre_commit(2);
    instance(4);
    // The instance dies here: 4 was never pre-committed, its part goes with it.
  }
  committer->abort_after(1);
  CHECK(slurp(path) == "n\n1\n2\n");
  CHECK(files_in(dir) == std::vector<std::string>{"out.csv"});
  {
    auto instance = s; // the replacement replays 3 and 4
    instance.open(0, 1);
    instance(3);
    instance(4);
    instance.finish();
    instance.pre_commit(2);
  }
  committer->commit(final_checkpoint);
  CHECK(slurp(path) == "n\n1\n2\n3\n4\n");
  CHECK(files_in(dir) == std::vector<std::string>{"out.csv"});
}

SCENARIO("an instance replaced alone loses only its own parts") {
  auto dir = test::temp_dir("eddy_committer_instance_abort");
  auto path = dir + "/out.csv";
  file_committer c{path, ""};
  c.attach(0, 2);
  c.attach(1, 2);
  stage(c, 1, 0, "a1\n");
  stage(c, 1, 1, "b1\n");
  c.commit(1);
  stage(c, 2, 0, "a2\n");
  stage(c, 2, 1, "b2\n");
  c.abort_instance_after(1, 1); // instance 1 goes back to checkpoint 1, instance 0 goes on
  CHECK(c.pending() == std::map<checkpoint_id, std::vector<std::string>>{
                           {2, {dir + "/.out.csv.part-0-2.pending"}}});
  stage(c, 2, 1, "b2 again\n");
  c.commit(final_checkpoint);
  CHECK(slurp(path + ".0") == "a1\na2\n");
  CHECK(slurp(path + ".1") == "b1\nb2 again\n");
  CHECK(files_in(dir) == std::vector<std::string>{"out.csv.0", "out.csv.1"});
}
