// The checkpoint protocol of one task, driven message by message on CAF's deterministic test
// scheduler: the order in which its inputs are taken while it aligns on a barrier with its
// output out of credit, whose credit its output takes, random interleavings over many seeds, and
// its single-task recovery (killed, replaced from its snapshot, its inputs sent again, its choices
// replayed) at random moments.
#include <eddy/actors/task.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace eddy;

namespace {

using trace = std::vector<std::string>;

/// Writes down every message it receives: "b:<records>" for a batch, "w:<t>" for a watermark,
/// "B:<id>" for a barrier, "c:<epoch>" for credit, "other" for the rest.
caf::behavior recorder(caf::event_based_actor* self, std::shared_ptr<trace> seen) {
  self->set_default_handler(
      [seen](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
        seen->push_back("other");
        return caf::message{};
      });
  return {
      [seen](batch<int64_t>& b) {
        std::string s = "b:";
        for (auto x : b.items)
          s += std::to_string(x) + ' ';
        s.pop_back();
        seen->push_back(s);
      },
      [seen](control& c) {
        if (c.kind == control_kind::watermark)
          seen->push_back("w:" + std::to_string(c.value));
        else if (c.kind == control_kind::barrier)
          seen->push_back("B:" + std::to_string(c.value));
      },
      [seen](credit& c) { seen->push_back("c:" + std::to_string(c.epoch)); },
  };
}

/// Passes each batch on, to one receiver of incarnation `epoch`.
class relay final : public logic {
public:
  relay(task& t, caf::actor to, uint32_t epoch)
      : out_(&t, &t.metrics(), false, t.instance()) {
    out_.add_edge(partitioning::forward, {}, {channel_target{std::move(to), 0, epoch}},
                  t.channels());
  }
  caf::message_handler handlers(task& t) override {
    return t.data_handler<int64_t>([this](batch<int64_t>& b) { out_.emit_batch(std::move(b)); });
  }
  output_base* output() override { return &out_; }

private:
  eddy::output<int64_t> out_;
};

/// One two-input relay task between two upstream recorders and a downstream one, on the test
/// scheduler. Its output ships every record at once (batches of one) and starts with one credit.
struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<trace> out = std::make_shared<trace>();
  std::shared_ptr<trace> up = std::make_shared<trace>();
  caf::actor a, b, sink, relay_task;

  explicit fixture(uint32_t sink_epoch = 0) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sys->await_actors_before_shutdown(false);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    a = sys->spawn(recorder, up);
    b = sys->spawn(recorder, up);
    sink = sys->spawn(recorder, out);
    task_spec spec;
    spec.name = "merge";
    spec.inputs = 2;
    spec.channels.batch_size = 1;
    spec.channels.initial_credit = 1;
    spec.metrics = std::make_shared<instance_metrics>("merge", 0);
    spec.coordinator = sink;
    spec.snapshots = sink;
    spec.make_logic = [to = sink, sink_epoch](task& t) {
      return std::make_unique<relay>(t, to, sink_epoch);
    };
    relay_task = sys->spawn<task>(std::move(spec));
    caf::anon_send(relay_task, start_atom::value);
    sched->run();
  }

  ~fixture() {
    for (auto* x : {&a, &b, &sink, &relay_task})
      caf::anon_send_exit(*x, caf::exit_reason::user_shutdown);
    sched->run();
  }

  /// Upstream `from` (input `input`) sends record `x` with sequence number `seq`.
  void record(const caf::actor& from, uint32_t input, int64_t x, uint64_t seq) {
    batch<int64_t> m;
    m.input = input;
    m.items = {x};
    m.seq = seq;
    caf::send_as(from, relay_task, std::move(m));
    sched->run();
  }

  void send_control(const caf::actor& from, uint32_t input, control_kind kind, int64_t value) {
    caf::send_as(from, relay_task, control{input, 0, kind, value, 0});
    sched->run();
  }

  /// The downstream grants one batch more, as incarnation `epoch`.
  void grant(uint32_t epoch = 0) {
    caf::anon_send(relay_task, credit{0, 1, epoch});
    sched->run();
  }
};

/// A step of one input's script: a record (its value and sequence number), a watermark, a
/// barrier or the end of input.
struct step {
  char kind;
  int64_t value;
  uint64_t seq = 0;
};

/// The scripts of two inputs: 3 to 25 records each, a watermark after 30 % of them, barriers 1 to
/// 3 after 20 % (the rest after the last record), then the end; and per record the barrier that
/// follows it on its input (1 to 3, or 4: none).
struct scripts {
  std::vector<step> script[2];
  std::map<int64_t, int64_t> epoch_of;
};

scripts make_scripts(std::mt19937_64& rng) {
  auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>{0, 99}(rng) < percent;
  };
  scripts result;
  for (int in = 0; in < 2; ++in) {
    auto& script = result.script[in];
    int64_t barrier = 1, wm = 0;
    uint64_t seq = 0;
    int records = std::uniform_int_distribution<int>{3, 25}(rng);
    for (int k = 0; k < records; ++k) {
      int64_t value = in * 1'000 + k;
      script.push_back({'r', value, seq++});
      result.epoch_of[value] = barrier;
      if (chance(30))
        script.push_back({'w', wm += std::uniform_int_distribution<int64_t>{1, 9}(rng)});
      if (barrier <= 3 && chance(20))
        script.push_back({'B', barrier++});
    }
    while (barrier <= 3)
      script.push_back({'B', barrier++});
    script.push_back({'E', 0});
  }
  return result;
}

} // namespace

SCENARIO("aligning on a barrier with the output out of credit keeps each input's order") {
  // Input 0 brings its barrier and then a record and a watermark, while the task waits for
  // credit and for input 1's barrier. The watermark (which needs no credit) must not overtake
  // the record input 0 sent before it: that record would arrive late downstream.
  fixture f;
  f.send_control(f.b, 1, control_kind::watermark, 1'000);
  f.record(f.b, 1, 100, 0);                         // sent: the one credit
  f.record(f.b, 1, 101, 1);                         // waits for credit
  f.send_control(f.a, 0, control_kind::barrier, 1); // kept
  f.record(f.b, 1, 102, 2);                         // kept
  f.record(f.a, 0, 1, 0);                           // kept
  f.grant(); // 101 goes; the barrier of input 0 is taken; 102 waits again; 1 stays kept
  f.send_control(f.a, 0, control_kind::watermark, 10); // after record 1, on input 0
  f.send_control(f.b, 1, control_kind::barrier, 1);    // kept
  f.grant(); // 102 goes; record 1 is held, so is the watermark; aligned: the snapshot
  f.grant(); // record 1 goes; then the watermark
  CHECK(*f.out == trace{"b:100", "b:101", "b:102", "other", "B:1", "b:1", "w:10"});
}

SCENARIO("an output takes credit only from its receiver's current incarnation") {
  // A task started after its receiver was replaced twice: the replacement grants credit as
  // incarnation 2, and what an earlier incarnation granted is void.
  fixture f{2};
  f.record(f.a, 0, 1, 0); // sent: the one credit
  f.record(f.a, 0, 2, 1); // waits for credit
  f.grant(0);
  CHECK(*f.out == trace{"b:1"});
  f.grant(2);
  CHECK(*f.out == trace{"b:1", "b:2"});
}

SCENARIO("random interleavings of inputs, barriers, watermarks, credit and ends, 300 seeds: each "
         "input's order, barrier alignment and exactly-once delivery hold") {
  // Each seed makes a script per input (records, watermarks, barriers 1 to 3, the end) and
  // interleaves the two inputs and the downstream's credit at random, each message run to
  // completion on the test scheduler or left queued behind the next ones. A failing seed is
  // printed and replays exactly.
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng{seed};
    auto chance = [&](int percent) {
      return std::uniform_int_distribution<int>{0, 99}(rng) < percent;
    };
    auto scripts = make_scripts(rng);
    auto& script = scripts.script;
    auto& epoch_of = scripts.epoch_of;
    fixture f;
    size_t next[2] = {0, 0};
    uint64_t seq[2] = {0, 0};
    while (next[0] < script[0].size() || next[1] < script[1].size() || chance(50)) {
      auto pick = std::uniform_int_distribution<int>{0, 2}(rng);
      if (pick == 2 || (next[0] == script[0].size() && next[1] == script[1].size())) {
        caf::anon_send(f.relay_task, credit{0, 1, 0});
      } else {
        auto in = next[pick] < script[pick].size() ? pick : 1 - pick;
        const auto& from = in == 0 ? f.a : f.b;
        auto s = script[in][next[in]++];
        if (s.kind == 'r') {
          batch<int64_t> m;
          m.input = static_cast<uint32_t>(in);
          m.items = {s.value};
          m.seq = seq[in]++;
          caf::send_as(from, f.relay_task, std::move(m));
        } else {
          auto kind = s.kind == 'w'   ? control_kind::watermark
                      : s.kind == 'B' ? control_kind::barrier
                                      : control_kind::end_of_stream;
          caf::send_as(from, f.relay_task, control{static_cast<uint32_t>(in), 0, kind, s.value, 0});
        }
      }
      if (chance(60))
        f.sched->run();
    }
    // Enough credit for whatever still waits.
    for (int k = 0; k < 200; ++k)
      caf::anon_send(f.relay_task, credit{0, 1, 0});
    f.sched->run();

    // Every record once, each input's in its order; barriers 1 to 3 once each, in order, each
    // after every record that preceded it on either input and before every record that followed
    // it; watermarks never going back.
    std::vector<int64_t> seen;
    int64_t barrier = 0, last_wm = std::numeric_limits<int64_t>::min();
    int64_t last_of[2] = {-1, -1};
    bool ok = true;
    std::string why;
    for (const auto& m : *f.out) {
      if (m.rfind("b:", 0) == 0) {
        auto v = std::stoll(m.substr(2));
        seen.push_back(v);
        auto in = v >= 1'000 ? 1 : 0;
        if (v <= last_of[in])
          ok = false, why = "input " + std::to_string(in) + " out of order at " + m;
        last_of[in] = v;
        if (epoch_of[v] != barrier + 1)
          ok = false, why = m + " is on the wrong side of barrier " + std::to_string(barrier);
      } else if (m.rfind("B:", 0) == 0) {
        auto id = std::stoll(m.substr(2));
        if (id != barrier + 1)
          ok = false, why = "barrier " + m + " after barrier " + std::to_string(barrier);
        barrier = id;
      } else if (m.rfind("w:", 0) == 0) {
        auto w = std::stoll(m.substr(2));
        if (w < last_wm)
          ok = false, why = "watermark " + m + " went back";
        last_wm = w;
      }
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all;
    for (const auto& [value, epoch] : epoch_of)
      all.push_back(value);
    INFO(why);
    CHECK(ok);
    CHECK(seen == all);
    CHECK(barrier == 3);
    if (!ok || seen != all || barrier != 3)
      break; // one failing seed is enough to replay
  }
}

namespace {

/// What a receiver saw of one sender incarnation's stream: data by sequence number, barriers
/// with the sequence number they came before.
struct received {
  /// seq -> value, and every (seq, value) seen again (a replacement sends what its predecessor
  /// had sent since the checkpoint it restarted from).
  std::map<uint64_t, int64_t> data;
  std::vector<std::pair<uint64_t, int64_t>> repeats;
  /// (barrier id, sequence number of the next record after it), every time one arrived.
  std::vector<std::pair<int64_t, uint64_t>> barriers;
  /// The highest barrier id that arrived from each incarnation.
  std::map<uint32_t, int64_t> last_barrier;
  /// Next sequence number per sender incarnation.
  std::map<uint32_t, uint64_t> next;
  /// A watermark that went back within one incarnation, if any.
  std::string watermark_error;
  std::map<uint32_t, int64_t> watermark;
  bool ended = false;
};

/// The downstream receiver of the recovery fixture.
caf::behavior receiver(caf::event_based_actor* self, std::shared_ptr<received> r) {
  self->set_default_handler(caf::drop);
  return {
      [r](batch<int64_t>& b) {
        for (size_t k = 0; k < b.items.size(); ++k) {
          auto [it, fresh] = r->data.emplace(b.seq + k, b.items[k]);
          if (!fresh)
            r->repeats.emplace_back(b.seq + k, b.items[k]);
        }
        r->next[b.epoch] = b.seq + b.items.size();
      },
      [r](control& c) {
        if (c.kind == control_kind::barrier) {
          // Where a replacement's stream starts is known from its first record on.
          if (auto it = r->next.find(c.epoch); it != r->next.end())
            r->barriers.emplace_back(c.value, it->second);
          r->last_barrier[c.epoch] = std::max(r->last_barrier[c.epoch], c.value);
        } else if (c.kind == control_kind::watermark) {
          auto [it, fresh] = r->watermark.emplace(c.epoch, c.value);
          if (!fresh && c.value < it->second)
            r->watermark_error = "watermark " + std::to_string(c.value) + " after " +
                                 std::to_string(it->second) + " from incarnation " +
                                 std::to_string(c.epoch);
          it->second = std::max(it->second, c.value);
        } else if (c.kind == control_kind::end_of_stream) {
          r->ended = true;
        }
      },
  };
}

/// What the job coordinator keeps of the task: its snapshots and its determinants.
struct kept {
  std::map<checkpoint_id, instance_state> snapshots;
  /// Determinants of the current incarnation since the last completed checkpoint.
  std::vector<determinant> dets;
  uint32_t epoch = 0;
};

caf::behavior keeper(caf::event_based_actor* self, std::shared_ptr<kept> k) {
  self->set_default_handler(caf::drop);
  return {
      [k](snapshot_atom, checkpoint_id id, uint32_t, uint32_t, instance_state& s) {
        k->snapshots[id] = std::move(s);
      },
      [k](det_atom, uint32_t, uint32_t epoch, std::vector<determinant>& ds) {
        if (epoch == k->epoch)
          k->dets.insert(k->dets.end(), ds.begin(), ds.end());
      },
  };
}

} // namespace

SCENARIO("random interleavings with the task killed at random and replaced alone, 300 seeds: "
         "the receiver sees every record once, the same at every sequence number, and barriers "
         "where the records say") {
  // The single-task recovery protocol on the test scheduler, the coordinator's part played by
  // the test: at random moments the task is killed (what its mailbox held is lost); a replacement
  // starts from the snapshot of the last checkpoint its receiver completed, with the
  // determinants recorded since, and each upstream sends again, in order and with the same
  // sequence numbers, what it sent since that checkpoint's barrier. The receiver keeps the first
  // record per sequence number: every later one must be the same record (the replacement did
  // exactly what its predecessor did), and together they must be every record once.
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng{seed};
    auto chance = [&](int per_mille) {
      return std::uniform_int_distribution<int>{0, 999}(rng) < per_mille;
    };
    auto scripts = make_scripts(rng);
    auto& script = scripts.script;
    auto& epoch_of = scripts.epoch_of;

    caf::actor_system_config cfg;
    cfg.set("scheduler.policy", caf::atom("testing"));
    caf::actor_system sys{cfg};
    sys.await_actors_before_shutdown(false);
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
    auto up_trace = std::make_shared<trace>();
    caf::actor up[2] = {sys.spawn(recorder, up_trace), sys.spawn(recorder, up_trace)};
    auto got = std::make_shared<received>();
    auto sink = sys.spawn(receiver, got);
    auto coordinator = std::make_shared<kept>();
    auto keeper_actor = sys.spawn(keeper, coordinator);
    // The last checkpoint the receiver completed, and the highest one started.
    checkpoint_id completed = 0, started = 0;
    auto spawn_task = [&](uint32_t epoch, checkpoint_id from, checkpoint_id aborted) {
      task_spec spec;
      spec.name = "merge";
      spec.inputs = 2;
      spec.channels.batch_size = 1;
      spec.channels.initial_credit = 1;
      spec.metrics = std::make_shared<instance_metrics>("merge", 0);
      spec.coordinator = keeper_actor;
      spec.snapshots = keeper_actor;
      spec.record_determinants = true;
      spec.epoch = epoch;
      spec.aborted = aborted;
      if (from > 0) {
        spec.restore = std::make_shared<instance_state>(coordinator->snapshots.at(from));
        spec.restore_id = from;
      }
      spec.replay = coordinator->dets;
      spec.make_logic = [to = sink](task& t) { return std::make_unique<relay>(t, to, 0); };
      auto t = sys.spawn<task>(std::move(spec));
      caf::anon_send(t, start_atom::value);
      return t;
    };
    auto current = spawn_task(0, 0, 0);
    sched.run();
    // Per input: what was sent (script positions), and what is to be sent again first.
    size_t next[2] = {0, 0};
    std::vector<size_t> sent[2], resend[2];
    uint32_t epoch = 0;
    int kills = 0;
    auto complete = [&] {
      // The receiver completes a checkpoint when the current incarnation's barrier reached it;
      // the determinants before that checkpoint's marker are no longer needed.
      auto it = got->last_barrier.find(epoch);
      if (it == got->last_barrier.end() || it->second <= completed)
        return;
      completed = it->second;
      auto& ds = coordinator->dets;
      auto marker = std::find_if(ds.begin(), ds.end(), [&](const determinant& d) {
        return d.kind == determinant::checkpoint && d.value == completed;
      });
      if (marker != ds.end())
        ds.erase(ds.begin(), marker + 1);
    };
    auto more = [&](int in) { return !resend[in].empty() || next[in] < script[in].size(); };
    while (more(0) || more(1) || chance(500)) {
      complete();
      auto pick = std::uniform_int_distribution<int>{0, 2}(rng);
      if (kills < 2 && chance(30)) {
        // Kill the task; a replacement starts from the last completed checkpoint.
        caf::anon_send_exit(current, caf::exit_reason::kill);
        sched.run();
        ++kills;
        coordinator->epoch = ++epoch;
        current = spawn_task(epoch, completed, started);
        for (int in = 0; in < 2; ++in) {
          // What followed the barrier of `completed` on this input, in order, again.
          size_t from = 0;
          for (size_t k = 0; k < sent[in].size(); ++k) {
            const auto& s = script[in][sent[in][k]];
            if (s.kind == 'B' && s.value == completed)
              from = k + 1;
          }
          // Before what an earlier replacement had still to be sent again.
          resend[in].insert(resend[in].begin(),
                            sent[in].begin() + static_cast<std::ptrdiff_t>(from), sent[in].end());
          sent[in].resize(from);
        }
      } else if (pick == 2 || (!more(0) && !more(1))) {
        caf::anon_send(current, credit{0, 1, 0});
      } else {
        auto in = more(pick) ? pick : 1 - pick;
        size_t pos;
        if (!resend[in].empty()) {
          pos = resend[in].front();
          resend[in].erase(resend[in].begin());
        } else {
          pos = next[in]++;
        }
        sent[in].push_back(pos);
        const auto& s = script[in][pos];
        if (s.kind == 'r') {
          batch<int64_t> m;
          m.input = static_cast<uint32_t>(in);
          m.items = {s.value};
          m.seq = s.seq;
          caf::send_as(up[in], current, std::move(m));
        } else {
          auto kind = s.kind == 'w'   ? control_kind::watermark
                      : s.kind == 'B' ? control_kind::barrier
                                      : control_kind::end_of_stream;
          if (s.kind == 'B')
            started = std::max(started, s.value);
          caf::send_as(up[in], current, control{static_cast<uint32_t>(in), 0, kind, s.value, 0});
        }
      }
      if (chance(600))
        sched.run();
    }
    for (int k = 0; k < 300; ++k)
      caf::anon_send(current, credit{0, 1, 0});
    sched.run();

    // Every record once, and every repeat the record first seen at its sequence number.
    std::vector<int64_t> all, seen;
    for (const auto& [value, barrier] : epoch_of)
      all.push_back(value);
    uint64_t expected_seq = 0;
    std::string why;
    for (const auto& [seq, value] : got->data) {
      if (seq != expected_seq++)
        why = "sequence numbers skip to " + std::to_string(seq);
      seen.push_back(value);
    }
    for (const auto& [seq, value] : got->repeats)
      if (got->data[seq] != value)
        why = "sequence number " + std::to_string(seq) + " carried " +
              std::to_string(got->data[seq]) + " and then " + std::to_string(value);
    // Each input's records in order along the sequence numbers.
    int64_t last_of[2] = {-1, -1};
    for (const auto& [seq, value] : got->data) {
      auto in = value >= 1'000 ? 1 : 0;
      if (value <= last_of[in])
        why = "input " + std::to_string(in) + " out of order at " + std::to_string(value);
      last_of[in] = value;
    }
    // Every barrier that arrived, from any incarnation, sits after exactly the records that
    // preceded it upstream.
    for (const auto& [id, at] : got->barriers)
      for (const auto& [seq, value] : got->data)
        if ((seq < at) != (epoch_of[value] <= id))
          why = "record " + std::to_string(value) + " is on the wrong side of barrier " +
                std::to_string(id);
    std::sort(seen.begin(), seen.end());
    INFO(why << " (" << kills << " kills, " << got->repeats.size() << " records repeated)");
    CHECK(why.empty());
    CHECK(got->watermark_error.empty());
    CHECK(seen == all);
    CHECK(got->ended);
    for (auto* x : {&up[0], &up[1], &sink, &keeper_actor, &current})
      caf::anon_send_exit(*x, caf::exit_reason::user_shutdown);
    sched.run();
    if (!why.empty() || seen != all || !got->ended)
      break; // one failing seed is enough to replay
  }
}
