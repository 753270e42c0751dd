// Fraud alerts with the pattern operator: "a small transaction followed by a large one within a
// minute on the same card", over a generated stream of card transactions.
//
// source (generated and seeded: a transaction per ms of event time over --cards cards; normal
//         cards spend 5 to 400, a known share of fraudulent cards also test the card with
//         amounts below 1 and spend above 500)
//   -> key_by(card) -> pattern(small, then large within 1 min) -> select(alert) -> sink (count)
//
//   fraud_alerts [--transactions 1000000] [--cards 20000] [--fraud-share 0.02] [--seed 42]
//                [--parallelism 2]
//
// Every alert must be on a fraudulent card (normal cards never spend below 1 or above 500): the
// program fails otherwise. Partial matches that run out of time are counted too.
#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>

using namespace std::chrono_literals;

namespace {

struct txn {
  uint64_t card = 0;
  int64_t time = 0; // ms of event time
  double amount = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, txn& x) {
  return f(x.card, x.time, x.amount);
}

struct alert {
  uint64_t card = 0;
  double small = 0;
  double large = 0;
  int64_t seconds_apart = 0;
  bool timed_out = false; // a small transaction with no large one within the minute
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alert& x) {
  return f(x.card, x.small, x.large, x.seconds_apart, x.timed_out);
}

/// The seeded stream: transaction i at time i ms, on a card drawn from a hash of (seed, i).
struct transactions {
  uint64_t cards = 20'000;
  double fraud_share = 0.02;
  uint64_t seed = 42;

  [[nodiscard]] bool fraudulent(uint64_t card) const {
    return double(eddy::mix64(card ^ (seed * 0x9e3779b97f4a7c15ULL)) % 1'000'000) <
           fraud_share * 1e6;
  }

  txn operator()(uint64_t i) const {
    auto h = eddy::mix64(i * 0x2545f4914f6cdd1dULL + seed);
    auto card = h % cards;
    auto roll = (h >> 32) % 100;
    double amount = 5.0 + double((h >> 8) % 39'500) / 100.0; // 5 to 400
    if (fraudulent(card) && roll < 20)
      amount = roll < 10 ? 0.5 : 950.0; // a test charge, or a large spend
    return txn{card, static_cast<int64_t>(i), amount};
  }
};

/// What the sink saw, shared by its instances.
struct tally {
  std::atomic<uint64_t> alerts{0};
  std::atomic<uint64_t> timeouts{0};
  std::mutex mtx;
  std::set<uint64_t> cards;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fraud alerts: a small transaction followed by a large one within a minute on the "
               "same card"};
  uint64_t n = 1'000'000;
  transactions gen;
  uint32_t parallelism = 2;
  app.add_option("--transactions", n, "transactions to generate")->capture_default_str();
  app.add_option("--cards", gen.cards, "cards")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--fraud-share", gen.fraud_share, "share of fraudulent cards")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", gen.seed, "seed of the stream")->capture_default_str();
  app.add_option("--parallelism", parallelism, "instances of the pattern operator")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);

  auto small_then_large = eddy::pattern<txn>::begin("small", [](const txn& t) {
                            return t.amount < 1.0;
                          }).followed_by("large", [](const txn& t) {
                              return t.amount > 500.0;
                            }).within(1min);

  eddy::job job{eddy::job_config{}.with_threads(2)};
  auto seen = std::make_shared<tally>();
  job.source(eddy::generator<txn>(n, gen).with_event_time([](const txn& t) { return t.time; }))
      .name("transactions")
      .key_by([](const txn& t) { return t.card; })
      .pattern(small_then_large)
      .select<alert>(
          [](const eddy::match<txn>& partial, eddy::timestamp) {
            return alert{partial.first("small")->card, partial.first("small")->amount, 0, 0, true};
          },
          [](const eddy::match<txn>& m) {
            const auto* s = m.first("small");
            const auto* l = m.first("large");
            return alert{s->card, s->amount, l->amount, (l->time - s->time) / 1000, false};
          })
      .name("small-then-large")
      .parallelism(parallelism)
      .sink([seen](const alert& a) {
        if (a.timed_out) {
          ++seen->timeouts;
          return;
        }
        ++seen->alerts;
        std::lock_guard<std::mutex> guard{seen->mtx};
        seen->cards.insert(a.card);
      })
      .name("alerts")
      .parallelism(parallelism);

  auto t0 = std::chrono::steady_clock::now();
  auto report = job.run();
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!report) {
    std::fprintf(stderr, "the job failed: %s\n", eddy::describe(report.error()).c_str());
    return 1;
  }
  uint64_t fraudulent = 0;
  for (uint64_t c = 0; c < gen.cards; ++c)
    fraudulent += gen.fraudulent(c);
  uint64_t false_alerts = 0;
  for (auto c : seen->cards)
    false_alerts += !gen.fraudulent(c);
  std::printf("%llu transactions on %llu cards (%llu fraudulent), %.2f s: %.0f events/s\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(gen.cards),
              static_cast<unsigned long long>(fraudulent), seconds, double(n) / seconds);
  std::printf("alerts: %llu on %zu cards (%llu on cards that are not fraudulent); %llu small "
              "transactions with no large one within the minute\n",
              static_cast<unsigned long long>(seen->alerts.load()), seen->cards.size(),
              static_cast<unsigned long long>(false_alerts),
              static_cast<unsigned long long>(seen->timeouts.load()));
  std::printf("dead letters: %llu\n", static_cast<unsigned long long>(report->dead_letter_count()));
  return false_alerts == 0 && report->dead_letter_count() == 0 ? 0 : 1;
}
