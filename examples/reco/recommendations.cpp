// Recommendations from a live stream of user behaviour: matrix factorization learned online by an
// actor, every version broadcast to recommender replicas that answer "top 10 for this user" while
// the model keeps learning.
//
//   events (generated, seeded: a user picks the better-looking of 2 items shown and rates it)
//     -> map -> ratings -> rating learner (matrix factorization, a version every 5,000 ratings)
//     -> key_by(user) -> the items each user rated, in keyed state -> a request every 10th event
//   requests -> 2 recommender replicas (top 10, the user's rated items left out) -> answers
//
//   recommendations [--events 300000] [--users 2000] [--items 500] [--rate 200000] [--seed 7]
//                   [--faults "crash:mf#0@after=100000; crash:recommender#1@after=10000"]
//
// Every user has hidden tastes (8 numbers) and every item hidden traits; a rating is 3 plus their
// product plus noise, within 1 to 5. It prints the learner's RMSE as versions come, then judges
// the answers against those hidden tastes: of the 10 items recommended, how many are among the
// user's true 10 best items not yet rated (precision@10), for the model's answers, for the 10
// most popular items (counted over the whole stream: a baseline that sees the future) and for 10
// items at random. It exits with 1 unless the model's answers in the second half of the stream
// beat the popularity baseline and random, every request was answered once, and nothing reached
// the dead letters.
#include "../job_summary.hpp"

#include <eddy/ml/operators/recommend.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Hidden tastes and traits per user and item.
constexpr int n_tastes = 8;
/// Items per answer.
constexpr size_t k = 10;
/// Every user's every 10th event asks for recommendations.
constexpr uint64_t ask_every = 10;

/// A user's rating of an item, and its place in the stream.
struct event {
  uint64_t id = 0;
  int64_t user = 0;
  int64_t item = 0;
  double rating = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(caf::meta::type_name("event"), x.id, x.user, x.item, x.rating);
}

/// The seeded world: hidden tastes, and the events drawn from them.
struct world {
  int64_t users = 2'000;
  int64_t items = 500;
  uint64_t seed = 7;

  /// A uniform double in [-1, 1) from (a, b), the same on every run.
  [[nodiscard]] double draw(uint64_t a, uint64_t b) const {
    auto h = eddy::mix64(eddy::mix64(a * 0x9e3779b97f4a7c15ULL + seed) ^ b);
    return static_cast<double>(h >> 11) * 0x1.0p-52 - 1.0;
  }

  /// How much `user` likes `item`: the product of their hidden tastes and traits.
  [[nodiscard]] double affinity(int64_t user, int64_t item) const {
    double sum = 0;
    for (int t = 0; t < n_tastes; ++t)
      sum += draw(static_cast<uint64_t>(user), 100 + t) *
             draw(static_cast<uint64_t>(item) + (1ULL << 40), 200 + t);
    return 0.7 * sum;
  }

  /// Event i: a user is shown 2 items and rates the one that looks better to them.
  [[nodiscard]] event operator()(uint64_t i) const {
    event e;
    e.id = i;
    e.user = static_cast<int64_t>((draw(i, 1) + 1.0) * 0.5 * static_cast<double>(users)) % users;
    double best = -1e9;
    for (uint64_t c = 0; c < 2; ++c) {
      auto item =
          static_cast<int64_t>((draw(i, 10 + c) + 1.0) * 0.5 * static_cast<double>(items)) % items;
      double looks = affinity(e.user, item) + 0.5 * draw(i, 30 + c);
      if (looks > best) {
        best = looks;
        e.item = item;
      }
    }
    e.rating = std::clamp(3.0 + affinity(e.user, e.item) + 0.3 * draw(i, 50), 1.0, 5.0);
    return e;
  }
};

/// Keeps the items each user rated (keyed state) and asks for recommendations every 10th event.
struct ask {
  using context = eddy::keyed_context<int64_t, eddy::ml::recommend_request>;
  eddy::state::value_state<std::vector<int64_t>> rated;

  void open(context& ctx) { rated = *ctx.state().declare_value<std::vector<int64_t>>("rated"); }

  void operator()(const event& e, context& ctx) {
    std::vector<int64_t> items = rated.value() ? *rated.value() : std::vector<int64_t>{};
    if (std::find(items.begin(), items.end(), e.item) == items.end())
      items.push_back(e.item);
    if (items.size() % ask_every == 0)
      ctx.emit(eddy::ml::recommend_request{e.id, e.user, items});
    rated.update(std::move(items));
  }
};

/// The share of `picked` among the user's true `k` best items outside `exclude`.
double precision_at_k(const world& w, int64_t user, const std::vector<int64_t>& picked,
                      const std::vector<int64_t>& exclude) {
  std::vector<std::pair<double, int64_t>> all;
  for (int64_t item = 0; item < w.items; ++item)
    if (std::find(exclude.begin(), exclude.end(), item) == exclude.end())
      all.emplace_back(w.affinity(user, item), item);
  auto n = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    std::greater<>{});
  size_t hits = 0;
  for (size_t j = 0; j < n; ++j)
    hits += std::find(picked.begin(), picked.end(), all[j].second) != picked.end();
  return n == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(n);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Recommendations from a live stream: matrix factorization served by replicas"};
  uint64_t n = 300'000;
  world w;
  double rate = 200'000;
  std::string faults_spec;
  app.add_option("--events", n, "rating events to generate")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{20'000}, uint64_t{100'000'000}));
  app.add_option("--users", w.users, "users")
      ->capture_default_str()
      ->check(CLI::Range(10, 10'000'000));
  app.add_option("--items", w.items, "items")
      ->capture_default_str()
      ->check(CLI::Range(20, 100'000));
  app.add_option("--seed", w.seed, "seed of the world")->capture_default_str();
  app.add_option("--rate", rate, "events per second (0: as fast as it goes)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--faults", faults_spec,
                 "faults to inject, e.g. \"crash:mf#0@after=100000; "
                 "crash:recommender#1@after=10000\"");
  CLI11_PARSE(app, argc, argv);
  auto faults = eddy::parse_fault_plan(faults_spec);
  if (!faults) {
    std::fprintf(stderr, "%s\n", eddy::describe(faults.error()).c_str());
    return 2;
  }
  auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
  auto checkpoints =
      std::filesystem::temp_directory_path() / ("eddy-recommendations-" + std::to_string(stamp));
  std::printf("%llu events, %lld users, %lld items; checkpoints every 50ms%s%s\n",
              static_cast<unsigned long long>(n), static_cast<long long>(w.users),
              static_cast<long long>(w.items),
              faults->empty() ? "" : "; faults: ", eddy::to_string(*faults).c_str());

  std::vector<eddy::ml::model_version> versions;
  std::vector<eddy::ml::recommendation> answers;
  std::vector<eddy::ml::recommend_request> asked;
  eddy::job job{eddy::job_config{}
                    .with_threads(2)
                    .with_checkpoints(checkpoints.string(), 50ms)
                    .with_faults(*faults)};
  auto events = eddy::generator<event>(n, w);
  if (rate > 0)
    events = events.at_rate(rate);
  auto stream = job.source(events).name("events");
  eddy::ml::matrix_factorization_config cfg;
  cfg.n_factors = n_tastes;
  cfg.learning_rate = 0.1;
  auto initial = eddy::ml::matrix_factorization::make(cfg);
  auto learned =
      eddy::ml::learn_ratings(stream
                                  .map([](const event& e) {
                                    return eddy::ml::rating{e.id, e.user, e.item, e.rating};
                                  })
                                  .name("ratings"),
                              *initial,
                              eddy::ml::rating_learner_options{}.every(5'000).rolling_window(5'000))
          .name("mf");
  learned
      .sink([&versions](const eddy::ml::model_version& v) {
        if (v.version % 10 == 0)
          std::printf("version %3llu after %7llu ratings: RMSE %.3f, over the last 5,000 %.3f\n",
                      static_cast<unsigned long long>(v.version),
                      static_cast<unsigned long long>(v.updates), v.quality.rmse,
                      v.quality.rolling_rmse);
        versions.push_back(v);
      })
      .name("versions");
  auto requests = stream.key_by([](const event& e) { return e.user; })
                      .process<eddy::ml::recommend_request>(ask{})
                      .name("ask");
  requests.sink(eddy::collect(asked)).name("asked");
  eddy::ml::recommend(requests.rebalance(), learned, eddy::ml::recommender_options{}.top(k))
      .name("recommender")
      .parallelism(2)
      .sink(eddy::collect(answers))
      .name("answers");
  auto t0 = std::chrono::steady_clock::now();
  auto report = job.run();
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::filesystem::remove_all(checkpoints);
  if (!report) {
    std::fprintf(stderr, "recommendations: %s\n", eddy::describe(report.error()).c_str());
    return 1;
  }

  // Judge the answers of the second half against the hidden tastes, beside the baselines.
  std::vector<uint64_t> popularity(static_cast<size_t>(w.items), 0);
  for (uint64_t i = 0; i < n; ++i)
    ++popularity[static_cast<size_t>(w(i).item)];
  std::vector<int64_t> by_popularity(static_cast<size_t>(w.items));
  std::iota(by_popularity.begin(), by_popularity.end(), 0);
  std::stable_sort(by_popularity.begin(), by_popularity.end(), [&](int64_t a, int64_t b) {
    return popularity[static_cast<size_t>(a)] > popularity[static_cast<size_t>(b)];
  });
  std::vector<const eddy::ml::recommend_request*> request_of(n, nullptr);
  for (const auto& r : asked)
    request_of[r.id] = &r;
  double model_p = 0, popular_p = 0, random_p = 0;
  size_t judged = 0, empty = 0;
  std::vector<bool> answered(n, false);
  bool once = true;
  for (const auto& a : answers) {
    once = once && a.id < n && !answered[a.id] && request_of[a.id];
    if (!once)
      break;
    answered[a.id] = true;
    if (a.id < n / 2)
      continue;
    const auto& exclude = request_of[a.id]->exclude;
    empty += a.items.empty();
    std::vector<int64_t> popular, random;
    for (auto item : by_popularity)
      if (popular.size() < k && std::find(exclude.begin(), exclude.end(), item) == exclude.end())
        popular.push_back(item);
    for (uint64_t j = 0; random.size() < k && j < 10 * k; ++j) {
      auto item =
          static_cast<int64_t>((w.draw(a.id, 900 + j) + 1.0) * 0.5 * static_cast<double>(w.items)) %
          w.items;
      if (std::find(exclude.begin(), exclude.end(), item) == exclude.end() &&
          std::find(random.begin(), random.end(), item) == random.end())
        random.push_back(item);
    }
    model_p += precision_at_k(w, a.user, a.items, exclude);
    popular_p += precision_at_k(w, a.user, popular, exclude);
    random_p += precision_at_k(w, a.user, random, exclude);
    ++judged;
  }
  once = once && answers.size() == asked.size();
  if (judged > 0) {
    model_p /= static_cast<double>(judged);
    popular_p /= static_cast<double>(judged);
    random_p /= static_cast<double>(judged);
  }
  std::printf("\n%zu requests answered by 2 replicas (%zu versions published), %.2f s: %.0f "
              "events/s\n",
              answers.size(), versions.size(), seconds, static_cast<double>(n) / seconds);
  std::printf("precision@10 against the hidden tastes, second half (%zu answers): model %.3f, "
              "most popular %.3f, random %.3f\n",
              judged, model_p, popular_p, random_p);
  examples::print_recovery(*report);
  for (const auto& d : report->dead_letters)
    std::printf("dead letter from %s: %s: %s\n", d.origin.c_str(), d.reason.c_str(),
                d.record.c_str());
  bool ok = once && judged > 0 && empty == 0 && model_p > popular_p && model_p > random_p &&
            report->dead_letters.empty();
  std::printf("%s\n", ok ? "ok: every request answered once, and the model beats both baselines"
                         : "FAILED: see above");
  return ok ? 0 : 1;
}
