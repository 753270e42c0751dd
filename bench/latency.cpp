// Latency from when each record was due to when it reached the sink, at fixed rates: eddy's
// source -> map -> filter -> sink against plain CAF actors source -> map -> filter -> sink (one
// message per record per hop), in the same run. Both sides have 4 actors and 3 hops.
//
// Both sources are paced alike: record i is due at t0 + i / rate (t0: the source's first step),
// and it carries that scheduled time, not the time it was built. A source that falls behind
// (a late timer, no credit, a busy core) therefore shows its lateness in the figures instead of
// hiding it (no coordinated omission). The run fails when a side lost records or did not
// deliver at the rate asked for, within a tolerance: its figures would then be mostly queueing.
// Plain CAF's one message per record per hop keeps up with 100,000 events/s on two shared cores
// but not reliably with 1,000,000, hence the default rates.
//
//   eddy_bench_latency [--rates 1000,100000] [--seconds 5] [--threads 2] [--tolerance 2]
#include "cli.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace eddy;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// When record `i` is due, counted from the source's first step.
int64_t due_offset_ns(uint64_t i, double rate) {
  return static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate);
}

struct stamped {
  /// When the record was due at the stated rate (steady clock, ns).
  int64_t due_ns = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stamped& x) {
  return f(caf::meta::type_name("stamped"), x.due_ns, x.value);
}

/// What one side measured. Written by its sink (and source) actor only, read after the run.
struct side_result {
  /// Arrival at the sink minus due time, one per record.
  std::vector<int64_t> latency_ns;
  /// When record 0 was due.
  int64_t start_ns = 0;
  /// When the last record arrived at the sink.
  int64_t last_arrival_ns = 0;
};

void record_arrival(side_result& r, int64_t due_ns) {
  auto now = now_ns();
  r.latency_ns.push_back(now - due_ns);
  r.last_arrival_ns = now;
}

// -- eddy --------------------------------------------------------------------------------------

struct latency_sink {
  std::shared_ptr<side_result> out;
  void operator()(const stamped& x) { record_arrival(*out, x.due_ns); }
};

caf::expected<size_t> run_eddy(double rate, uint64_t n, size_t threads, side_result& out) {
  auto result = std::make_shared<side_result>();
  result->latency_ns.reserve(n);
  // eddy's generator emits record i once i / rate seconds have passed since its first step;
  // record 0 is made in that first step, which fixes t0.
  auto start = std::make_shared<int64_t>(0);
  auto make = [start, result, rate](uint64_t i) {
    if (i == 0)
      *start = result->start_ns = now_ns();
    return stamped{*start + due_offset_ns(i, rate), static_cast<int64_t>(i)};
  };
  job j{job_config{}.with_threads(threads)};
  j.source(generator<stamped>(n, make).at_rate(rate))
      .name("source")
      .map([](const stamped& x) {
        return stamped{x.due_ns, x.value};
      })
      .name("map")
      .filter([](const stamped& x) { return x.value >= 0; })
      .name("filter")
      .sink(latency_sink{result})
      .name("sink");
  auto report = j.run();
  if (!report)
    return report.error();
  out = std::move(*result);
  return records_per_batch<stamped>(j.config().channels);
}

// -- plain CAF ---------------------------------------------------------------------------------

using tick_atom = caf::atom_constant<caf::atom("b_tick")>;
using end_atom = caf::atom_constant<caf::atom("b_end")>;

struct source_state {
  int64_t t0 = 0;
  uint64_t next = 0;
};

/// Sends record i to `next` at t0 + i / rate, one message per record, at most `per_step` per
/// step (eddy's batch size), sleeping on a delayed message until the next record is due.
caf::behavior paced_source(caf::stateful_actor<source_state>* self, caf::actor next, uint64_t n,
                           double rate, uint64_t per_step, std::shared_ptr<side_result> out) {
  return {
      [=](tick_atom) {
        auto& st = self->state;
        auto now = now_ns();
        if (st.next == 0)
          st.t0 = out->start_ns = now;
        auto due = static_cast<uint64_t>(static_cast<double>(now - st.t0) * rate / 1e9) + 1;
        due = std::min({due, n, st.next + per_step});
        for (; st.next < due; ++st.next)
          self->send(next, st.t0 + due_offset_ns(st.next, rate), static_cast<int64_t>(st.next));
        if (st.next >= n) {
          self->send(next, end_atom::value);
          self->quit();
          return;
        }
        auto wait = st.t0 + due_offset_ns(st.next, rate) - now_ns();
        if (wait <= 0)
          self->send(self, tick_atom::value);
        else
          self->delayed_send(self, std::chrono::nanoseconds{wait}, tick_atom::value);
      },
  };
}

/// The map (passes every record on) or the filter (keeps value >= 0) of the chain.
caf::behavior forwarder(caf::event_based_actor* self, caf::actor next, bool is_filter) {
  return {
      [=](int64_t due, int64_t value) {
        if (!is_filter || value >= 0)
          self->send(next, due, value);
      },
      [=](end_atom) {
        self->send(next, end_atom::value);
        self->quit();
      },
  };
}

caf::behavior latency_sink_actor(caf::event_based_actor* self, std::shared_ptr<side_result> out) {
  return {
      [=](int64_t due, int64_t) { record_arrival(*out, due); },
      [=](end_atom) { self->quit(); },
  };
}

void run_caf(double rate, uint64_t n, size_t threads, uint64_t per_step, side_result& out) {
  auto result = std::make_shared<side_result>();
  result->latency_ns.reserve(n);
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", threads);
    caf::actor_system sys{cfg};
    auto sink = sys.spawn(latency_sink_actor, result);
    auto filter = sys.spawn(forwarder, sink, true);
    auto map = sys.spawn(forwarder, filter, false);
    auto source = sys.spawn(paced_source, map, n, rate, per_step, result);
    caf::anon_send(source, tick_atom::value);
    sys.await_all_actors_done();
  }
  out = std::move(*result);
}

// -- figures -----------------------------------------------------------------------------------

double percentile_ms(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto k = std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[k]) / 1e6;
}

struct figures {
  double achieved = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  size_t samples = 0;
};

figures summarize(side_result& r) {
  figures f;
  auto& v = r.latency_ns;
  f.samples = v.size();
  if (v.size() >= 2 && r.last_arrival_ns > r.start_ns)
    f.achieved = static_cast<double>(v.size() - 1) * 1e9 /
                 static_cast<double>(r.last_arrival_ns - r.start_ns);
  std::sort(v.begin(), v.end());
  f.p50 = percentile_ms(v, 0.50);
  f.p90 = percentile_ms(v, 0.90);
  f.p99 = percentile_ms(v, 0.99);
  f.p999 = percentile_ms(v, 0.999);
  f.max = v.empty() ? 0 : static_cast<double>(v.back()) / 1e6;
  return f;
}

/// Prints one side's line; false when it lost records or missed the rate.
bool print_side(const char* name, const figures& f, uint64_t n, double rate, double tolerance) {
  std::printf(
      "    %-9s achieved %9.0f/s  ms: p50 %7.3f  p90 %7.3f  p99 %7.3f  p999 %7.3f  max %7.3f"
      "  (%zu samples)\n",
      name, f.achieved, f.p50, f.p90, f.p99, f.p999, f.max, f.samples);
  bool ok = true;
  if (f.samples != n) {
    std::printf("    %-9s LOST RECORDS: %zu of %llu reached the sink\n", name, f.samples,
                static_cast<unsigned long long>(n));
    ok = false;
  }
  if (f.achieved < rate * (1 - tolerance / 100)) {
    std::printf("    %-9s RATE NOT REACHED: %.0f/s is below %.0f/s - %.1f %%\n", name, f.achieved,
                rate, tolerance);
    ok = false;
  }
  return ok;
}

double ratio(double a, double b) {
  return b > 0 ? a / b : 0.0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Latency from due time to sink at fixed rates: eddy against plain CAF actors, "
               "same run, same pacing, 3 hops each"};
  std::vector<uint64_t> rates{1'000, 100'000};
  uint64_t seconds = 5;
  size_t threads = 2;
  double tolerance = 2;
  app.add_option("--rates", rates, "events per second to run at, comma-separated")
      ->delimiter(',')
      ->capture_default_str()
      ->check(bench::whole_number(1, 100'000'000));
  app.add_option("--seconds", seconds, "seconds per rate and side")
      ->capture_default_str()
      ->check(bench::whole_number(1, 3600));
  app.add_option("--threads", threads, "CAF scheduler threads (each side)")
      ->capture_default_str()
      ->check(bench::whole_number(1, 1024));
  app.add_option("--tolerance", tolerance,
                 "percent below the rate that still counts as reached: achieved = (records - 1) "
                 "/ (last arrival - first due time)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 50.0));
  CLI11_PARSE(app, argc, argv);

  for (auto r : rates)
    if (r * seconds < 10 || r * seconds > 200'000'000) {
      // Every record is a sample of 8 bytes, per side.
      std::fprintf(stderr,
                   "--rates %llu with --seconds %llu makes %llu records: give 10 to 200000000\n",
                   static_cast<unsigned long long>(r), static_cast<unsigned long long>(seconds),
                   static_cast<unsigned long long>(r * seconds));
      return 2;
    }
  bool ok = true;
  std::printf("latency from due time to sink, %llu s per rate, %zu threads per side\n",
              static_cast<unsigned long long>(seconds), threads);
  std::printf("  eddy:      source -> map -> filter -> sink, 4 actors, 3 hops, one message per "
              "batch per hop\n");
  std::printf("  plain CAF: source -> map -> filter -> sink, 4 actors, 3 hops, one message per "
              "record per hop\n");
  for (auto r : rates) {
    auto rate = static_cast<double>(r);
    auto n = r * seconds;
    side_result eddy_side;
    auto batch = run_eddy(rate, n, threads, eddy_side);
    if (!batch) {
      std::fprintf(stderr, "eddy failed: %s\n", describe(batch.error()).c_str());
      return 1;
    }
    side_result caf_side;
    run_caf(rate, n, threads, *batch, caf_side);
    auto e = summarize(eddy_side);
    auto c = summarize(caf_side);
    std::printf("  %llu events/s (%llu records, eddy batches of up to %zu, sent at once when "
                "paced):\n",
                static_cast<unsigned long long>(r), static_cast<unsigned long long>(n), *batch);
    auto eddy_ok = print_side("eddy", e, n, rate, tolerance);
    auto caf_ok = print_side("plain CAF", c, n, rate, tolerance);
    if (eddy_ok && caf_ok)
      std::printf("    ratio eddy / plain CAF: p50 %.2f  p99 %.2f  p999 %.2f\n",
                  ratio(e.p50, c.p50), ratio(e.p99, c.p99), ratio(e.p999, c.p999));
    else
      std::printf("    no ratio: a side did not keep up, its latency is mostly queueing\n");
    ok = ok && eddy_ok && caf_ok;
  }
  if (!ok)
    std::printf("FAILED: a side lost records or did not reach its rate (tolerance %.1f %%)\n",
                tolerance);
  return ok ? 0 : 1;
}
