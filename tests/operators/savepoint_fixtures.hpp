// What the savepoint tests share: a replayable source that asks for a savepoint at an exact
// index, and a keyed tally whose state type gains a field between two builds of a program
// (savepoint_test.cpp has version 0, savepoint_tally_v1.cpp version 1, each in its own anonymous
// namespace, so the type has the same name in both, as in two builds of one program).
#pragma once

#include "window_fixtures.hpp"

#include <eddy/operators/job.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <utility>
#include <vector>

namespace eddy::test {

/// When the test source asks for a savepoint, and what it got.
struct savepoint_order {
  /// The job to ask (null: never ask).
  job* j = nullptr;
  /// The source index at which to ask (0: never).
  uint64_t at = 0;
  /// Stop with the savepoint, or take it and go on.
  bool stop = true;
  /// The answer, once asked.
  std::future<caf::expected<savepoint_info>> result;
};

/// The events of a grid with event times and watermarks (the largest time so far, minus `lag`,
/// minus 1), replayable. With a `gate` it first waits for an event of the job. Batches end at every
/// index in `cuts`, so runs that ask for savepoints there cut the stream exactly like runs that do
/// not; at `order->at` it asks for a savepoint and emits nothing more until the savepoint is
/// answered, so the savepoint holds exactly the records before that index. The events at the
/// indices in `stragglers` get time 0: far behind the watermark, late in every run.
struct grid_source {
  using value_type = event;
  using position_type = std::pair<uint64_t, int64_t>; // next index, largest time emitted

  shuffled_grid grid;
  int64_t lag = 0;
  std::vector<uint64_t> cuts;
  std::vector<uint64_t> stragglers;
  std::shared_ptr<savepoint_order> order = std::make_shared<savepoint_order>();
  uint64_t next = 0;
  int64_t max_t = min_time;
  /// When set, nothing is emitted before `*gate` reached `gate_count` (an event of the job).
  std::shared_ptr<std::atomic<int>> gate{};
  int gate_count = 0;

  [[nodiscard]] bool timed() const { return true; }

  [[nodiscard]] position_type position() const { return {next, max_t}; }

  void seek(const position_type& pos) {
    next = pos.first;
    max_t = pos.second;
  }

  produce_result produce(source_context<event>& ctx) {
    if (next >= grid.size())
      return {produce_result::done, {}};
    if (gate && *gate < gate_count)
      return {produce_result::wait, caf::timespan{std::chrono::milliseconds{1}}};
    if (order->j != nullptr && order->at != 0 && next == order->at) {
      if (!order->result.valid())
        order->result = order->stop ? order->j->stop_with_savepoint() : order->j->savepoint();
      if (order->result.wait_for(std::chrono::seconds{0}) != std::future_status::ready)
        return {produce_result::wait, caf::timespan{std::chrono::milliseconds{1}}};
    }
    auto end = std::min<uint64_t>(next + ctx.batch_size(), grid.size());
    for (auto c : cuts)
      if (c > next && c < end)
        end = c;
    batch<event> b;
    for (; next < end; ++next) {
      auto e = grid.at(next);
      if (std::find(stragglers.begin(), stragglers.end(), next) != stragglers.end())
        e.time = 0;
      max_t = std::max(max_t, e.time);
      b.items.push_back(e);
      b.times.push_back(e.time);
    }
    ctx.emit_batch(std::move(b));
    ctx.watermark(max_t - lag - 1);
    return {next < grid.size() ? produce_result::more : produce_result::done, {}};
  }
};

/// A key's tally as a job emits it.
struct tally_row {
  int32_t key = 0;
  int64_t count = 0;
  /// The sum of the key's event times since the tally had that field (version 1); 0 before.
  int64_t time_sum = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tally_row& x) {
  return f(x.key, x.count, x.time_sum);
}

/// source "events" -> key_by -> "tallies" (2 instances, keyed state "tally" of version 0 of the
/// tally type) -> collect into `out`, with batches of 64.
caf::expected<job_report> run_tally_v0(job_config cfg, grid_source src,
                                       std::shared_ptr<savepoint_order> order,
                                       std::vector<tally_row>& out);

/// The same with version 1 of the tally type, which gained a field (savepoint_tally_v1.cpp).
caf::expected<job_report> run_tally_v1(job_config cfg, grid_source src,
                                       std::shared_ptr<savepoint_order> order,
                                       std::vector<tally_row>& out);

/// The job of both: `Tallying` keeps the state.
template <class Tallying>
caf::expected<job_report> run_tally(job_config cfg, grid_source src,
                                    std::shared_ptr<savepoint_order> order,
                                    std::vector<tally_row>& out) {
  job j{cfg.with_batch_size(64)};
  order->j = order->at != 0 ? &j : nullptr;
  src.order = order;
  j.source(src)
      .name("events")
      .key_by([](const event& e) { return e.key; })
      .template process<tally_row>(Tallying{})
      .name("tallies")
      .parallelism(2)
      .sink(collect(out));
  return j.run();
}

} // namespace eddy::test
