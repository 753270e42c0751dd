// Two-input operators: connect (which input a record came from, also with one record type on
// both), keyed co-process functions sharing keyed state between their inputs on both backends,
// throwing functions, mistakes, and the broadcast state pattern (the same state on every
// instance, snapshots of it).
#include "temp_dir.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>
#include <eddy/state/crc32c.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

using namespace eddy;

namespace {

struct ev {
  int32_t key = 0;
  int64_t time = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ev& x) {
  return f(x.key, x.time, x.value);
}

/// Record i of a stream `seed` of `n` records over `keys` keys, at most `block - 1` positions out
/// of order (reversed within blocks), time i.
struct shuffled {
  uint64_t n = 1000;
  int32_t keys = 13;
  uint64_t block = 20;
  uint64_t seed = 1;
  [[nodiscard]] ev at(uint64_t i) const {
    auto start = i / block * block;
    auto end = std::min(start + block, n);
    auto j = start + (end - 1 - i);
    auto h = mix64(j * 31 + seed);
    return ev{static_cast<int32_t>(h % uint64_t(keys)), int64_t(j), int64_t((h >> 24) % 1000)};
  }
  [[nodiscard]] std::vector<ev> all() const {
    std::vector<ev> xs;
    for (uint64_t i = 0; i < n; ++i)
      xs.push_back(at(i));
    return xs;
  }
  [[nodiscard]] generator<ev> source() const {
    auto self = *this;
    return generator<ev>(n, [self](uint64_t i) { return self.at(i); })
        .with_event_time([](const ev& e) { return e.time; }, int64_t(block));
  }
};

struct tagged {
  int32_t side = 0;
  int32_t key = 0;
  int64_t time = 0;
  int64_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tagged& x) {
  return f(x.side, x.key, x.time, x.value);
}

using row = std::tuple<int32_t, int32_t, int64_t, int64_t>;

std::vector<row> rows(const std::vector<tagged>& xs) {
  std::vector<row> out;
  for (const auto& x : xs)
    out.emplace_back(x.side, x.key, x.time, x.value);
  std::sort(out.begin(), out.end());
  return out;
}

struct tag_sides {
  void process1(const ev& e, collector<tagged>& out) {
    out.emit(tagged{1, e.key, e.time, e.value});
  }
  void process2(const ev& e, collector<tagged>& out) {
    out.emit(tagged{2, e.key, e.time, e.value});
  }
};

} // namespace

SCENARIO("connect tells its inputs apart when both carry the same record type, also unions") {
  std::mt19937 rng{11};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  shuffled a1{700, 13, 10, 1}, a2{500, 13, 10, 2}, b{900, 13, 10, 3};
  std::vector<row> expected;
  for (auto* s : {&a1, &a2})
    for (const auto& e : s->all())
      expected.emplace_back(1, e.key, e.time, e.value);
  for (const auto& e : b.all())
    expected.emplace_back(2, e.key, e.time, e.value);
  std::sort(expected.begin(), expected.end());
  for (int round = 0; round < 4; ++round) {
    auto cfg = job_config{}.with_threads(2).with_batch_size(pick(1, 200)).with_credit(pick(1, 4));
    uint32_t p = pick(1, 4);
    INFO("round " << round << ": co_process parallelism " << p);
    job j{cfg};
    std::vector<tagged> out;
    auto first = j.source(a1.source()).parallelism(pick(1, 3)).union_with(j.source(a2.source()));
    first.connect(j.source(b.source()).parallelism(pick(1, 3)).rebalance())
        .process<tagged>(tag_sides{})
        .parallelism(p)
        .sink(collect(out));
    REQUIRE(j.run());
    CHECK(rows(out) == expected);
  }
}

namespace {

struct balance {
  int32_t key = 0;
  int64_t total = 0;
  int64_t updates = 0;
  bool final = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, balance& x) {
  return f(x.key, x.total, x.updates, x.final);
}

/// Deposits (first input) and withdrawals (second) of one account share its balance.
struct accounts {
  state::value_state<balance> b;
  void open(keyed_context<int32_t, balance>& ctx) {
    b = *ctx.state().declare_value<balance>("balance");
  }
  void update(int32_t key, int64_t delta, keyed_context<int32_t, balance>& ctx) {
    auto x = b.value_or(balance{key, 0, 0, false});
    x.total += delta;
    ++x.updates;
    b.update(x);
    ctx.emit(x);
    ctx.register_event_time_timer(max_time - 1);
  }
  void process1(const ev& e, keyed_context<int32_t, balance>& ctx) {
    if (e.value == 999)
      throw std::runtime_error("refused deposit");
    update(e.key, e.value, ctx);
  }
  void process2(const ev& e, keyed_context<int32_t, balance>& ctx) { update(e.key, -e.value, ctx); }
  void on_timer(timestamp, keyed_context<int32_t, balance>& ctx) {
    auto x = *b.value();
    x.final = true;
    ctx.emit(x);
    b.clear();
  }
};

} // namespace

SCENARIO("a keyed co-process function shares keyed state between its inputs, on both backends") {
  shuffled deposits{3000, 17, 30, 5}, withdrawals{2000, 17, 30, 6};
  std::map<int32_t, std::pair<int64_t, int64_t>> reference; // total, updates
  size_t refused = 0;
  for (const auto& e : deposits.all()) {
    if (e.value == 999) {
      ++refused;
      continue;
    }
    reference[e.key].first += e.value;
    ++reference[e.key].second;
  }
  for (const auto& e : withdrawals.all()) {
    reference[e.key].first -= e.value;
    ++reference[e.key].second;
  }
  REQUIRE(refused > 0);
  std::mt19937 rng{5};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  for (int round = 0; round < 4; ++round) {
    bool rocksdb = round % 2 == 1;
    auto cfg = job_config{}.with_threads(2).with_batch_size(pick(1, 300)).with_credit(pick(1, 4));
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(test::temp_dir("eddy_co")));
    uint32_t p = pick(1, 4);
    INFO("round " << round << (rocksdb ? " (RocksDB)" : " (memory)") << ", parallelism " << p);
    job j{cfg};
    std::vector<balance> out;
    j.source(deposits.source())
        .parallelism(pick(1, 2))
        .key_by([](const ev& e) { return e.key; })
        .connect(j.source(withdrawals.source()).parallelism(pick(1, 2)).key_by([](const ev& e) {
          return e.key;
        }))
        .process<balance>(accounts{})
        .parallelism(p)
        .sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    // The refused deposits are dead letters; the job went on.
    CHECK(report->dead_letter_count() == refused);
    std::map<int32_t, int64_t> last_updates;
    std::map<int32_t, balance> finals;
    for (const auto& x : out) {
      if (x.final) {
        CHECK(finals.count(x.key) == 0);
        finals[x.key] = x;
        continue;
      }
      CHECK(x.updates == last_updates[x.key] + 1); // each record once, either input
      last_updates[x.key] = x.updates;
    }
    REQUIRE(finals.size() == reference.size());
    for (const auto& [key, ref] : reference) {
      CHECK(finals[key].total == ref.first);
      CHECK(finals[key].updates == ref.second);
    }
  }
}

SCENARIO("connecting streams of two jobs is refused with how to fix it") {
  job a, b;
  std::vector<tagged> out;
  a.source(from_container(std::vector<ev>{ev{}}))
      .connect(b.source(from_container(std::vector<ev>{ev{}})))
      .process<tagged>(tag_sides{})
      .sink(collect(out));
  auto r = a.run();
  REQUIRE(!r);
  CHECK_THAT(describe(r.error()), Catch::Contains("different jobs"));
}

// -- broadcast state ------------------------------------------------------------------------------

namespace {

struct rule {
  int32_t id = 0;
  int64_t threshold = 0;
  int64_t time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rule& x) {
  return f(x.id, x.threshold, x.time);
}

struct verdict {
  int32_t key = 0;
  int64_t time = 0;
  bool above = false;
  uint32_t digest = 0; // of the broadcast state, on the final timer
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verdict& x) {
  return f(x.key, x.time, x.above, x.digest);
}

constexpr int32_t rule_ids = 5;

using rules_state = broadcast_map_state<int32_t, int64_t>;

uint32_t digest(const rules_state& s) {
  auto bytes = s.write_bytes();
  return state::crc32c(bytes.data(), bytes.size());
}

/// Buffers each event until the watermark passes it (then every rule before it has arrived, as
/// the watermark is the minimum over both inputs), and compares it with its rule's threshold.
struct check_thresholds {
  using kctx = keyed_broadcast_context<int32_t, verdict, int32_t, int64_t>;
  state::map_state<int64_t, std::vector<ev>> pending;
  void open(kctx& ctx) { pending = *ctx.state().declare_map<int64_t, std::vector<ev>>("pending"); }
  void process_element(const ev& e, kctx& ctx) {
    auto xs = pending.get(e.time) ? *pending.get(e.time) : std::vector<ev>{};
    xs.push_back(e);
    pending.put(e.time, xs);
    ctx.register_event_time_timer(e.time);
    ctx.register_event_time_timer(max_time - 1);
  }
  void process_broadcast(const rule& r, broadcast_context<int32_t, int64_t, verdict>& ctx) {
    ctx.state().put(r.id, r.threshold);
  }
  void on_timer(timestamp t, kctx& ctx) {
    if (t == max_time - 1) {
      ctx.emit(verdict{ctx.key(), t, false, digest(ctx.broadcast_state())});
      return;
    }
    for (const auto& e : *pending.get(t)) {
      const auto* th = ctx.broadcast_state().get(e.key % rule_ids);
      ctx.emit(verdict{e.key, e.time, th != nullptr && e.value > *th, 0});
    }
    pending.remove(t);
  }
};

} // namespace

SCENARIO("broadcast state is the same on every instance and keyed records read it") {
  // 60 rule updates at times 0..59 (each id updated 12 times), events from time 1000 on.
  std::vector<rule> rules;
  rules_state reference{"rules"};
  for (int32_t i = 0; i < 60; ++i) {
    rule r{i % rule_ids, int64_t(mix64(uint64_t(i)) % 1000), i};
    rules.push_back(r);
    reference.put(r.id, r.threshold);
  }
  shuffled events{2000, 23, 25, 9};
  std::vector<std::tuple<int32_t, int64_t, bool>> expected;
  for (auto e : events.all())
    expected.emplace_back(e.key, e.time + 1000, e.value > *reference.get(e.key % rule_ids));
  std::sort(expected.begin(), expected.end());
  std::mt19937 rng{3};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  for (int round = 0; round < 4; ++round) {
    bool rocksdb = round % 2 == 1;
    auto cfg = job_config{}.with_threads(2).with_batch_size(pick(1, 100)).with_credit(pick(1, 4));
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(test::temp_dir("eddy_bcast")));
    uint32_t p = pick(1, 4);
    INFO("round " << round << (rocksdb ? " (RocksDB)" : " (memory)") << ", parallelism " << p);
    job j{cfg};
    std::vector<verdict> out;
    auto ev_source = generator<ev>(events.n, [events](uint64_t i) {
                       auto e = events.at(i);
                       e.time += 1000;
                       return e;
                     }).with_event_time([](const ev& e) { return e.time; }, int64_t(events.block));
    j.source(ev_source)
        .parallelism(pick(1, 2))
        .key_by([](const ev& e) { return e.key; })
        .connect(j.source(from_container(rules, [](const rule& r) { return r.time; }))
                     .parallelism(1)
                     .broadcast_state<int32_t, int64_t>("rules"))
        .process<verdict>(check_thresholds{})
        .parallelism(p)
        .sink(collect(out));
    REQUIRE(j.run());
    std::vector<std::tuple<int32_t, int64_t, bool>> got;
    std::set<int32_t> keys_with_digest;
    for (const auto& v : out) {
      if (v.time == max_time - 1) {
        CHECK(v.digest == digest(reference)); // every instance ends with the same state
        keys_with_digest.insert(v.key);
        continue;
      }
      got.emplace_back(v.key, v.time, v.above);
    }
    std::sort(got.begin(), got.end());
    CHECK(got == expected);
    CHECK(keys_with_digest.size() == 23);
  }
}

SCENARIO("broadcast state writes itself to bytes and reads them back, refusing damaged bytes") {
  broadcast_map_state<std::string, std::vector<int64_t>> s{"model"};
  s.put("weights", {1, -2, 3});
  s.put("bias", {7});
  s.put("version", {42});
  s.remove("bias");
  auto bytes = s.write_bytes();
  broadcast_map_state<std::string, std::vector<int64_t>> copy{"model"};
  copy.put("stale", {0});
  REQUIRE(!copy.read_bytes(bytes));
  CHECK(copy == s);
  CHECK(copy.size() == 2);
  REQUIRE(copy.get("weights") != nullptr);
  CHECK(*copy.get("weights") == std::vector<int64_t>{1, -2, 3});
  CHECK(copy.get("bias") == nullptr);
  // A flipped byte, a truncation and another state's bytes are refused; nothing changes.
  auto damaged = bytes;
  damaged[damaged.size() / 2] ^= 0x40;
  CHECK(copy.read_bytes(damaged));
  auto truncated = bytes;
  truncated.resize(bytes.size() - 3);
  CHECK(copy.read_bytes(truncated));
  broadcast_map_state<std::string, std::vector<int64_t>> other{"rules"};
  CHECK(other.read_bytes(bytes));
  CHECK(other.empty());
  CHECK(copy == s);
  // An empty state round-trips too.
  broadcast_map_state<std::string, std::vector<int64_t>> empty{"model"}, back{"model"};
  back.put("x", {1});
  REQUIRE(!back.read_bytes(empty.write_bytes()));
  CHECK(back.empty());
}
