// Memory under a slow sink: a full-speed source into a sink about ten times slower (by default
// 100 million records). Credits hold the source back, so resident memory stays flat however long
// the stream: the figures are peak RSS, the ratio of RSS at the end to RSS after the first tenth,
// and the per-operator queue metrics that bound it (batches in flight and queued).
//
// The slowdown is measured, not assumed: the run first times the source into a sink that only
// counts (its speed S), sizes the slow sink's work from a timing of its loop so that it runs at
// about S / slowdown, then reports the speed T of the slow run and the ratio S / T it got.
// Every record is checked: count, sum of indices and sum of prices.
//
// With `--checkpoints DIR` the slow run is repeated twice with checkpoints, buffer debloating
// off and on (channel_config::debloat_target): how long the checkpoints take behind the slow sink,
// each run against the other.
//
//   eddy_bench_memory [--events 100000000] [--threads 2] [--slowdown 10]
//                     [--checkpoints DIR] [--checkpoint-interval 100]
#include "cli.hpp"
#include "nexmark.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

using namespace eddy;
using eddy::bench::bid;

namespace {

double rss_mb() {
  std::ifstream in{"/proc/self/status"};
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      double kb = 0;
      in >> kb;
      return kb / 1024;
    }
    std::getline(in, key);
  }
  return 0;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

/// Record i: cheap to make, so the source is fast.
bid make_record(uint64_t i) {
  return bid{i % 1000, i % 100000, i % 10000, i};
}

/// What the sinks saw, added by each instance when its input ends.
struct totals {
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> index_sum{0};
  std::atomic<uint64_t> price_sum{0};
  std::atomic<uint64_t> digest{0};
};

/// `rounds` of mixing per record: the knob that makes the sink slow.
inline uint64_t busy_work(uint64_t z, uint32_t rounds) {
  for (uint32_t k = 0; k < rounds; ++k)
    z = bench::mix(z + k);
  return z;
}

/// Checks every record (count and sums) after `rounds` of busy work on it.
struct checking_sink {
  std::shared_ptr<totals> out;
  uint32_t rounds = 0;
  uint64_t count = 0, index_sum = 0, price_sum = 0, digest = 0;
  void operator()(const bid& b) {
    ++count;
    index_sum += b.date_time;
    price_sum += b.price;
    digest += busy_work(b.price, rounds);
  }
  void finish() {
    out->count += count;
    out->index_sum += index_sum;
    out->price_sum += price_sum;
    out->digest += digest;
  }
};

/// Nanoseconds per record of the slow sink's loop with `rounds`, alone on this thread.
double sink_ns_per_record(uint32_t rounds) {
  auto out = std::make_shared<totals>();
  checking_sink s{out, rounds};
  constexpr uint64_t n = 2'000'000;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; ++i)
    s(make_record(i));
  auto dt = std::chrono::steady_clock::now() - t0;
  s.finish(); // the digest goes to an atomic, so the loop is not optimised away
  return std::chrono::duration<double, std::nano>(dt).count() / static_cast<double>(n);
}

/// Runs generator ("source") -> `sink` ("sink") over `n` records.
caf::expected<job_report> run_job(job& j, uint64_t n, checking_sink sink) {
  j.source(generator<bid>(n, make_record)).name("source").sink(std::move(sink)).name("sink");
  return j.run();
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Memory under a slow sink: peak RSS and queue metrics while credits hold a "
               "full-speed source back"};
  uint64_t n = 100'000'000;
  size_t threads = 2;
  double slowdown = 10;
  app.add_option("--events", n, "records through the slow sink")
      ->capture_default_str()
      ->check(bench::whole_number(1000, 10'000'000'000));
  app.add_option("--threads", threads, "CAF scheduler threads")
      ->capture_default_str()
      ->check(bench::whole_number(1, 1024));
  app.add_option("--slowdown", slowdown, "how many times slower than the source the sink should be")
      ->capture_default_str()
      ->check(CLI::Range(2.0, 100000.0));
  std::string checkpoints;
  uint64_t interval_ms = 100;
  bench::add_checkpoint_options(app, checkpoints, interval_ms);
  CLI11_PARSE(app, argc, argv);
  double before = rss_mb();

  // 1. The source's speed S: the same generator into a sink that only counts.
  auto probe_n = std::clamp<uint64_t>(n / 5, 1000, 20'000'000);
  auto probe_totals = std::make_shared<totals>();
  job probe{job_config{}.with_threads(threads)};
  auto probe_report = run_job(probe, probe_n, checking_sink{probe_totals, 0});
  if (!probe_report) {
    std::fprintf(stderr, "eddy failed: %s\n", describe(probe_report.error()).c_str());
    return 1;
  }
  auto source_speed =
      static_cast<double>(probe_n) * 1e9 / static_cast<double>(probe_report->elapsed.count());

  // 2. Rounds of busy work so that the sink's loop runs at about S / slowdown.
  auto base_ns = sink_ns_per_record(0);
  auto per_round_ns = std::max(1e-3, (sink_ns_per_record(64) - base_ns) / 64);
  auto target_ns = 1e9 / (source_speed / slowdown);
  auto rounds = static_cast<uint32_t>(std::max(0.0, (target_ns - base_ns) / per_round_ns));

  // 3. The slow run.
  auto result = std::make_shared<totals>();
  job j{job_config{}.with_threads(threads)};
  std::atomic<bool> done{false};
  double at_tenth = 0;
  double at_end = 0;
  std::thread monitor{[&] {
    while (!done) {
      uint64_t seen = 0;
      for (const auto& m : j.metrics())
        if (m.op == "sink")
          seen += m.records_in;
      auto rss = rss_mb();
      if (at_tenth == 0 && seen >= n / 10)
        at_tenth = rss;
      if (seen > 0)
        at_end = rss;
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  }};
  auto report = run_job(j, n, checking_sink{result, rounds});
  done = true;
  monitor.join();
  if (!report) {
    std::fprintf(stderr, "eddy failed: %s\n", describe(report.error()).c_str());
    return 1;
  }
  auto sink_speed = static_cast<double>(n) * 1e9 / static_cast<double>(report->elapsed.count());
  auto measured_slowdown = source_speed / sink_speed;

  // Every record, once: n records, indices 0..n-1, prices i % 10000.
  uint64_t want_index_sum = n % 2 == 0 ? (n / 2) * (n - 1) : n * ((n - 1) / 2);
  uint64_t cycles = n / 10000, rest = n % 10000;
  uint64_t want_price_sum = cycles * (9999ULL * 10000 / 2) + rest * (rest - 1) / 2;
  bool complete = probe_totals->count == probe_n && result->count == n &&
                  result->index_sum == want_index_sum && result->price_sum == want_price_sum;

  auto batch = records_per_batch<bid>(j.config().channels);
  auto credits = j.config().channels.initial_credit;
  uint64_t most_batches = 0;
  bool within_credits = true;
  std::printf("memory under a slow sink: %llu records in %.1f s, %zu threads\n",
              static_cast<unsigned long long>(n),
              static_cast<double>(report->elapsed.count()) / 1e9, threads);
  std::printf("  source into a counting sink (%llu records): %.1f M records/s\n",
              static_cast<unsigned long long>(probe_n), source_speed / 1e6);
  std::printf("  slow sink: %u rounds of mixing per record (its loop alone: %.1f M records/s)\n",
              rounds, 1e3 / (base_ns + rounds * per_round_ns));
  std::printf(
      "  source -> slow sink: %.1f M records/s; measured slowdown S / T = %.1f (asked %.0f)\n",
      sink_speed / 1e6, measured_slowdown, slowdown);
  std::printf("  records: count %llu, index sum %llu, price sum %llu (%s)\n",
              static_cast<unsigned long long>(result->count.load()),
              static_cast<unsigned long long>(result->index_sum.load()),
              static_cast<unsigned long long>(result->price_sum.load()),
              complete ? "all delivered once" : "LOST OR DUPLICATED RECORDS");
  std::printf("  %-8s %12s %12s %9s %14s %11s %13s\n", "operator", "records in", "records out",
              "batches", "peak in flight", "peak queued", "credit wait");
  for (const auto& m : report->metrics) {
    auto name = m.op + '#' + std::to_string(m.instance);
    std::printf("  %-8s %12llu %12llu %9llu %14llu %11llu %11.2f s\n", name.c_str(),
                static_cast<unsigned long long>(m.records_in),
                static_cast<unsigned long long>(m.records_out),
                static_cast<unsigned long long>(m.batches_out),
                static_cast<unsigned long long>(m.peak_in_flight),
                static_cast<unsigned long long>(m.peak_queued),
                static_cast<double>(m.credit_wait_ns) / 1e9);
    most_batches += m.peak_in_flight + m.peak_queued;
    // The source has one channel: at most `credits` batches in flight on it.
    if (m.op == "source" && m.peak_in_flight > credits)
      within_credits = false;
  }
  std::printf("  credits %u per channel, batches of %zu records (%.1f MB): at most %llu batches "
              "held = %.1f MB (%s)\n",
              credits, batch, static_cast<double>(batch * sizeof(bid)) / 1e6,
              static_cast<unsigned long long>(most_batches),
              static_cast<double>(most_batches * batch * sizeof(bid)) / 1e6,
              within_credits ? "within credits" : "MORE IN FLIGHT THAN CREDITS");
  std::printf("  RSS before the jobs %.1f MB, after 10%% %.1f MB, at the end %.1f MB\n", before,
              at_tenth, at_end);
  std::printf("  peak RSS: %.1f MB (target < 200 MB)\n", peak_rss_mb());
  std::printf("  ratio RSS end / RSS after 10%%: %.2f (flat = 1.00)\n",
              at_tenth > 0 ? at_end / at_tenth : 0.0);
  // Below half the asked slowdown the run did not test what it says (a sink much slower).
  bool slow_enough = measured_slowdown >= slowdown / 2;
  bool ok = complete && within_credits && slow_enough && peak_rss_mb() < 200;

  // 4. Checkpoints behind the slow sink, with buffer debloating off and on.
  if (!checkpoints.empty()) {
    std::printf("checkpoints every %llu ms behind the slow sink (aligned barriers):\n",
                static_cast<unsigned long long>(interval_ms));
    double p50[2] = {0, 0};
    for (bool debloat : {false, true}) {
      auto cfg = job_config{}.with_threads(threads).with_checkpoints(
          checkpoints + (debloat ? "/debloat_on" : "/debloat_off"),
          std::chrono::milliseconds{interval_ms});
      if (!debloat)
        cfg = cfg.with_debloat_target(caf::timespan{0});
      auto got = std::make_shared<totals>();
      job jc{cfg};
      auto r = run_job(jc, n, checking_sink{got, rounds});
      if (!r) {
        std::fprintf(stderr, "eddy failed: %s\n", describe(r.error()).c_str());
        return 1;
      }
      bool same =
          got->count == n && got->index_sum == want_index_sum && got->price_sum == want_price_sum;
      ok = ok && same;
      std::vector<double> ms;
      for (const auto& c : r->checkpoints)
        ms.push_back(static_cast<double>(c.duration.count()) / 1e6);
      std::sort(ms.begin(), ms.end());
      auto at = [&](double q) {
        return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
      };
      p50[debloat] = at(0.5);
      uint64_t batches = 0, records = 0;
      for (const auto& m : r->metrics)
        if (m.op == "sink") {
          batches += m.batches_in;
          records += m.records_in;
        }
      std::printf("  debloating %-3s: %6.3f M records/s, %zu completed, p50 %.1f ms, p99 %.1f ms, "
                  "max %.1f ms, %llu abandoned; the sink's batches %.0f records on average (%s)\n",
                  debloat ? "on" : "off",
                  static_cast<double>(n) * 1e9 / static_cast<double>(r->elapsed.count()) / 1e6,
                  ms.size(), at(0.5), at(0.99), ms.empty() ? 0.0 : ms.back(),
                  static_cast<unsigned long long>(r->checkpoints_abandoned),
                  batches ? static_cast<double>(records) / static_cast<double>(batches) : 0.0,
                  same ? "all delivered once" : "LOST OR DUPLICATED RECORDS");
    }
    if (p50[1] > 0)
      std::printf("  checkpoint p50, debloating off / on: %.1f\n", p50[0] / p50[1]);
  }
  if (!ok)
    std::printf("FAILED: %s\n", !complete         ? "records lost or duplicated"
                                : !within_credits ? "more batches in flight than credits"
                                : !slow_enough    ? "the sink was not even half as slow as asked"
                                                  : "peak RSS over 200 MB");
  return ok ? 0 : 1;
}
