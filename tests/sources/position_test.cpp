// Replayable sources (operators/source.hpp): a source stopped between two produce calls and a
// fresh copy sought to its position() emit, together, exactly what one uninterrupted run emits:
// the same records with the same event times, watermarks and dead letters (with their line
// numbers), at every cut point.
//
// The sources are driven directly, through a source_context that records every call (a
// specialization for this file's record type), so every watermark and dead letter is seen as the
// source makes it, with no task or job in between.
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/csv_source.hpp>
#include <eddy/sources/generator.hpp>
#include <eddy/sources/jsonl_source.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

/// The record of every source in this file.
struct pos_rec {
  int64_t id = 0;
  std::string name;
  int64_t time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pos_rec& x) {
  return f(x.id, x.name, x.time);
}

void from_json(const nlohmann::json& j, pos_rec& x) {
  j.at("id").get_to(x.id);
  j.at("name").get_to(x.name);
  j.at("time").get_to(x.time);
}

} // namespace

namespace eddy {

/// Records every call of a source, in order, as one line each.
template <>
class source_context<pos_rec> {
public:
  explicit source_context(size_t batch_size)
      : batch_size_(batch_size) {}

  void emit(pos_rec x) { record(x, min_time); }
  void emit(pos_rec x, timestamp t) { record(x, t); }
  void emit_batch(batch<pos_rec>&& b) {
    for (size_t i = 0; i < b.items.size(); ++i)
      record(b.items[i], b.times.empty() ? min_time : b.times[i]);
  }
  void watermark(timestamp t) { log.push_back("watermark " + std::to_string(t)); }
  void mark_idle() { log.push_back("idle"); }
  void dead_letter(std::string reason, std::string record, std::string origin) {
    log.push_back("dead letter " + origin + " [" + record + "]: " + reason);
  }
  [[nodiscard]] uint32_t instance() const noexcept { return 0; }
  [[nodiscard]] uint32_t parallelism() const noexcept { return 1; }
  [[nodiscard]] size_t batch_size() const noexcept { return batch_size_; }

  /// What the source did.
  std::vector<std::string> log;

private:
  void record(const pos_rec& x, timestamp t) {
    log.push_back("record " + std::to_string(x.id) + " " + x.name + " " + std::to_string(x.time) +
                  " at " + std::to_string(t));
  }

  size_t batch_size_;
};

} // namespace eddy

using namespace eddy;

namespace {

/// What one run of a source did.
template <class S>
struct run_result {
  /// Every call into the context.
  std::vector<std::string> log;
  /// position() after the run.
  typename S::position_type position{};
  /// produce calls made.
  size_t calls = 0;
  /// The source said done.
  bool done = false;
};

/// Runs a copy of `src` as instance `instance` of `parallelism`: open, seek to `from` (through
/// the codec, as a checkpoint stores it) when given, then up to `max_calls` produce calls (a
/// `wait` is slept through and counts as a call).
template <class S>
run_result<S> drive(S src, size_t max_calls,
                    const std::optional<typename S::position_type>& from = std::nullopt,
                    uint32_t instance = 0, uint32_t parallelism = 1, size_t batch_size = 3) {
  static_assert(internal::has_position<S>::value, "the sources under test are replayable");
  if constexpr (internal::has_open<S>::value)
    src.open(instance, parallelism);
  if (from) {
    typename S::position_type decoded{};
    REQUIRE(state::decode(state::encode(*from), decoded));
    src.seek(decoded);
  }
  source_context<pos_rec> ctx{batch_size};
  run_result<S> r;
  while (r.calls < max_calls) {
    auto res = src.produce(ctx);
    ++r.calls;
    if (res.status == produce_result::done) {
      r.done = true;
      break;
    }
    if (res.status == produce_result::wait)
      std::this_thread::sleep_for(res.wait_for);
  }
  r.log = std::move(ctx.log);
  r.position = src.position();
  return r;
}

/// Checks that a run cut after `cut` calls, then resumed from its position, emits what `full`
/// (an uninterrupted run) emitted, for every cut from 0 to past the end.
template <class S>
void check_every_cut(const S& src, uint32_t instance = 0, uint32_t parallelism = 1,
                     size_t batch_size = 3) {
  auto full = drive(src, SIZE_MAX, std::nullopt, instance, parallelism, batch_size);
  REQUIRE(full.done);
  REQUIRE_FALSE(full.log.empty());
  for (size_t cut = 0; cut <= full.calls + 1; ++cut) {
    CAPTURE(cut);
    auto first = drive(src, cut, std::nullopt, instance, parallelism, batch_size);
    auto rest = drive(src, SIZE_MAX, first.position, instance, parallelism, batch_size);
    auto joined = first.log;
    joined.insert(joined.end(), rest.log.begin(), rest.log.end());
    CHECK(joined == full.log);
    CHECK(rest.done);
  }
}

std::string write_file(const std::string& name, const std::string& text) {
  auto path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream{path, std::ios::binary} << text;
  return path;
}

pos_rec make_rec(uint64_t i) {
  // Event times out of order (a saw tooth), so watermarks do not follow every record.
  return pos_rec{static_cast<int64_t>(i), "r" + std::to_string(i),
                 static_cast<int64_t>((i % 5) * 10 + i)};
}

} // namespace

SCENARIO("a container source resumed from its position continues exactly") {
  std::vector<pos_rec> xs;
  for (uint64_t i = 0; i < 20; ++i)
    xs.push_back(make_rec(i));
  GIVEN("an untimed source of one instance (whole slices per batch)") {
    check_every_cut(from_container(xs));
  }
  GIVEN("a timed source, with watermarks") {
    check_every_cut(from_container(xs, [](const pos_rec& r) { return r.time; }));
  }
  GIVEN("instance 1 of 3") {
    check_every_cut(from_container(xs, [](const pos_rec& r) { return r.time; }), 1, 3);
  }
  GIVEN("an empty container") {
    auto r = drive(from_container(std::vector<pos_rec>{}), SIZE_MAX);
    auto resumed = drive(from_container(std::vector<pos_rec>{}), SIZE_MAX, r.position);
    CHECK(resumed.done);
    CHECK(resumed.log.empty());
  }
}

SCENARIO("a container source refuses a position of another parallelism") {
  std::vector<pos_rec> xs{make_rec(0), make_rec(1), make_rec(2)};
  auto r = drive(from_container(xs), 1, std::nullopt, 0, 2);
  CHECK_THROWS_WITH(drive(from_container(xs), 1, r.position, 0, 3),
                    Catch::Contains("parallelism it had at the checkpoint"));
  CHECK_THROWS_AS(drive(from_container(xs), 1, r.position, 1, 2), std::runtime_error);
}

SCENARIO("a generator resumed from its position continues exactly") {
  GIVEN("an untimed generator") {
    check_every_cut(generator<pos_rec>(25, make_rec));
  }
  GIVEN("a timed generator with out-of-orderness") {
    check_every_cut(generator<pos_rec>(25, make_rec)
                        .with_event_time([](const pos_rec& r) { return r.time; }, 7),
                    0, 1, 4);
  }
  GIVEN("instance 2 of 3") {
    check_every_cut(
        generator<pos_rec>(40, make_rec).with_event_time([](const pos_rec& r) { return r.time; }),
        2, 3);
  }
  GIVEN("a paced generator") {
    check_every_cut(generator<pos_rec>(30, make_rec).at_rate(50'000));
  }
}

SCENARIO("a paced generator resumed from its position paces from there, without a burst") {
  // 2,000 records a second: record k after the seek is due k / 2,000 s after the first produce.
  auto paced = generator<pos_rec>(1'000, make_rec).at_rate(2'000);
  auto first = drive(paced, 3, std::nullopt, 0, 1, 100);
  auto resumed = paced;
  resumed.open(0, 1);
  resumed.seek(first.position);
  source_context<pos_rec> ctx{100};
  auto start = std::chrono::steady_clock::now();
  auto res = resumed.produce(ctx);
  // At once: the first record after the position, and at most a few more, not a batch of 100.
  CHECK(res.status != produce_result::done);
  CHECK(ctx.log.size() >= 1);
  CHECK(ctx.log.size() <= 5);
  size_t emitted = ctx.log.size();
  while (emitted < 20) {
    if (res.status == produce_result::wait)
      std::this_thread::sleep_for(res.wait_for);
    res = resumed.produce(ctx);
    emitted = ctx.log.size();
  }
  // 20 records at 2,000/s: the 20th is due 9.5 ms after the first.
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::microseconds{9'000});
  CHECK(ctx.log.front() == "record " + std::to_string(first.position.next) + " r" +
                               std::to_string(first.position.next) + " " +
                               std::to_string(make_rec(first.position.next).time) + " at " +
                               std::to_string(min_time));
}

SCENARIO("a generator refuses a position of another parallelism") {
  auto g = generator<pos_rec>(10, make_rec);
  auto r = drive(g, 1, std::nullopt, 1, 2);
  CHECK_THROWS_WITH(drive(g, 1, r.position, 1, 4),
                    Catch::Contains("parallelism it had at the checkpoint"));
}

namespace {

/// A CSV file with a header, bad lines (wrong field count, a bad number), blank lines, CRLF line
/// ends and a last line without a newline.
const char* csv_text = "id,name,time\n"
                       "1,a,10\n"
                       "2,b,30\n"
                       "oops\n"
                       "\n"
                       "3,c,20\r\n"
                       "4,d,x\n"
                       "5,e,50\n"
                       "6,f,40\n"
                       "7,g,70";

const char* jsonl_text = R"({"id":1,"name":"a","time":10}
{"id":2,"name":"b","time":30}
{broken
{"id":3,"name":"c"}

{"id":4,"name":"d","time":20}
{"id":5,"name":"e","time":50}
{"id":6,"name":"f","time":40}
)";

} // namespace

SCENARIO("a CSV source resumed from its position continues exactly, line numbers included") {
  auto path = write_file("eddy_position_test.csv", csv_text);
  auto timed =
      csv_source<pos_rec>(path).with_event_time([](const pos_rec& r) { return r.time; }, 5);
  GIVEN("an untimed source") {
    check_every_cut(csv_source<pos_rec>(path));
  }
  GIVEN("a timed source") {
    check_every_cut(timed);
  }
  GIVEN("a source read three times over, with time shifted per pass") {
    check_every_cut(timed.repeat(3), 0, 1, 2);
  }
  GIVEN("a source without header, one record per call") {
    auto headless = write_file("eddy_position_test_headless.csv", "1,a,10\n2,b,20\nbad\n3,c,5\n");
    check_every_cut(csv_source<pos_rec>(headless).header(false).repeat(2), 0, 1, 1);
  }
  GIVEN("an empty file") {
    auto empty = write_file("eddy_position_test_empty.csv", "");
    auto r = drive(csv_source<pos_rec>(empty), SIZE_MAX);
    CHECK(r.done);
    CHECK(drive(csv_source<pos_rec>(empty), SIZE_MAX, r.position).log.empty());
  }
}

SCENARIO("a JSON-lines source resumed from its position continues exactly") {
  auto path = write_file("eddy_position_test.jsonl", jsonl_text);
  check_every_cut(jsonl_source<pos_rec>(path));
  check_every_cut(
      jsonl_source<pos_rec>(path).with_event_time([](const pos_rec& r) { return r.time; }), 0, 1,
      2);
  check_every_cut(jsonl_source<pos_rec>(path)
                      .with_event_time([](const pos_rec& r) { return r.time; })
                      .repeat(2));
}

SCENARIO("a file source refuses to resume in a file that changed") {
  auto path = write_file("eddy_position_test_changed.csv", csv_text);
  auto src = csv_source<pos_rec>(path);
  auto first = drive(src, 2);
  REQUIRE(first.position.offset > 0);
  WHEN("the file is shorter now") {
    write_file("eddy_position_test_changed.csv", "id,name,time\n");
    CHECK_THROWS_WITH(drive(src, SIZE_MAX, first.position),
                      Catch::Contains("eddy_position_test_changed.csv") &&
                          Catch::Contains("the file changed since the checkpoint"));
  }
  WHEN("no line starts at the position any more") {
    write_file("eddy_position_test_changed.csv", std::string{"x"} + csv_text);
    CHECK_THROWS_WITH(drive(src, SIZE_MAX, first.position),
                      Catch::Contains("no line starts there"));
  }
  WHEN("the position is impossible") {
    auto bad = first.position;
    bad.opened = 7;
    CHECK_THROWS_AS(drive(src, SIZE_MAX, bad), std::runtime_error);
  }
}
