// Fraud detection with a learned model beside the pattern rule, through a change in how the
// fraudsters work: the model's learner notices the drift, a background learner that restarts at
// each drift learns the new behaviour, and the model registry promotes it to the scorers.
//
//   transactions (generated, seeded; a transaction every 10 ms of event time)
//     -> key_by(card) -> pattern: a test charge below 1 then a spend above 500 within a minute
//                                                                            -> rule alerts
//     -> key_by(card) -> card features (the card's spending profile in keyed state)
//     -> scaler (standardization learned online)                            -> points
//   points + chargebacks (each label known 30 s of event time after its transaction)
//     -> await_labels -> learner "model" (logistic regression, ADWIN on its errors)
//                     -> learner "fresh" (the same, starting again at each drift)
//     -> registry: serves "model", promotes "fresh" after a drift in "model"  -> versions
//   points -> 2 scoring replicas of the registry's choice   -> predictions -> model alerts
//          -> 2 scoring replicas of "model" alone           -> predictions (for comparison)
//   both -> await_labels -> evaluators: precision, recall, F1 of what was served
//
// Before transaction --drift-at (default: half way) a fraudulent transaction is a test charge
// (below 1) or a large spend (600 to 1,500), mostly abroad and at night, on one of the
// compromised cards. Then the holidays begin: card holders spend more, abroad and late, while
// fraudsters switch to runs of medium online purchases (20 to 200) at home in daytime, on 40
// cards at a time, and no longer test the card first. What meant fraud now means a holiday, so the
// model learned so far flags the travellers and misses the fraud; the rule catches the old
// behaviour only.
//
//   fraud_detection [--transactions 200000] [--drift-at 100000] [--rate 100000] [--seed 42]
//                   [--faults "crash:model#0@after=60000; crash:served#1@after=80000"]
//
// It prints the rolling figures of the served model and of the model alone every 10,000 labelled
// transactions, the versions the registry served and why, the rule's alerts before and after the
// drift, and the recoveries; it exits with 1 unless the registry promoted the fresh model after
// the drift, the served model's F1 after the drift beats the model alone's by 0.05, every rule
// alert is on a compromised card, every transaction was scored by both, and nothing is a dead
// letter.
#include "../job_summary.hpp"

#include <eddy/ml/features/standard_scaler.hpp>
#include <eddy/ml/linear_model/logistic_regression.hpp>
#include <eddy/ml/naive_bayes/naive_bayes.hpp>
#include <eddy/ml/operators/await_labels.hpp>
#include <eddy/ml/operators/evaluate.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/ml/operators/registry.hpp>
#include <eddy/ml/operators/score.hpp>
#include <eddy/ml/operators/transform.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Event time between two transactions.
constexpr eddy::timestamp ms_per_transaction = 10;
/// A chargeback (the label) is known this long after its transaction.
constexpr eddy::timestamp label_delay = 30'000;
/// The figures are reported every this many labelled transactions, over as many.
constexpr uint64_t report_every = 10'000;
/// Features per transaction.
constexpr Eigen::Index n_features = 7;

struct txn {
  uint64_t id = 0;
  uint64_t card = 0;
  eddy::timestamp time = 0;
  double amount = 0;
  bool foreign = false;
  bool night = false;
  bool online = false;
  bool fraud = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, txn& x) {
  return f(caf::meta::type_name("txn"), x.id, x.card, x.time, x.amount, x.foreign, x.night,
           x.online, x.fraud);
}

/// The seeded stream: transaction i at i * 10 ms, drawn from hashes of (seed, i).
struct transactions {
  uint64_t cards = 20'000;
  uint64_t drift_at = 100'000;
  uint64_t seed = 42;
  /// Every 50th card is compromised (its legitimate holder spends on it too).
  static constexpr uint64_t compromised_every = 50;
  /// Share of transactions that are fraud.
  static constexpr double fraud_share = 0.03;

  [[nodiscard]] static bool compromised(uint64_t card) {
    return card % compromised_every == compromised_every - 1;
  }

  [[nodiscard]] txn operator()(uint64_t i) const {
    auto u = [h = eddy::mix64(i * 0x2545f4914f6cdd1dULL + seed)](int k) mutable {
      h = eddy::mix64(h + static_cast<uint64_t>(k));
      return static_cast<double>(h >> 11) * 0x1.0p-53;
    };
    txn t;
    t.id = i;
    t.time = static_cast<eddy::timestamp>(i) * ms_per_transaction;
    const uint64_t bad_cards = cards / compromised_every;
    if (u(1) < fraud_share && bad_cards > 0) {
      t.fraud = true;
      if (i < drift_at) { // the old way: test charges and large spends abroad, at night
        t.card = static_cast<uint64_t>(u(2) * static_cast<double>(bad_cards)) * compromised_every +
                 compromised_every - 1;
        t.amount = u(3) < 0.3 ? 0.5 : 600.0 + 900.0 * u(4);
        t.foreign = u(5) < 0.8;
        t.night = u(6) < 0.7;
        t.online = u(7) < 0.2;
      } else { // the new way: runs of medium online purchases at home, by day, no test charge,
               // on 40 of the compromised cards at a time (another 40 each minute)
        auto minute = static_cast<uint64_t>(t.time / 60'000);
        auto k = (minute * 40 + static_cast<uint64_t>(u(2) * 40)) % bad_cards;
        t.card = k * compromised_every + compromised_every - 1;
        t.amount = 20.0 + 180.0 * u(3);
        t.foreign = false;
        t.night = u(6) < 0.05;
        t.online = u(7) < 0.9;
      }
    } else if (i < drift_at) { // a legitimate purchase
      t.card = static_cast<uint64_t>(u(2) * static_cast<double>(cards));
      t.amount = std::exp(std::log(5.0) + (std::log(400.0) - std::log(5.0)) * u(3));
      t.foreign = u(5) < 0.05;
      t.night = u(6) < 0.1;
      t.online = u(7) < 0.2;
    } else { // a legitimate purchase in the holidays: abroad, late, larger
      t.card = static_cast<uint64_t>(u(2) * static_cast<double>(cards));
      t.amount = std::exp(std::log(5.0) + (std::log(1'500.0) - std::log(5.0)) * u(3));
      t.foreign = u(5) < 0.35;
      t.night = u(6) < 0.35;
      t.online = u(7) < 0.2;
    }
    return t;
  }
};

/// What the job keeps per card: its spending profile.
struct card_profile {
  uint64_t count = 0;
  double mean_log_amount = 0;
  eddy::timestamp last = 0;
  /// Transactions in about the last minute (decays with a time constant of 60 s).
  double recent = 0;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& count& mean_log_amount& last& recent;
  }
};

/// The features of a transaction against its card's profile (keyed state).
struct card_features {
  using context = eddy::keyed_context<uint64_t, eddy::ml::point>;
  eddy::state::value_state<card_profile> state;

  void open(context& ctx) { state = *ctx.state().declare_value<card_profile>("profile"); }

  void operator()(const txn& t, context& ctx) {
    card_profile p = state.value() ? *state.value() : card_profile{};
    const double log_amount = std::log1p(t.amount);
    const double gap_s = p.count == 0 ? 3'600.0 : static_cast<double>(t.time - p.last) / 1e3;
    const double recent = p.count == 0 ? 0.0 : p.recent * std::exp(-gap_s / 60.0);
    std::vector<double> x{log_amount,
                          t.foreign ? 1.0 : 0.0,
                          t.night ? 1.0 : 0.0,
                          t.online ? 1.0 : 0.0,
                          p.count == 0 ? 0.0 : log_amount - p.mean_log_amount,
                          std::log1p(std::min(gap_s, 3'600.0)),
                          recent};
    p.count += 1;
    p.mean_log_amount += (log_amount - p.mean_log_amount) / static_cast<double>(p.count);
    p.last = t.time;
    p.recent = recent + 1.0;
    state.update(p);
    ctx.emit(eddy::ml::point{t.id, std::move(x)});
  }
};

/// What a run gave.
struct outcome {
  std::vector<eddy::ml::evaluation> served, alone;
  std::vector<eddy::ml::model_version> chosen, learned;
  std::atomic<uint64_t> rule_before{0}, rule_after{0}, rule_false{0};
  std::atomic<uint64_t> model_alerts{0};
  eddy::job_report report;
};

/// Builds and runs the job, learning models like `initial`.
template <class Model>
bool run(const Model& initial, const transactions& gen, uint64_t n, double rate,
         eddy::job_config cfg, outcome& o) {
  eddy::job job{std::move(cfg)};
  auto txns = eddy::generator<txn>(n, gen).with_event_time([](const txn& t) { return t.time; });
  auto labels = eddy::generator<eddy::ml::label>(n, [gen](uint64_t i) {
                  return eddy::ml::label{i, gen(i).fraud ? 1 : 0};
                }).with_event_time([](const eddy::ml::label& l) {
    return static_cast<eddy::timestamp>(l.id) * ms_per_transaction + label_delay;
  });
  if (rate > 0) {
    txns = txns.at_rate(rate);
    labels = labels.at_rate(rate);
  }
  auto stream = job.source(txns).name("transactions");
  auto known = job.source(labels).name("chargebacks");
  auto by_card = stream.key_by([](const txn& t) { return t.card; });

  // The rule of the keyed-state issue: a test charge, then a large spend within a minute.
  auto rule = eddy::pattern<txn>::begin("small", [](const txn& t) {
                return t.amount < 1.0;
              }).followed_by("large", [](const txn& t) {
                  return t.amount > 500.0;
                }).within(1min);
  by_card.pattern(rule)
      .template select<txn>([](const eddy::match<txn>& m) { return *m.first("large"); })
      .name("rule")
      .sink([&o, drift = gen.drift_at](const txn& t) {
        ++(t.id < drift ? o.rule_before : o.rule_after);
        if (!transactions::compromised(t.card))
          ++o.rule_false;
      })
      .name("rule-alerts");

  // The learned model.
  auto raw = by_card.template process<eddy::ml::point>(card_features{}).name("features");
  auto points = eddy::ml::transform(raw, eddy::ml::standard_scaler{n_features}).name("scaler");
  auto wait = eddy::ml::label_wait{}.within(label_delay * 4);
  auto labelled = eddy::ml::labelled(eddy::ml::await_labels(points, known, wait).name("join"));
  // ADWIN on rises of the error rate, judging no model before it has made 5,000 predictions (a
  // model still learning its first records makes more mistakes as it meets new kinds of them).
  eddy::ml::adwin_config watch;
  watch.mode = eddy::ml::adwin_mode::up;
  watch.grace_period = 5'000;
  auto options = eddy::ml::learner_options{}.every(1'000).rolling_window(5'000).detect_drift(watch);
  auto model = eddy::ml::learn(labelled, initial, options).name("model");
  auto fresh =
      eddy::ml::learn(labelled, initial, eddy::ml::learner_options{options}.restart_after_drift())
          .name("fresh");
  model.union_with(fresh).sink(eddy::collect(o.learned)).name("learned");
  auto chosen =
      eddy::ml::registry(model.union_with(fresh),
                         eddy::ml::registry_options{}.serve("model").with_background("fresh"))
          .name("registry");
  chosen.sink(eddy::collect(o.chosen)).name("chosen");
  auto judge = [&](const eddy::stream<eddy::ml::model_version>& versions, const char* name,
                   std::vector<eddy::ml::evaluation>& out) {
    // Points that come before the first version wait for it (a replica keeps up to 10,000).
    auto predictions =
        eddy::ml::score<Model>(points.rebalance(), versions).name(name).parallelism(2);
    eddy::ml::evaluate(
        eddy::ml::await_labels(predictions, known, wait),
        eddy::ml::evaluation_options{}.every(report_every).rolling_window(report_every))
        .sink(eddy::collect(out));
    return predictions;
  };
  judge(chosen, "served", o.served)
      .filter([](const eddy::ml::prediction& p) { return p.label == 1; })
      .sink([&o](const eddy::ml::prediction&) { ++o.model_alerts; })
      .name("model-alerts");
  judge(model, "alone", o.alone);
  auto report = job.run();
  if (!report) {
    std::fprintf(stderr, "fraud_detection: %s\n", eddy::describe(report.error()).c_str());
    return false;
  }
  o.report = std::move(*report);
  return true;
}

/// Mean rolling ROC AUC and F1 of the evaluations after `from` labelled transactions.
std::pair<double, double> after(const std::vector<eddy::ml::evaluation>& curve, uint64_t from) {
  double auc = 0, f1 = 0;
  int k = 0;
  for (const auto& e : curve)
    if (e.quality.evaluated > from && e.quality.evaluated % report_every == 0) {
      auc += e.quality.rolling_roc_auc;
      f1 += e.quality.rolling_f1;
      ++k;
    }
  return k == 0 ? std::pair{0.0, 0.0} : std::pair{auc / k, f1 / k};
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fraud detection: a learned model beside the pattern rule, through a drift"};
  uint64_t n = 200'000;
  transactions gen;
  double rate = 100'000;
  std::string faults_spec;
  std::string model = "nb";
  app.add_option("--model", model,
                 "the model: nb (Gaussian naive Bayes) or lr (logistic regression)")
      ->capture_default_str()
      ->check(CLI::IsMember({"nb", "lr"}));
  app.add_option("--transactions", n, "transactions to generate")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{20'000}, uint64_t{100'000'000}));
  app.add_option("--drift-at", gen.drift_at, "the transaction where fraud changes")
      ->capture_default_str();
  app.add_option("--cards", gen.cards, "cards")
      ->capture_default_str()
      ->check(CLI::Range(50, 10'000'000));
  app.add_option("--seed", gen.seed, "seed of the stream")->capture_default_str();
  app.add_option("--rate", rate, "transactions per second (0: as fast as it goes)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option(
      "--faults", faults_spec,
      "faults to inject, e.g. \"crash:model#0@after=60000; crash:served#1@after=80000\"");
  CLI11_PARSE(app, argc, argv);
  if (gen.drift_at + 3 * report_every > n) {
    std::fprintf(stderr,
                 "fraud_detection: --drift-at %llu leaves fewer than %llu transactions "
                 "after the drift; lower it or raise --transactions\n",
                 static_cast<unsigned long long>(gen.drift_at),
                 static_cast<unsigned long long>(3 * report_every));
    return 2;
  }
  auto faults = eddy::parse_fault_plan(faults_spec);
  if (!faults) {
    std::fprintf(stderr, "%s\n", eddy::describe(faults.error()).c_str());
    return 2;
  }
  auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
  auto checkpoints =
      std::filesystem::temp_directory_path() / ("eddy-fraud-detection-" + std::to_string(stamp));
  std::printf("%llu transactions on %llu cards (%llu compromised), fraud changes at %llu; "
              "checkpoints every 50ms%s%s\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(gen.cards),
              static_cast<unsigned long long>(gen.cards / transactions::compromised_every),
              static_cast<unsigned long long>(gen.drift_at),
              faults->empty() ? "" : "; faults: ", eddy::to_string(*faults).c_str());
  outcome o;
  auto cfg = eddy::job_config{}
                 .with_threads(2)
                 .with_checkpoints(checkpoints.string(), 50ms)
                 .with_faults(*faults);
  bool ran = model == "lr"
                 ? run(*eddy::ml::logistic_regression::make(n_features), gen, n, rate, cfg, o)
                 : run(*eddy::ml::gaussian_naive_bayes::make(n_features), gen, n, rate, cfg, o);
  std::filesystem::remove_all(checkpoints);
  if (!ran)
    return 1;

  std::printf("\n%12s  %24s  %24s\n", "transactions", "served: ROC AUC / F1", "model alone: same");
  for (size_t k = 0; k < std::min(o.served.size(), o.alone.size()); ++k) {
    const auto& s = o.served[k].quality;
    const auto& a = o.alone[k].quality;
    std::printf("%12llu  %11.3f / %-10.3f  %11.3f / %-10.3f%s\n",
                static_cast<unsigned long long>(s.evaluated), s.rolling_roc_auc, s.rolling_f1,
                a.rolling_roc_auc, a.rolling_f1,
                s.evaluated > gen.drift_at && s.evaluated <= gen.drift_at + report_every
                    ? "  <- the drift"
                    : "");
  }
  std::printf("\nthe registry served:\n");
  bool promoted = false;
  for (const auto& v : o.chosen) {
    if (v.reason == "newest")
      continue;
    std::printf("  %s version %llu (%llu learned): %s\n", v.model.c_str(),
                static_cast<unsigned long long>(v.version),
                static_cast<unsigned long long>(v.updates), v.reason.c_str());
    promoted = promoted || (v.model == "fresh" && v.updates > gen.drift_at &&
                            v.reason.rfind("promoted", 0) == 0);
  }
  uint64_t drifts = 0;
  for (const auto& v : o.learned)
    if (v.model == "model")
      drifts = std::max<uint64_t>(drifts, v.quality.drifts);
  std::printf(
      "  (and %zu newest versions; drifts found by the model's learner: %llu)\n",
      static_cast<size_t>(std::count_if(o.chosen.begin(), o.chosen.end(),
                                        [](const auto& v) { return v.reason == "newest"; })),
      static_cast<unsigned long long>(drifts));
  auto [served_auc, served_f1] = after(o.served, gen.drift_at + report_every);
  auto [alone_auc, alone_f1] = after(o.alone, gen.drift_at + report_every);
  std::printf("\nafter the drift (mean of the rolling figures): served ROC AUC %.3f F1 %.3f; model "
              "alone ROC AUC %.3f F1 %.3f\n",
              served_auc, served_f1, alone_auc, alone_f1);
  std::printf("rule alerts: %llu before the drift, %llu after (%llu on cards not compromised); "
              "model alerts: %llu\n",
              static_cast<unsigned long long>(o.rule_before.load()),
              static_cast<unsigned long long>(o.rule_after.load()),
              static_cast<unsigned long long>(o.rule_false.load()),
              static_cast<unsigned long long>(o.model_alerts.load()));
  examples::print_recovery(o.report);
  for (const auto& d : o.report.dead_letters)
    std::printf("dead letter from %s: %s: %s\n", d.origin.c_str(), d.reason.c_str(),
                d.record.c_str());
  bool scored = !o.served.empty() && !o.alone.empty() &&
                o.served.back().quality.evaluated + o.served.back().expired == n &&
                o.alone.back().quality.evaluated + o.alone.back().expired == n;
  bool ok = promoted && served_f1 > alone_f1 + 0.05 && o.rule_false == 0 && o.rule_before > 0 &&
            scored && o.report.dead_letters.empty();
  std::printf("%s\n",
              ok ? "ok: the fresh model was promoted after the drift and caught more of the "
                   "new fraud than the model alone"
                 : "FAILED: see above");
  return ok ? 0 : 1;
}
