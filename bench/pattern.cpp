// The pattern operator (CEP) on the fraud rule: "a small transaction (below 1) followed by a large
// one (above 500) within a minute on the same card", over a generated transaction stream in an
// in-memory array. eddy's pattern operator against a hand-written per-card state machine doing
// the same match in the same run; both must find the same matches (count and checksum).
//
//   eddy_bench_pattern [--events 5000000] [--cards 100000] [--fraud-percent 2] [--threads 2]
//                      [--parallelism 1] [--rocksdb DIR] [--buffer-all]
//
// Most transactions are neither small nor large, and the operator does not buffer those (the
// pattern has only relaxed contiguity and plain conditions). `--buffer-all` writes the large
// condition as an iterative one (the same rule), which makes the operator buffer every record
// and run the NFA on it: the cost of the general path. `--fraud-percent 100` makes every card
// fraudulent (a fifth of the transactions small or large).
#include "cli.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sources/container_source.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

constexpr int64_t within_ms = 60'000;

struct txn {
  uint64_t card = 0;
  int64_t time = 0; // ms of event time
  double amount = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, txn& x) {
  return f(x.card, x.time, x.amount);
}

/// One transaction per ms; `fraud_percent` % of the cards are fraudulent and make one
/// transaction in ten a test charge below 1 and one in ten a spend above 500; every other amount
/// is 5 to 400.
std::vector<txn> make_transactions(uint64_t n, uint64_t cards, uint64_t fraud_percent) {
  std::vector<txn> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    auto h = mix64(i * 0x2545f4914f6cdd1dULL + 42);
    auto card = h % cards;
    auto roll = (h >> 32) % 100;
    double amount = 5.0 + double((h >> 8) % 39'500) / 100.0;
    if (mix64(card ^ 0x5bd1e995ULL) % 100 < fraud_percent && roll < 20)
      amount = roll < 10 ? 0.5 : 950.0;
    out.push_back(txn{card, static_cast<int64_t>(i), amount});
  }
  return out;
}

bool is_small(const txn& t) {
  return t.amount < 1.0;
}
bool is_large(const txn& t) {
  return t.amount > 500.0;
}

/// A match: the card and the times of its two transactions.
struct hit {
  uint64_t card = 0;
  int64_t small = 0;
  int64_t large = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hit& x) {
  return f(x.card, x.small, x.large);
}

/// Count and an order-independent checksum of the matches.
struct checksums {
  uint64_t matches = 0;
  uint64_t sig = 0;
  void add(const hit& h) {
    ++matches;
    sig += mix64(h.card * 1'000'003 + uint64_t(h.small) * 31 + uint64_t(h.large));
  }
  void merge(const checksums& o) {
    matches += o.matches;
    sig += o.sig;
  }
  bool operator==(const checksums& o) const { return matches == o.matches && sig == o.sig; }
};

/// The baseline: per card, the times of its small transactions still waiting for a large one.
/// A large transaction matches every waiting small one less than a minute older, and ends them
/// all (each small transaction takes the first large one after it, or none).
checksums hand_machine(const std::vector<txn>& xs) {
  checksums c;
  std::unordered_map<uint64_t, std::vector<int64_t>> waiting;
  for (const auto& t : xs) {
    if (is_small(t)) {
      auto& w = waiting[t.card];
      // Small transactions older than a minute can no longer match.
      size_t keep = 0;
      for (auto s : w)
        if (t.time - s < within_ms)
          w[keep++] = s;
      w.resize(keep);
      w.push_back(t.time);
    } else if (is_large(t)) {
      auto i = waiting.find(t.card);
      if (i == waiting.end())
        continue;
      for (auto s : i->second)
        if (t.time - s < within_ms)
          c.add(hit{t.card, s, t.time});
      waiting.erase(i);
    }
  }
  return c;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"The pattern operator on the fraud rule (small then large within a minute per "
               "card): eddy against a hand-written state machine in the same run"};
  uint64_t events = 5'000'000;
  uint64_t cards = 100'000;
  size_t threads = 2;
  uint32_t parallelism = 1;
  std::string rocksdb;
  uint64_t fraud_percent = 2;
  bool buffer_all = false;
  bench::add_pipeline_options(app, events, 1'000'000'000, "transactions to process", threads,
                              parallelism, "instances of the pattern operator");
  app.add_option("--cards", cards, "cards")
      ->capture_default_str()
      ->check(bench::whole_number(1, 1'000'000'000));
  app.add_option("--rocksdb", rocksdb, "keep the pattern's state in RocksDB under this directory");
  app.add_option("--fraud-percent", fraud_percent, "percentage of fraudulent cards")
      ->capture_default_str()
      ->check(bench::whole_number(0, 100));
  app.add_flag("--buffer-all", buffer_all,
               "write the large condition as an iterative one: every record is buffered");
  CLI11_PARSE(app, argc, argv);

  auto xs = make_transactions(events, cards, fraud_percent);

  auto t0 = std::chrono::steady_clock::now();
  auto machine = hand_machine(xs);
  auto machine_s = bench::seconds_since(t0);

  auto total = std::make_shared<checksums>();
  auto sink = bench::sum_into(total, [](checksums& c, const hit& h) { c.add(h); });
  auto small = pattern<txn>::begin("small", is_small);
  auto p = (buffer_all ? small.followed_by("large",
                                           [](const txn& t, const match<txn>& m) {
                                             return is_large(t) && m.count("small") == 1;
                                           })
                       : small.followed_by("large", is_large))
               .within(std::chrono::milliseconds{within_ms});
  auto cfg = job_config{}.with_threads(threads);
  if (!rocksdb.empty())
    cfg.with_state_backend(state::backend_config{}.with_rocksdb(rocksdb));
  job j{cfg};
  j.source(from_container(std::move(xs), [](const txn& t) { return t.time; }))
      .name("source")
      .key_by([](const txn& t) { return t.card; })
      .pattern(p)
      .select<hit>([](const match<txn>& m) {
        return hit{m.first("small")->card, m.first("small")->time, m.first("large")->time};
      })
      .name("pattern")
      .parallelism(parallelism)
      .sink(sink)
      .name("sink")
      .parallelism(parallelism);
  auto run = bench::timed_run(j);
  if (!run)
    return 1;
  auto& [report, eddy_s] = *run;
  bool agree = *total == machine && report.dead_letter_count() == 0;
  std::printf("pattern (small then large within 1 min per card): %llu events, %llu cards (%llu %% "
              "fraudulent), %zu threads, pattern parallelism %u, %s backend%s\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(cards),
              static_cast<unsigned long long>(fraud_percent), threads, parallelism,
              rocksdb.empty() ? "memory" : "RocksDB",
              buffer_all ? ", every record buffered (--buffer-all)" : "");
  auto print = [](const char* who, const checksums& c) {
    std::printf("  %s: %llu matches, checksum %llu\n", who,
                static_cast<unsigned long long>(c.matches), static_cast<unsigned long long>(c.sig));
  };
  print("eddy   ", *total);
  print("machine", machine);
  std::printf("  eddy %s the hand-written machine\n", agree ? "agrees with" : "DISAGREES with");
  std::printf("  hand-written state machine (hash map): %8.2f M events/s\n",
              events / machine_s / 1e6);
  std::printf("  eddy pattern operator:                 %8.2f M events/s\n", events / eddy_s / 1e6);
  std::printf("  ratio eddy / machine:                  %8.3f\n", machine_s / eddy_s);
  return agree ? 0 : 1;
}
