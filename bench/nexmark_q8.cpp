// Nexmark q8 ("new users who opened an auction"): persons joined with auctions on
// person.id == auction.seller in 10 s tumbling event-time windows. An eddy window join (memory
// backend) against a hand-written single-threaded loop over the same events, in one run; both must
// give the same number of pairs and the same checksum.
//
// The stream has Nexmark's proportions: of every 50 events, 1 is a new person, 3 are new auctions
// and 46 are bids; event i happens at event time i ms (as in pipeline B), so a window holds
// 10,000 events. A seller is one of the 64 most recent persons. q8 reads no bids, so neither side
// materializes them (both skip them by index); events/s counts every event of the stream, bids
// included, as Nexmark does, and the join's own input rate is printed beside it.
//
//   eddy_bench_nexmark_q8 [--events 100000000] [--threads 2] [--parallelism 1]
#include "cli.hpp"
#include "nexmark.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t events_per_cycle = 50;
constexpr uint64_t auctions_per_cycle = 3;
constexpr int64_t window_ms = 10'000;

struct person {
  uint64_t id = 0;
  uint64_t state = 0; // a stand-in for Nexmark's name, city, state
  uint64_t date_time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, person& x) {
  return f(caf::meta::type_name("person"), x.id, x.state, x.date_time);
}

struct auction {
  uint64_t id = 0;
  uint64_t seller = 0;
  uint64_t reserve = 0;
  uint64_t date_time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auction& x) {
  return f(caf::meta::type_name("auction"), x.id, x.seller, x.reserve, x.date_time);
}

/// One q8 result: the person, the auction, and the start of their window.
struct new_seller {
  uint64_t person = 0;
  uint64_t auction = 0;
  int64_t window_start = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_seller& x) {
  return f(caf::meta::type_name("new_seller"), x.person, x.auction, x.window_start);
}

/// Person k is event 50 k.
person make_person(uint64_t k) {
  auto i = k * events_per_cycle;
  return person{k, bench::mix(i) % 50, i};
}

/// Auction k is event 50 (k / 3) + 1 + k % 3; its seller is one of the 64 latest persons.
auction make_auction(uint64_t k) {
  auto cycle = k / auctions_per_cycle;
  auto i = cycle * events_per_cycle + 1 + k % auctions_per_cycle;
  auto r = bench::mix(i ^ 0xA0C7105ULL);
  auto recent = std::min<uint64_t>(cycle + 1, 64);
  return auction{k, cycle - r % recent, 1 + (r >> 20) % 10'000, i};
}

/// The count and an order-independent checksum of the results.
struct checksum {
  uint64_t count = 0;
  uint64_t sum = 0;
  void add(uint64_t p, uint64_t a, int64_t start) {
    ++count;
    sum += bench::mix(p * 1'000'003 + a) ^ static_cast<uint64_t>(start);
  }
  void merge(const checksum& o) {
    count += o.count;
    sum += o.sum;
  }
  bool operator==(const checksum& o) const { return count == o.count && sum == o.sum; }
};

/// The baseline: one pass over the events in order, a hash set of the window's persons and a
/// list of its auctions, joined when the window ends.
checksum hand_loop(uint64_t events) {
  checksum c;
  std::unordered_set<uint64_t> persons;
  std::vector<auction> auctions;
  int64_t window = 0;
  auto close = [&] {
    for (const auto& a : auctions)
      if (persons.count(a.seller) != 0)
        c.add(a.seller, a.id, window * window_ms);
    persons.clear();
    auctions.clear();
  };
  for (uint64_t i = 0; i < events; ++i) {
    auto kind = i % events_per_cycle;
    if (kind > auctions_per_cycle)
      continue; // a bid: q8 does not read them
    auto w = static_cast<int64_t>(i) / window_ms;
    if (w != window) {
      close();
      window = w;
    }
    auto cycle = i / events_per_cycle;
    if (kind == 0)
      persons.insert(make_person(cycle).id);
    else
      auctions.push_back(make_auction(cycle * auctions_per_cycle + kind - 1));
  }
  close();
  return c;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Nexmark q8 (persons joined with the auctions they open, per 10 s tumbling "
               "window): eddy's window join against a hand-written loop in the same run"};
  uint64_t events = 100'000'000;
  size_t threads = 2;
  uint32_t parallelism = 1;
  bench::add_pipeline_options(app, events, 10'000'000'000ULL,
                              "events of the stream (persons, auctions and bids)", threads,
                              parallelism, "instances of the window join");
  CLI11_PARSE(app, argc, argv);

  auto t0 = std::chrono::steady_clock::now();
  auto loop = hand_loop(events);
  auto loop_s = bench::seconds_since(t0);

  // Persons and auctions among the first `events` events.
  auto cycles = events / events_per_cycle;
  auto rest = events % events_per_cycle;
  auto persons = cycles + (rest > 0 ? 1 : 0);
  auto auctions = cycles * auctions_per_cycle + std::min<uint64_t>(rest > 0 ? rest - 1 : 0, 3);

  auto total = std::make_shared<checksum>();
  auto sink = bench::sum_into(
      total, [](checksum& c, const new_seller& r) { c.add(r.person, r.auction, r.window_start); });
  job j{job_config{}.with_threads(threads)};
  j.source(generator<person>(persons, make_person).with_event_time([](const person& p) {
     return timestamp(p.date_time);
   }))
      .name("persons")
      .parallelism(1)
      .join(
          j.source(generator<auction>(auctions, make_auction).with_event_time([](const auction& a) {
             return timestamp(a.date_time);
           }))
              .name("auctions")
              .parallelism(1))
      .where([](const person& p) { return p.id; })
      .equal_to([](const auction& a) { return a.seller; })
      .window(tumbling(std::chrono::milliseconds{window_ms}))
      .apply<new_seller>([](const person& p, const auction& a) {
        auto start = static_cast<int64_t>(std::max(p.date_time, a.date_time)) / window_ms;
        return new_seller{p.id, a.id, start * window_ms};
      })
      .name("q8")
      .parallelism(parallelism)
      .sink(sink)
      .name("sink")
      .parallelism(parallelism);
  auto run = bench::timed_run(j);
  if (!run)
    return 1;
  auto& [report, eddy_s] = *run;
  bool agree = *total == loop;
  auto joined = static_cast<double>(persons + auctions);
  std::printf("nexmark q8: %llu events (%llu persons, %llu auctions), %zu threads, join "
              "parallelism %u, memory backend\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(persons),
              static_cast<unsigned long long>(auctions), threads, parallelism);
  std::printf("  results eddy: %llu pairs, checksum %llu\n",
              static_cast<unsigned long long>(total->count),
              static_cast<unsigned long long>(total->sum));
  std::printf("  results loop: %llu pairs, checksum %llu\n",
              static_cast<unsigned long long>(loop.count),
              static_cast<unsigned long long>(loop.sum));
  std::printf("  eddy %s the loop\n", agree ? "agrees with" : "DISAGREES with");
  std::printf("  hand-written loop: %8.1f M events/s (%6.2f M join inputs/s)\n",
              events / loop_s / 1e6, joined / loop_s / 1e6);
  std::printf("  eddy window join:  %8.1f M events/s (%6.2f M join inputs/s)\n",
              events / eddy_s / 1e6, joined / eddy_s / 1e6);
  std::printf("  ratio eddy / loop: %8.2f\n", loop_s / eddy_s);
  return agree ? 0 : 1;
}
