#include <eddy/checkpoint/storage.hpp>

#include "temp_dir.hpp"

#include <eddy/state/crc32c.hpp>
#include <eddy/state/key_group_range.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace ck = eddy::checkpoint;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t key_groups = 16;

// The state of instance `i` of `p` of an operator at checkpoint `id`: one entry per key group it
// owns, whose bytes say where they came from.
eddy::instance_state state_of(eddy::checkpoint_id id, uint32_t op, uint32_t i, uint32_t p) {
  eddy::instance_state s;
  s.operator_state =
      "op" + std::to_string(op) + "-inst" + std::to_string(i) + "-chk" + std::to_string(id);
  auto r = eddy::state::key_group_range::of(i, p, key_groups);
  for (auto kg = r.first; kg < r.end; ++kg)
    s.key_groups.emplace_back(kg, "kg" + std::to_string(kg) + "-chk" + std::to_string(id));
  return s;
}

ck::snapshot_meta meta_of(eddy::checkpoint_id id, uint32_t op, const std::string& name, uint32_t i,
                          uint32_t p) {
  auto r = eddy::state::key_group_range::of(i, p, key_groups);
  return ck::snapshot_meta{id, op, name, i, p, r.first, r.end, key_groups};
}

// Writes every task of a job with operator 0 "source" (parallelism 1) and operator 1
// "counts" (parallelism `p`), and completes the checkpoint unless `complete` is false.
ck::manifest write_checkpoint(ck::storage& s, eddy::checkpoint_id id, uint32_t p,
                              bool complete = true, bool savepoint = false) {
  ck::manifest m{id, 1000 * id, savepoint, {}, {}};
  auto one = [&](uint32_t op, const std::string& name, uint32_t i, uint32_t par) {
    auto bytes = s.write_snapshot(meta_of(id, op, name, i, par), state_of(id, op, i, par));
    REQUIRE(bytes);
    m.tasks.push_back(ck::task_entry{op, name, i, par, false, *bytes});
  };
  one(0, "source", 0, 1);
  for (uint32_t i = 0; i < p; ++i)
    one(1, "counts", i, p);
  if (complete)
    REQUIRE_FALSE(s.complete(m));
  return m;
}

void overwrite_byte(const fs::path& file, size_t at) {
  std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0x20));
}

} // namespace

SCENARIO("a checkpoint written, completed and loaded gives back every task's state") {
  eddy::test::scratch_dir tmp{"roundtrip"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir / "nested" / "chk");
  REQUIRE(s);
  auto m = write_checkpoint(*s, 1, 2);
  m.tasks.push_back(ck::task_entry{2, "sink", 0, 1, true, 0}); // finished: no file
  REQUIRE_FALSE(s->complete(m));
  CHECK(fs::exists(s->path_of(1) / "_manifest"));
  CHECK(s->path_of(1).filename() == "chk-0000000001");
  CHECK(fs::exists(s->path_of(1) / "1-counts-1.snap"));
  CHECK(fs::file_size(s->path_of(1) / "1-counts-1.snap") == m.tasks[2].bytes);
  for (const auto& e : fs::directory_iterator{s->path_of(1)})
    CHECK(e.path().extension() != ".tmp");
  CHECK(s->completed() == std::vector<eddy::checkpoint_id>{1});
  auto chk = s->load(1);
  REQUIRE(chk);
  CHECK(chk->m == m);
  REQUIRE(chk->states.size() == 3);
  CHECK(chk->states.at({1, 1}).operator_state == state_of(1, 1, 1, 2).operator_state);
  CHECK(chk->states.at({1, 1}).key_groups == state_of(1, 1, 1, 2).key_groups);
  CHECK(ck::finished(*chk, 2, 0));
  CHECK_FALSE(ck::finished(*chk, 1, 0));
  auto missing = s->load(7);
  REQUIRE_FALSE(missing);
  CHECK(ck::is(missing.error(), ck::errc::not_found));
}

SCENARIO("operator names that are no file names still make one file per task") {
  eddy::test::scratch_dir tmp{"names"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir);
  REQUIRE(s);
  auto bytes = s->write_snapshot(meta_of(1, 0, "a/b c", 0, 1), state_of(1, 0, 0, 1));
  REQUIRE(bytes);
  CHECK(fs::exists(s->path_of(1) / "0-a_b_c-0.snap"));
  REQUIRE_FALSE(s->complete(ck::manifest{1, 0, false, {{0, "a/b c", 0, 1, false, *bytes}}, {}}));
  auto chk = s->load(1);
  REQUIRE(chk);
  CHECK(chk->states.at({0, 0}).operator_state == state_of(1, 0, 0, 1).operator_state);
}

SCENARIO("storage refuses what it cannot do, with a sentence") {
  eddy::test::scratch_dir tmp{"refuse"};
  const auto& dir = tmp.path();
  auto zero = ck::storage::open(dir, 0);
  REQUIRE_FALSE(zero);
  CHECK(ck::is(zero.error(), ck::errc::invalid_config));
  { std::ofstream{dir / "file"} << "x"; }
  auto under_file = ck::storage::open(dir / "file" / "chk");
  REQUIRE_FALSE(under_file);
  CHECK(ck::is(under_file.error(), ck::errc::invalid_config));
  CHECK(eddy::describe(under_file.error()).find("cannot be created") != std::string::npos);
  auto s = ck::storage::open(dir / "ok");
  REQUIRE(s);
  auto bad = s->write_snapshot(meta_of(1, 0, "x", 3, 2), eddy::instance_state{});
  REQUIRE_FALSE(bad);
  CHECK(ck::is(bad.error(), ck::errc::invalid_config));
  auto no_file = s->complete(ck::manifest{1, 0, false, {{0, "x", 0, 1, false, 10}}, {}});
  REQUIRE(no_file);
  CHECK(ck::is(no_file, ck::errc::not_found));
  CHECK_THAT(eddy::describe(no_file), Catch::Contains("0-x-0.snap"));
  CHECK_FALSE(fs::exists(s->path_of(1) / "_manifest"));
  CHECK(s->completed().empty());
  std::vector<std::string> notes;
  auto none = s->load_latest(&notes);
  REQUIRE_FALSE(none);
  CHECK(ck::is(none.error(), ck::errc::not_found));
  CHECK(notes.empty());
}

SCENARIO("pruning keeps exactly the last keep_last checkpoints, and every savepoint") {
  eddy::test::scratch_dir tmp{"prune"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir, 3);
  REQUIRE(s);
  // Checkpoints 2 and 7 are savepoints.
  std::vector<std::vector<eddy::checkpoint_id>> expected{
      {1},          {1, 2},       {1, 2, 3},       {1, 2, 3, 4},
      {2, 3, 4, 5}, {2, 4, 5, 6}, {2, 4, 5, 6, 7}, {2, 5, 6, 7, 8}};
  for (eddy::checkpoint_id id = 1; id <= 8; ++id) {
    write_checkpoint(*s, id, 2, true, id == 2 || id == 7);
    INFO("after checkpoint " << id);
    CHECK(s->completed() == expected[static_cast<size_t>(id - 1)]);
  }
  CHECK(s->completed() == std::vector<eddy::checkpoint_id>{2, 5, 6, 7, 8});
  CHECK_FALSE(fs::exists(s->path_of(1)));
  CHECK_FALSE(fs::exists(s->path_of(4)));
  auto sp = s->load(2);
  REQUIRE(sp);
  CHECK(sp->m.savepoint);
}

SCENARIO("incomplete checkpoints are ignored, then removed") {
  eddy::test::scratch_dir tmp{"incomplete"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir, 5);
  REQUIRE(s);
  write_checkpoint(*s, 1, 2);
  write_checkpoint(*s, 2, 2, false); // never completed: a crash before the manifest
  write_checkpoint(*s, 3, 2);
  write_checkpoint(*s, 4, 2, false);
  write_checkpoint(*s, 5, 2, false);
  // A crash while 5's manifest was written leaves its temporary file; 4's manifest is damaged.
  { std::ofstream{s->path_of(5) / "_manifest.tmp"} << "EDMF"; }
  { std::ofstream{s->path_of(4) / "_manifest"} << "EDMF\1\0garbage"; }
  fs::create_directories(dir / "unrelated");
  fs::create_directories(dir / "chk-x");
  CHECK_FALSE(fs::exists(s->path_of(2))); // older than 3 when 3 completed
  CHECK(s->completed() == std::vector<eddy::checkpoint_id>{1, 3});
  auto latest = s->load_latest(nullptr);
  REQUIRE(latest);
  CHECK(latest->m.id == 3);
  CHECK(fs::exists(s->path_of(4)));
  std::vector<std::string> notes;
  auto noted = s->load_latest(&notes);
  REQUIRE(noted);
  CHECK(noted->m.id == 3);
  CHECK(notes.size() == 1); // 4's damaged manifest; 5 has none at all
  REQUIRE_FALSE(s->remove_incomplete());
  CHECK_FALSE(fs::exists(s->path_of(4)));
  CHECK_FALSE(fs::exists(s->path_of(5)));
  CHECK(fs::exists(dir / "chk-x"));
  CHECK(fs::exists(s->path_of(3)));
  CHECK(fs::exists(dir / "unrelated"));
  CHECK(s->completed() == std::vector<eddy::checkpoint_id>{1, 3});
}

SCENARIO("completing a checkpoint removes older checkpoints that never completed") {
  eddy::test::scratch_dir tmp{"older"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir, 5);
  REQUIRE(s);
  write_checkpoint(*s, 1, 1);
  write_checkpoint(*s, 2, 1, false);
  write_checkpoint(*s, 4, 1, false);
  write_checkpoint(*s, 3, 1);
  CHECK_FALSE(fs::exists(s->path_of(2)));
  CHECK(fs::exists(s->path_of(4))); // younger: may still be under way
  CHECK(s->completed() == std::vector<eddy::checkpoint_id>{1, 3});
}

SCENARIO("recovery falls back to the previous checkpoint when the newest is damaged") {
  eddy::test::scratch_dir tmp{"fallback"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir, 5);
  REQUIRE(s);
  write_checkpoint(*s, 11, 2);
  write_checkpoint(*s, 12, 2);
  auto file = s->file_of(12, 1, "counts", 1);
  GIVEN("a snapshot file of the newest checkpoint with one byte changed") {
    overwrite_byte(file, fs::file_size(file) / 2);
    std::vector<std::string> notes;
    auto chk = s->load_latest(&notes);
    REQUIRE(chk);
    CHECK(chk->m.id == 11);
    CHECK(chk->states.at({1, 0}).operator_state == state_of(11, 1, 0, 2).operator_state);
    REQUIRE(notes.size() == 1);
    CHECK_THAT(notes[0], Catch::StartsWith("checkpoint 12 is damaged (snapshot file "));
    CHECK_THAT(notes[0], Catch::Contains(file.string()));
    CHECK_THAT(notes[0], Catch::EndsWith("): recovering from checkpoint 11 instead"));
    auto direct = s->load(12);
    REQUIRE_FALSE(direct);
    CHECK(ck::is(direct.error(), ck::errc::corrupt_snapshot));
  }
  GIVEN("a truncated snapshot file of the newest checkpoint") {
    fs::resize_file(file, fs::file_size(file) - 3);
    std::vector<std::string> notes;
    auto chk = s->load_latest(&notes);
    REQUIRE(chk);
    CHECK(chk->m.id == 11);
    REQUIRE(notes.size() == 1);
    CHECK_THAT(notes[0], Catch::Contains("truncated"));
  }
  GIVEN("a missing snapshot file of the newest checkpoint") {
    fs::remove(file);
    std::vector<std::string> notes;
    auto chk = s->load_latest(&notes);
    REQUIRE(chk);
    CHECK(chk->m.id == 11);
    REQUIRE(notes.size() == 1);
    CHECK_THAT(notes[0], Catch::Contains("missing"));
  }
  GIVEN("a damaged manifest of the newest checkpoint") {
    overwrite_byte(s->path_of(12) / "_manifest", 10);
    CHECK(s->completed() == std::vector<eddy::checkpoint_id>{11});
    std::vector<std::string> notes;
    auto chk = s->load_latest(&notes);
    REQUIRE(chk);
    CHECK(chk->m.id == 11);
    REQUIRE(notes.size() == 1);
    CHECK_THAT(notes[0], Catch::Contains("manifest"));
  }
  GIVEN("both checkpoints damaged") {
    overwrite_byte(file, 30);
    overwrite_byte(s->file_of(11, 0, "source", 0), 30);
    std::vector<std::string> notes;
    auto chk = s->load_latest(&notes);
    REQUIRE_FALSE(chk);
    CHECK(ck::is(chk.error(), ck::errc::corrupt_snapshot));
    CHECK_THAT(eddy::describe(chk.error()), Catch::Contains("checkpoint 12 is damaged"));
    CHECK_THAT(eddy::describe(chk.error()), Catch::Contains("checkpoint 11 is damaged"));
    CHECK(notes.size() == 1);
  }
}

SCENARIO("assemble hands each new instance exactly the key groups it owns") {
  eddy::test::scratch_dir tmp{"assemble"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir);
  REQUIRE(s);
  for (uint32_t from : {2u, 4u}) {
    for (uint32_t to : {1u, 2u, 3u, 4u, 5u}) {
      eddy::checkpoint_id id = from * 10 + to;
      write_checkpoint(*s, id, from);
      auto chk = s->load(id);
      REQUIRE(chk);
      INFO("rescale " << from << " -> " << to);
      std::vector<uint32_t> seen;
      for (uint32_t i = 0; i < to; ++i) {
        auto st = ck::assemble(*chk, 1, i, to, key_groups);
        auto r = eddy::state::key_group_range::of(i, to, key_groups);
        REQUIRE(st.key_groups.size() == r.size());
        for (size_t k = 0; k < st.key_groups.size(); ++k) {
          CHECK(st.key_groups[k].first == r.first + k); // ordered, every one of the range
          CHECK(st.key_groups[k].second ==
                "kg" + std::to_string(r.first + k) + "-chk" + std::to_string(id));
          seen.push_back(st.key_groups[k].first);
        }
        if (i < from)
          CHECK(st.operator_state == state_of(id, 1, i, from).operator_state);
        else
          CHECK(st.operator_state.empty());
      }
      std::sort(seen.begin(), seen.end());
      CHECK(seen.size() == key_groups);
      CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
      // The other operator is untouched by operator 1's entries.
      auto src = ck::assemble(*chk, 0, 0, 1, key_groups);
      CHECK(src.operator_state == state_of(id, 0, 0, 1).operator_state);
      CHECK(src.key_groups == state_of(id, 0, 0, 1).key_groups);
      CHECK(ck::assemble(*chk, 9, 0, 1, key_groups).empty());
    }
  }
}

SCENARIO("four threads write snapshot files of one checkpoint at once") {
  eddy::test::scratch_dir tmp{"threads"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir);
  REQUIRE(s);
  constexpr uint32_t p = 16;
  std::vector<uint64_t> sizes(p);
  std::vector<std::string> errors(p);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (uint32_t i = t; i < p; i += 4) {
        auto st = state_of(1, 1, i, p);
        st.operator_state.append(100000 * (i % 3), 'z');
        auto n = s->write_snapshot(meta_of(1, 1, "counts", i, p), st);
        if (n)
          sizes[i] = *n;
        else
          errors[i] = eddy::describe(n.error());
      }
    });
  for (auto& th : threads)
    th.join();
  ck::manifest m{1, 0, false, {}, {}};
  for (uint32_t i = 0; i < p; ++i) {
    CHECK(errors[i].empty());
    m.tasks.push_back(ck::task_entry{1, "counts", i, p, false, sizes[i]});
  }
  REQUIRE_FALSE(s->complete(m));
  auto chk = s->load(1);
  REQUIRE(chk);
  REQUIRE(chk->states.size() == p);
  for (uint32_t i = 0; i < p; ++i)
    CHECK(chk->states.at({1, i}).operator_state.size() ==
          state_of(1, 1, i, p).operator_state.size() + 100000 * (i % 3));
}

SCENARIO("fail_next_writes fails exactly the next n writes without touching their files") {
  eddy::test::scratch_dir tmp{"inject"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir);
  REQUIRE(s);
  REQUIRE(s->write_snapshot(meta_of(1, 0, "source", 0, 1), state_of(1, 0, 0, 1)));
  auto file = s->file_of(1, 0, "source", 0);
  auto before = fs::file_size(file);
  s->fail_next_writes(2);
  for (int k = 0; k < 2; ++k) {
    auto st = state_of(1, 0, 0, 1);
    st.operator_state += "more";
    auto n = s->write_snapshot(meta_of(1, 0, "source", 0, 1), st);
    REQUIRE_FALSE(n);
    CHECK(ck::is(n.error(), ck::errc::io_failure));
    CHECK_THAT(eddy::describe(n.error()), Catch::Contains("injected"));
  }
  CHECK(fs::file_size(file) == before);
  CHECK_FALSE(fs::exists(s->file_of(1, 1, "counts", 0)));
  CHECK(s->write_snapshot(meta_of(1, 1, "counts", 0, 1), state_of(1, 1, 0, 1)));
  GIVEN("four threads racing for three failures") {
    s->fail_next_writes(3);
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (uint32_t i = 0; i < 5; ++i)
          if (!s->write_snapshot(meta_of(2, 1, "counts", t * 5 + i, 20), {}))
            ++failed;
      });
    for (auto& th : threads)
      th.join();
    CHECK(failed == 3);
  }
}

SCENARIO("damage_snapshot corrupts or cuts one file, which loading then detects") {
  eddy::test::scratch_dir tmp{"damage"};
  auto s = ck::storage::open(tmp.path());
  REQUIRE(s);
  for (bool truncate : {false, true}) {
    INFO((truncate ? "truncated" : "corrupted"));
    eddy::checkpoint_id id = truncate ? 2 : 1;
    write_checkpoint(*s, id, 2);
    REQUIRE(s->load(id));
    // Files in name order: 0-source-0, 1-counts-0, 1-counts-1; pick 4 is the second.
    auto file = s->file_of(id, 1, "counts", 0);
    auto before = fs::file_size(file);
    auto damaged = s->damage_snapshot(id, 4, truncate);
    REQUIRE(damaged);
    CHECK(*damaged == file);
    CHECK(fs::file_size(file) == (truncate ? before / 2 : before));
    auto loaded = s->load(id);
    REQUIRE_FALSE(loaded);
    CHECK(ck::is(loaded.error(), ck::errc::corrupt_snapshot));
    CHECK_THAT(eddy::describe(loaded.error()), Catch::Contains(file.filename().string()));
  }
  auto none = s->damage_snapshot(7, 0, false);
  REQUIRE_FALSE(none);
  CHECK(ck::is(none.error(), ck::errc::not_found));
}

SCENARIO("a checkpoint written by a newer eddy is neither used nor removed") {
  eddy::test::scratch_dir tmp{"newer"};
  const auto& dir = tmp.path();
  auto s = ck::storage::open(dir, 5);
  REQUIRE(s);
  write_checkpoint(*s, 1, 1);
  auto m = write_checkpoint(*s, 2, 1);
  auto bytes = ck::encode_manifest(m);
  bytes[4] = 9;
  uint32_t crc = eddy::state::crc32c(bytes.data(), bytes.size() - 4);
  for (size_t i = 0; i < 4; ++i)
    bytes[bytes.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  { std::ofstream{s->path_of(2) / "_manifest", std::ios::binary | std::ios::trunc} << bytes; }
  CHECK(s->completed() == std::vector<eddy::checkpoint_id>{1});
  std::vector<std::string> notes;
  auto chk = s->load_latest(&notes);
  REQUIRE(chk);
  CHECK(chk->m.id == 1);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::StartsWith("checkpoint 2 cannot be used (manifest "));
  CHECK_THAT(notes[0], Catch::Contains("format version 9"));
  REQUIRE_FALSE(s->remove_incomplete());
  write_checkpoint(*s, 3, 1);
  CHECK(fs::exists(s->path_of(2) / "_manifest"));
}

SCENARIO("a sink committer's state file is part of its checkpoint: loaded back, and checked") {
  eddy::test::scratch_dir tmp{"sink_state"};
  auto s = ck::storage::open(tmp.path());
  REQUIRE(s);
  auto m = write_checkpoint(*s, 1, 1, /*complete=*/false);
  const std::string kept = std::string{"uncommitted\0records", 19};
  auto bytes = s->write_sink_state(1, 2, "to kafka", kept);
  REQUIRE(bytes);
  CHECK(s->sink_file_of(1, 2, "to kafka").filename() == "2-to_kafka.commit");
  // A manifest that lists a sink file of another size (or none) does not complete.
  m.sinks.push_back(ck::sink_entry{2, "to kafka", *bytes + 1});
  auto refused = s->complete(m);
  REQUIRE(refused);
  CHECK_THAT(eddy::describe(refused), Catch::Contains("2-to_kafka.commit"));
  m.sinks.back().bytes = *bytes;
  REQUIRE_FALSE(s->complete(m));
  auto back = s->load(1);
  REQUIRE(back);
  CHECK(back->m == m);
  CHECK(back->sink_states == std::map<uint32_t, std::string>{{2, kept}});
  // Damage to it makes the checkpoint fail to load, naming the file.
  overwrite_byte(s->sink_file_of(1, 2, "to kafka"), 40);
  auto damaged = s->load(1);
  REQUIRE_FALSE(damaged);
  CHECK(ck::is(damaged.error(), ck::errc::corrupt_snapshot));
  CHECK_THAT(eddy::describe(damaged.error()), Catch::Contains("2-to_kafka.commit"));
  fs::remove(s->sink_file_of(1, 2, "to kafka"));
  damaged = s->load(1);
  REQUIRE_FALSE(damaged);
  CHECK_THAT(eddy::describe(damaged.error()), Catch::Contains("is missing"));
}
