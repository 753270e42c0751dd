// Recovery time against state size: a keyed task holding 1 MB, 100 MB or 1 GB in RocksDB crashes
// after a checkpoint of all of it, and is recovered alone (single-task recovery) or with the whole
// job (Flink's way), in the same run. It prints each recovery's downtime and their ratio, and
// checks that every run's output is exact.
//
// The job: a source of `keys` records (key k, a value of --value-bytes bytes) -> key_by -> "store"
// (1 instance: keeps each key's value in RocksDB, emits its length) -> collect. After its last
// record the source takes a savepoint and waits for it (so the checkpoint holds the whole
// state), then emits a tail of 100 records, one a millisecond; the store crashes on the tail's
// 10th record.
//
// What the clock includes: downtime is the coordinator's, from noticing the failure to the
// replacement running: the checkpoint's files read and verified (CRC-32C), the state written
// back into a fresh RocksDB, the channels rewired (and for the whole job: every task stopped,
// the backoff, every task restored). The replay of what was sent since the checkpoint follows.
//
//   eddy_bench_recovery_state [--sizes 1,100,1000] [--value-bytes 1000] [--threads 2]
#include "cli.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace eddy;

namespace {

struct entry {
  int64_t key = 0;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entry& x) {
  return f(caf::meta::type_name("entry"), x.key, x.value);
}

/// Keys 0..keys-1 with a value of `bytes` bytes each, then `tail` more records of key 0; at the
/// first tail record it takes a savepoint of `*j` and emits nothing more until it completed.
struct filling_source {
  using value_type = entry;
  using position_type = uint64_t;
  uint64_t keys = 0;
  size_t bytes = 0;
  uint64_t tail = 100;
  job* j = nullptr;
  std::shared_ptr<std::future<caf::expected<savepoint_info>>> saved =
      std::make_shared<std::future<caf::expected<savepoint_info>>>();
  uint64_t next = 0;

  [[nodiscard]] position_type position() const { return next; }
  void seek(position_type pos) { next = pos; }

  produce_result produce(source_context<entry>& ctx) {
    if (next == keys) {
      if (!saved->valid())
        *saved = j->savepoint();
      if (saved->wait_for(std::chrono::seconds{0}) != std::future_status::ready)
        return {produce_result::wait, caf::timespan{std::chrono::milliseconds{5}}};
    }
    // The tail goes one record a millisecond, so the source still runs when the store crashes
    // (a task that fed the failed one and finished since the checkpoint makes the whole job go
    // back).
    bool in_tail = next >= keys;
    auto end = std::min(next + (in_tail ? 1 : 256), in_tail ? keys + tail : keys);
    for (; next < end; ++next) {
      auto key = static_cast<int64_t>(next < keys ? next : 0);
      ctx.emit(entry{key, std::string(bytes, static_cast<char>('a' + next % 26))});
    }
    if (next == keys + tail)
      return {produce_result::done, {}};
    if (in_tail)
      return {produce_result::wait, caf::timespan{std::chrono::milliseconds{1}}};
    return {produce_result::more, {}};
  }
};

/// Keeps each key's latest value in keyed state; emits its length.
struct store {
  state::value_state<std::string> value;
  void open(keyed_context<int64_t, uint64_t>& ctx) {
    value = *ctx.state().declare_value<std::string>("value");
  }
  void operator()(const entry& e, keyed_context<int64_t, uint64_t>& ctx) {
    value.update(e.value);
    ctx.emit(e.value.size());
  }
};

struct outcome {
  bool exact = false;
  std::string error;
  job_report report;
};

outcome run(uint64_t keys, size_t bytes, size_t threads, recovery_mode how,
            const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);
  fault_plan faults;
  faults.crashes.push_back({"store", 0, keys + 10});
  auto cfg = job_config{}
                 .with_threads(threads)
                 .with_checkpoints((dir / "checkpoints").string(), std::chrono::hours{1})
                 .with_state_backend(state::backend_config{}.with_rocksdb((dir / "db").string()))
                 .with_faults(faults);
  cfg.checkpoints.recovery = how;
  cfg.checkpoints.timeout = std::chrono::hours{1};
  job j{cfg};
  filling_source src{keys, bytes};
  src.j = &j;
  std::vector<uint64_t> out;
  j.source(src)
      .name("source")
      .key_by([](const entry& e) { return e.key; })
      .process<uint64_t>(store{})
      .name("store")
      .parallelism(1)
      .sink(collect(out))
      .name("collect");
  outcome o;
  auto r = j.run();
  if (!r) {
    o.error = describe(r.error());
    return o;
  }
  o.report = std::move(*r);
  uint64_t total = 0;
  for (auto x : out)
    total += x;
  o.exact = out.size() == keys + src.tail && total == (keys + src.tail) * bytes;
  return o;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Recovery time against state size in RocksDB: one task alone against the whole "
               "job, in the same run"};
  std::vector<uint64_t> sizes{1, 100, 1000};
  size_t value_bytes = 1000;
  size_t threads = 2;
  std::string dir = (std::filesystem::temp_directory_path() / "eddy_bench_recovery_state").string();
  app.add_option("--sizes", sizes, "state sizes in MB")->delimiter(',')->capture_default_str();
  app.add_option("--value-bytes", value_bytes, "bytes of each key's value")
      ->capture_default_str()
      ->check(bench::whole_number(1, 1 << 20));
  app.add_option("--threads", threads, "CAF scheduler threads")
      ->capture_default_str()
      ->check(bench::whole_number(1, 1024));
  app.add_option("--dir", dir, "where checkpoints and RocksDB go (removed before each run)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (auto mb : sizes)
    if (mb == 0 || mb > 100'000) {
      std::fprintf(stderr, "--sizes: %llu MB is not a size from 1 to 100000\n",
                   static_cast<unsigned long long>(mb));
      return 1;
    }

  std::printf("recovery time against state size (RocksDB, values of %zu bytes, %zu threads)\n",
              value_bytes, threads);
  std::printf("%10s %12s %16s %16s %8s\n", "state", "checkpoint", "task alone", "whole job",
              "ratio");
  bool ok = true;
  for (auto mb : sizes) {
    auto keys = std::max<uint64_t>(1, mb * 1'000'000 / value_bytes);
    std::vector<double> down_ms;
    double checkpoint_ms = 0;
    for (auto how : {recovery_mode::single_task, recovery_mode::whole_job}) {
      auto o = run(keys, value_bytes, threads, how, dir);
      if (!o.error.empty() || !o.exact || o.report.recoveries.size() != 1 ||
          o.report.recoveries[0].single_task != (how == recovery_mode::single_task)) {
        std::printf("  %llu MB, %s: %s\n", static_cast<unsigned long long>(mb),
                    how == recovery_mode::single_task ? "task alone" : "whole job",
                    !o.error.empty() ? o.error.c_str()
                    : !o.exact       ? "output NOT EXACT"
                                     : "not one recovery of the expected kind");
        ok = false;
        down_ms.push_back(0);
        continue;
      }
      down_ms.push_back(o.report.recoveries[0].downtime.count() / 1e6);
      if (!o.report.checkpoints.empty())
        checkpoint_ms = o.report.checkpoints.front().duration.count() / 1e6;
    }
    std::printf("%7llu MB %9.0f ms %13.1f ms %13.1f ms %8.2f\n",
                static_cast<unsigned long long>(mb), checkpoint_ms, down_ms[0], down_ms[1],
                down_ms[0] > 0 ? down_ms[1] / down_ms[0] : 0.0);
  }
  std::filesystem::remove_all(dir);
  std::printf("%s\n", ok ? "every run's output exact" : "SOME RUN FAILED");
  return ok ? 0 : 1;
}
