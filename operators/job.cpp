#include <eddy/operators/job.hpp>

#include <eddy/actors/atoms.hpp>
#include <eddy/operators/internal/dead_letter_logic.hpp>
#include <eddy/operators/internal/remote.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace eddy {

// -- job_report -----------------------------------------------------------------------------------

uint64_t job_report::records_in(const std::string& op) const {
  uint64_t n = 0;
  for (const auto& m : metrics)
    if (m.op == op)
      n += m.records_in;
  return n;
}

uint64_t job_report::records_out(const std::string& op) const {
  uint64_t n = 0;
  for (const auto& m : metrics)
    if (m.op == op)
      n += m.records_out;
  return n;
}

uint64_t job_report::dead_letter_count() const {
  uint64_t n = 0;
  for (const auto& m : metrics)
    n += m.dead_letters;
  return n;
}

uint64_t job_report::late_record_count() const {
  uint64_t n = 0;
  for (const auto& m : metrics)
    n += m.late_records;
  return n;
}

std::string job_report::summary() const {
  std::map<std::string, metrics_snapshot> per_op;
  std::vector<std::string> order;
  for (const auto& m : metrics) {
    auto [it, added] = per_op.emplace(m.op, metrics_snapshot{});
    if (added)
      order.push_back(m.op);
    auto& s = it->second;
    s.records_in += m.records_in;
    s.records_out += m.records_out;
    s.batches_in += m.batches_in;
    s.batches_out += m.batches_out;
    s.dead_letters += m.dead_letters;
    s.credit_wait_ns += m.credit_wait_ns;
    s.peak_queued = std::max(s.peak_queued, m.peak_queued);
    ++s.instance;
  }
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof(line), "%-20s %4s %14s %14s %10s %8s %12s\n", "operator", "inst",
                "records in", "records out", "batches", "dead", "credit wait");
  out << line;
  for (const auto& op : order) {
    const auto& s = per_op[op];
    std::snprintf(line, sizeof(line), "%-20s %4u %14llu %14llu %10llu %8llu %10.1fms\n", op.c_str(),
                  s.instance, static_cast<unsigned long long>(s.records_in),
                  static_cast<unsigned long long>(s.records_out),
                  static_cast<unsigned long long>(s.batches_in + s.batches_out),
                  static_cast<unsigned long long>(s.dead_letters), s.credit_wait_ns / 1e6);
    out << line;
  }
  std::snprintf(line, sizeof(line), "elapsed %.3f s\n", elapsed.count() / 1e9);
  out << line;
  return out.str();
}

// -- job
// --------------------------------------------------------------------------------------------

job::job(job_config cfg)
    : cfg_(std::move(cfg))
    , g_(std::make_shared<internal::graph>()) {}

stream<dead_letter> job::dead_letters() {
  if (!dead_letter_node_) {
    internal::node n;
    n.id = g_->nodes.size();
    n.kind = "dead_letters";
    n.name = "dead-letters";
    n.is_source = true;
    n.parallelism = 1;
    n.max_parallelism = 1;
    n.out_type = typeid(dead_letter);
    n.make = [](task& t, uint32_t, const internal::instance_wiring& w) {
      return std::make_unique<internal::dead_letter_logic>(t, w);
    };
    g_->nodes.push_back(std::move(n));
    dead_letter_node_ = g_->nodes.size() - 1;
  }
  return stream<dead_letter>{g_, {*dead_letter_node_}};
}

std::function<int64_t()> job::processing_clock() const {
  if (cfg_.processing_clock)
    return cfg_.processing_clock;
  return [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

caf::error job::validate() {
  std::vector<size_t> order;
  return prepare(order);
}

caf::error job::prepare(std::vector<size_t>& order, bool run_checks) {
  auto& nodes = g_->nodes;
  auto invalid = [](std::string what) { return make_error(errc::invalid_topology, what); };
  // Whether some operator takes output `port` of node `id`.
  auto consumed = [&](size_t id, uint32_t port) {
    return std::any_of(nodes[id].consumers.begin(), nodes[id].consumers.end(), [&](size_t c) {
      return std::any_of(nodes[c].inputs.begin(), nodes[c].inputs.end(),
                         [&](auto& e) { return e.from == id && e.port == port; });
    });
  };
  if (!g_->mistakes.empty())
    return invalid(g_->mistakes.front());
  if (nodes.empty())
    return invalid("the job has no operators: add a source with job.source(...) and a sink");
  if (cfg_.parallelism == 0)
    return invalid("job_config.parallelism is 0: give it at least 1");
  if (cfg_.channels.batch_bytes == 0 || cfg_.channels.initial_credit == 0)
    return invalid("channel_config: batch_bytes and initial_credit must be at least 1");
  if (cfg_.channels.key_groups == 0)
    return invalid("channel_config.key_groups is 0: give it at least the largest parallelism of "
                   "a keyed operator (default 128)");
  std::set<std::string> names;
  for (auto& n : nodes)
    if (!names.insert(n.name).second)
      return invalid("two operators are named '" + n.name +
                     "': names identify operators in metrics and placement, make them unique");
  for (auto& n : nodes) {
    if (n.parallelism == 0)
      n.parallelism = cfg_.parallelism;
    if (n.max_parallelism != 0 && n.parallelism > n.max_parallelism) {
      if (n.kind == "source" && n.parallelism == cfg_.parallelism)
        n.parallelism = n.max_parallelism; // the job's default does not apply to a file source
      else
        return invalid("operator '" + n.name + "' supports at most " +
                       std::to_string(n.max_parallelism) + " instance(s) but was given " +
                       std::to_string(n.parallelism) + ": lower its parallelism");
    }
    if (!n.is_sink && !consumed(n.id, 0))
      return invalid("the output of operator '" + n.name + "' (" + n.kind +
                     ") is never consumed: add a sink to it or remove it");
    for (uint32_t p = 1; p <= n.side_outputs.size(); ++p)
      if (!consumed(n.id, p))
        return invalid("the side output '" + n.side_outputs[p - 1].name + "' of operator '" +
                       n.name +
                       "' is never consumed: take it with .side_output(tag) and add "
                       "a sink to it, or do not ask for it");
    if (!n.is_source && n.inputs.empty())
      return invalid("operator '" + n.name + "' has no input");
  }
  for (auto& n : nodes)
    for (auto& e : n.inputs) {
      auto& up = nodes[e.from];
      if (e.kind == partitioning::forward && up.parallelism != n.parallelism) {
        if (e.explicit_kind)
          return invalid("operator '" + n.name + "' takes its input forward from '" + up.name +
                         "' but their parallelism differs (" + std::to_string(up.parallelism) +
                         " vs " + std::to_string(n.parallelism) +
                         "): use rebalance() or key_by(), or give both the same parallelism");
        e.kind = partitioning::rebalance;
      }
    }
  // Topological order (Kahn); what is left over is a cycle.
  std::vector<size_t> indegree(nodes.size());
  for (auto& n : nodes) {
    std::set<size_t> from; // a stream united with itself is one dependency
    for (auto& e : n.inputs)
      from.insert(e.from);
    indegree[n.id] = from.size();
  }
  order.clear();
  for (auto& n : nodes)
    if (indegree[n.id] == 0)
      order.push_back(n.id);
  for (size_t i = 0; i < order.size(); ++i)
    for (auto c : nodes[order[i]].consumers)
      if (--indegree[c] == 0)
        order.push_back(c);
  if (order.size() != nodes.size())
    return invalid("the topology has a cycle: eddy runs directed acyclic graphs only");
  for (auto id : order) {
    auto& n = nodes[id];
    for (auto& e : n.inputs)
      n.timed = n.timed || nodes[e.from].timed;
    if (n.needs_event_time && !std::all_of(n.inputs.begin(), n.inputs.end(),
                                           [&](auto& e) { return nodes[e.from].timed; }))
      return invalid("operator '" + n.name +
                     "' works in event time but its input has none: give the source "
                     "with_event_time(...)");
  }
  if (auto err = cfg_.state_backend.validate())
    return err;
  for (auto& n : nodes)
    if (n.state_backend)
      if (auto err = n.state_backend->validate())
        return make_error(errc::invalid_topology, "operator '" + n.name + "': " + describe(err));
  for (auto& n : nodes)
    for (auto& e : n.inputs)
      if (e.kind == partitioning::hash && n.parallelism > cfg_.channels.key_groups)
        return invalid("operator '" + n.name + "' is keyed and has " +
                       std::to_string(n.parallelism) + " instances, more than the " +
                       std::to_string(cfg_.channels.key_groups) +
                       " key groups: raise channel_config.key_groups or lower its parallelism");
  // Sources and sinks check their files where they run: here unless placed on a worker.
  for (auto& n : nodes)
    if (run_checks && n.check && cfg_.placement.count(n.name) == 0)
      if (auto err = n.check())
        return err;
  return caf::none;
}

namespace {

/// Registers every message type of the job's protocol and of its edges, and the middleman
/// when messages cross processes.
void configure(caf::actor_system_config& cfg, const job_config& job_cfg, const internal::graph& g,
               bool network) {
  auto threads = job_cfg.threads != 0 ? job_cfg.threads
                                      : std::max<size_t>(2, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  cfg.add_message_type<control>("eddy.control");
  cfg.add_message_type<credit>("eddy.credit");
  cfg.add_message_type<dead_letter>("eddy.dead_letter");
  internal::register_batch<dead_letter>(cfg); // every task's dead-letter channel
  cfg.add_message_type<metrics_snapshot>("eddy.metrics_snapshot");
  cfg.add_message_type<internal::spawn_request>("eddy.spawn_request");
  for (auto& n : g.nodes) {
    if (n.register_types)
      n.register_types(cfg);
    for (auto& side : n.side_outputs)
      side.register_types(cfg);
  }
  if (network) {
    cfg.load<caf::io::middleman>();
    // Failure detection is off in CAF by default: a silent peer would hang the job forever.
    cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{500}});
    cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds{5}});
  }
}

/// The spec of instance `i` of `n`; `wiring` holds its outgoing channels.
task_spec make_spec(const internal::node& n, uint32_t i, uint32_t inputs,
                    const channel_config& channels, internal::instance_wiring wiring,
                    caf::actor coordinator, caf::actor dead_letters, uint32_t dead_letter_input) {
  task_spec spec;
  spec.coordinator = std::move(coordinator);
  spec.dead_letters = std::move(dead_letters);
  spec.dead_letter_input = dead_letter_input;
  spec.name = n.name;
  spec.instance = i;
  spec.parallelism = n.parallelism;
  spec.inputs = inputs;
  spec.channels = channels;
  spec.on_error = n.on_error;
  spec.metrics = std::make_shared<instance_metrics>(n.name, i);
  auto make = n.make;
  spec.make_logic = [make, i, wiring = std::move(wiring)](task& t) { return make(t, i, wiring); };
  return spec;
}

/// The request that spawns instance `i` of `n` on a worker.
internal::spawn_request make_request(const internal::node& n, uint32_t i, uint32_t inputs,
                                     const channel_config& channels,
                                     const internal::instance_wiring& wiring,
                                     caf::actor coordinator, caf::actor dead_letters,
                                     uint32_t dead_letter_input) {
  internal::spawn_request r;
  r.coordinator = std::move(coordinator);
  r.dead_letters = std::move(dead_letters);
  r.dead_letter_input = dead_letter_input;
  r.node = static_cast<uint32_t>(n.id);
  r.name = n.name;
  r.kind = n.kind;
  r.out_type = n.out_type.name();
  r.instance = i;
  r.parallelism = n.parallelism;
  r.inputs = inputs;
  r.timed = wiring.timed;
  r.on_error = static_cast<uint8_t>(n.on_error);
  r.batch_size = channels.batch_size;
  r.batch_bytes = channels.batch_bytes;
  r.linger_ns = channels.linger.count();
  r.idle_ns = channels.idle_timeout.count();
  r.credit = channels.initial_credit;
  r.key_groups = channels.key_groups;
  r.input_edges = wiring.input_edges;
  for (const auto& e : wiring.outputs) {
    internal::remote_edge re;
    re.kind = static_cast<uint8_t>(e.kind);
    re.consumer = static_cast<uint32_t>(e.consumer);
    re.edge = static_cast<uint32_t>(e.edge);
    re.port = e.port;
    for (const auto& t : e.targets) {
      re.dests.push_back(t.dest);
      re.inputs.push_back(t.input);
    }
    r.outputs.push_back(std::move(re));
  }
  return r;
}

} // namespace

caf::expected<job_report> job::run() {
  std::vector<size_t> order;
  if (auto err = prepare(order))
    return err;
  auto& nodes = g_->nodes;
  for (const auto& [op, node_name] : cfg_.placement) {
    if (cfg_.nodes.count(node_name) == 0)
      return make_error(errc::invalid_topology,
                        "operator '" + op + "' is placed on node '" + node_name +
                            "', which is not declared: add it with job_config.with_node(\"" +
                            node_name + "\", host, port)");
    if (std::none_of(nodes.begin(), nodes.end(), [&](auto& n) { return n.name == op; }))
      return make_error(errc::invalid_topology, "job_config.place names operator '" + op +
                                                    "', which the job does not have");
  }

  caf::actor_system_config sys_cfg;
  configure(sys_cfg, cfg_, *g_, !cfg_.placement.empty());
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};

  // The workers this job uses.
  std::map<std::string, caf::actor> workers;
  for (const auto& [op, node_name] : cfg_.placement) {
    if (workers.count(node_name) != 0)
      continue;
    auto& [host, port] = cfg_.nodes[node_name];
    auto worker = sys.middleman().remote_actor(host, port);
    if (!worker)
      return make_error(errc::remote_failure, "cannot reach node '" + node_name + "' at " + host +
                                                  ':' + std::to_string(port) + " (" +
                                                  sys.render(worker.error()) +
                                                  "): start it there with job.serve(port) first");
    workers[node_name] = *worker;
  }
  auto shutdown_workers = [&] {
    for (auto& [name, w] : workers)
      self->send(w, internal::shutdown_atom::value);
  };

  // Inputs of every consumer instance: each edge contributes one channel (forward) or one per
  // upstream instance, in the order of the edges.
  std::vector<std::vector<uint32_t>> edge_base(nodes.size());
  std::vector<uint32_t> input_count(nodes.size(), 0);
  // The incoming edge of every input channel (two-input operators tell their sides apart by it).
  std::vector<std::vector<uint32_t>> input_edges(nodes.size());
  for (auto& n : nodes) {
    uint32_t base = 0;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      auto& e = n.inputs[k];
      edge_base[n.id].push_back(base);
      auto channels = e.kind == partitioning::forward ? 1 : nodes[e.from].parallelism;
      base += channels;
      input_edges[n.id].insert(input_edges[n.id].end(), channels, static_cast<uint32_t>(k));
    }
    input_count[n.id] = base;
  }

  // The dead-letter pipeline: the dead-letter source and everything downstream of it.
  std::set<std::string> dl_ops;
  if (dead_letter_node_) {
    std::vector<size_t> todo{*dead_letter_node_};
    while (!todo.empty()) {
      auto id = todo.back();
      todo.pop_back();
      if (dl_ops.insert(nodes[id].name).second)
        for (auto c : nodes[id].consumers)
          todo.push_back(c);
    }
  }

  // The dead-letter task has one input per instance outside the dead-letter pipeline: each
  // task's dead-letter channel.
  size_t total = 0;
  size_t main_total = 0;
  for (auto& n : nodes) {
    total += n.parallelism;
    if (dl_ops.count(n.name) == 0)
      main_total += n.parallelism;
  }
  if (dead_letter_node_)
    input_count[*dead_letter_node_] = static_cast<uint32_t>(main_total);
  uint32_t next_dl_input = 0;

  // Spawn sinks first, so every task knows its downstream actors when it is created; and the
  // dead-letter pipeline before everything else, so every task knows where dead letters go.
  // (The dead-letter pipeline's own dead letters go to the coordinator.)
  auto coordinator = caf::actor_cast<caf::actor>(self);
  std::vector<size_t> spawn_order;
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (dl_ops.count(nodes[*it].name) != 0)
      spawn_order.push_back(*it);
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (dl_ops.count(nodes[*it].name) == 0)
      spawn_order.push_back(*it);
  std::vector<std::vector<caf::actor>> actors(nodes.size());
  std::vector<std::shared_ptr<instance_metrics>> all_metrics;
  caf::error failure;
  for (auto it = spawn_order.begin(); it != spawn_order.end() && !failure; ++it) {
    auto& n = nodes[*it];
    auto placed = cfg_.placement.find(n.name);
    // The dead-letter pipeline, spawned first, exists when the first other node is spawned.
    bool to_coordinator = !dead_letter_node_ || dl_ops.count(n.name) != 0;
    auto dead_letters = to_coordinator ? coordinator : actors[*dead_letter_node_].front();
    for (uint32_t i = 0; i < n.parallelism && !failure; ++i) {
      auto dl_input = to_coordinator ? 0 : next_dl_input++;
      internal::instance_wiring wiring;
      wiring.timed = n.timed;
      wiring.state_backend = n.state_backend.value_or(cfg_.state_backend);
      wiring.processing_clock = processing_clock();
      wiring.input_edges = input_edges[n.id];
      wiring.first_side_edges = n.first_side_edges;
      for (auto c : n.consumers) {
        auto& consumer = nodes[c];
        for (size_t k = 0; k < consumer.inputs.size(); ++k) {
          auto& e = consumer.inputs[k];
          if (e.from != n.id)
            continue;
          internal::out_edge out;
          out.consumer = c;
          out.edge = k;
          out.kind = e.kind;
          out.key_hash = e.key_hash;
          out.port = e.port;
          auto base = edge_base[c][k];
          if (e.kind == partitioning::forward)
            out.targets.push_back({actors[c][i], base});
          else
            for (auto& dest : actors[c])
              out.targets.push_back({dest, base + i});
          wiring.outputs.push_back(std::move(out));
        }
      }
      if (placed == cfg_.placement.end()) {
        auto spec = make_spec(n, i, input_count[n.id], cfg_.channels, std::move(wiring),
                              coordinator, dead_letters, dl_input);
        all_metrics.push_back(spec.metrics);
        actors[n.id].push_back(sys.spawn<task>(std::move(spec)));
        continue;
      }
      auto request = make_request(n, i, input_count[n.id], cfg_.channels, wiring, coordinator,
                                  dead_letters, dl_input);
      self->request(workers[placed->second], std::chrono::seconds{30}, internal::spawn_atom::value,
                    std::move(request))
          .receive([&](caf::actor& a) { actors[n.id].push_back(std::move(a)); },
                   [&](caf::error& err) {
                     failure = make_error(errc::remote_failure, "node '" + placed->second +
                                                                    "' could not start '" + n.name +
                                                                    "': " + describe(err));
                   });
    }
  }
  if (failure) {
    for (auto& instances : actors)
      for (auto& a : instances)
        self->send_exit(a, caf::exit_reason::user_shutdown);
    shutdown_workers();
    return failure;
  }
  {
    std::lock_guard<std::mutex> guard{live_mtx_};
    live_ = all_metrics;
  }

  auto start = std::chrono::steady_clock::now();
  for (auto& instances : actors)
    for (auto& a : instances)
      self->monitor(a);
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    for (auto& a : actors[*it])
      self->send(a, start_atom::value);

  job_report report;
  size_t done = 0;
  std::set<caf::actor_addr> finished;
  bool running = true;
  self->receive_while(running)(
      [&](done_atom, metrics_snapshot& m) {
        finished.insert(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        report.metrics.push_back(std::move(m));
        ++done;
        running = done < total;
      },
      // Dead letters of tasks with no dead-letter stream to feed, in batches under credit.
      [&](batch<dead_letter>& b) {
        for (auto& x : b.items) {
          if (report.dead_letters.size() < cfg_.kept_dead_letters)
            report.dead_letters.push_back(std::move(x));
          else
            ++report.dead_letters_not_kept;
        }
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), credit{b.origin, 1});
      },
      [&](control&) {}, // the end of a dead-letter channel
      [&](failed_atom, std::string& reason) {
        failure = make_error(errc::job_failed, std::move(reason));
        running = false;
      },
      [&](caf::down_msg& x) {
        // A task reports done before it quits, so one that is gone without reporting failed
        // (or its process or connection did).
        if (finished.count(x.source) == 0) {
          failure = make_error(errc::job_failed,
                               "an operator instance stopped unexpectedly (" +
                                   (x.reason ? sys.render(x.reason) : std::string{"no reason"}) +
                                   "): if it ran on a worker, check that process");
          running = false;
        }
      });
  report.elapsed = std::chrono::steady_clock::now() - start;
  // Dead letters precede their task's done message (CAF keeps per-sender order).
  if (failure)
    for (auto& instances : actors)
      for (auto& a : instances)
        self->send_exit(a, caf::exit_reason::user_shutdown);
  shutdown_workers();
  if (failure)
    return failure;
  // Metrics in topological order, then by instance.
  std::map<std::string, size_t> rank;
  for (size_t k = 0; k < order.size(); ++k)
    rank[nodes[order[k]].name] = k;
  std::sort(report.metrics.begin(), report.metrics.end(), [&](const auto& x, const auto& y) {
    return std::make_pair(rank[x.op], x.instance) < std::make_pair(rank[y.op], y.instance);
  });
  return report;
}

caf::error job::serve(uint16_t port, std::function<void(uint16_t)> ready,
                      const std::string& bind_address) {
  std::vector<size_t> order;
  if (auto err = prepare(order, false))
    return err;
  caf::actor_system_config sys_cfg;
  configure(sys_cfg, cfg_, *g_, true);
  caf::actor_system sys{sys_cfg};
  auto g = g_;
  auto state_backend = cfg_.state_backend;
  auto clock = processing_clock();
  // g is passed as a spawn argument rather than captured: CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without arguments (UBSan reports it).
  struct spawner_state {
    caf::actor coordinator;
    std::vector<caf::actor> tasks;
  };
  auto spawner = sys.spawn(
      [state_backend, clock](caf::event_based_actor* self,
                             std::shared_ptr<internal::graph> g) -> caf::behavior {
        auto state = std::make_shared<spawner_state>();
        // A coordinator that dies or is cut off takes the worker's part of the job with it.
        self->set_down_handler([self, state](caf::down_msg& x) {
          if (x.source != state->coordinator)
            return;
          for (auto& t : state->tasks)
            self->send_exit(t, caf::exit_reason::user_shutdown);
          self->quit();
        });
        return {
            [self, g, state, state_backend,
             clock](internal::spawn_atom, internal::spawn_request& r) -> caf::result<caf::actor> {
              if (r.node >= g->nodes.size() || g->nodes[r.node].name != r.name ||
                  g->nodes[r.node].kind != r.kind || g->nodes[r.node].out_type.name() != r.out_type)
                return make_error(errc::remote_failure,
                                  "this worker's job has no operator '" + r.name + "' (" + r.kind +
                                      ") at position " + std::to_string(r.node) +
                                      ": both processes must build the same job");
              const auto& n = g->nodes[r.node];
              if (n.check)
                if (auto err = n.check())
                  return err;
              // The first requester is the job's coordinator: when it goes, so does the job.
              if (!state->coordinator && r.coordinator) {
                state->coordinator = r.coordinator;
                self->monitor(r.coordinator);
              }
              internal::instance_wiring wiring;
              wiring.timed = r.timed;
              wiring.state_backend = n.state_backend.value_or(state_backend);
              wiring.processing_clock = clock;
              wiring.input_edges = r.input_edges;
              wiring.first_side_edges = n.first_side_edges;
              for (auto& re : r.outputs) {
                internal::out_edge e;
                e.consumer = re.consumer;
                e.edge = re.edge;
                e.kind = static_cast<partitioning>(re.kind);
                e.port = re.port;
                if (re.consumer < g->nodes.size() && re.edge < g->nodes[re.consumer].inputs.size())
                  e.key_hash = g->nodes[re.consumer].inputs[re.edge].key_hash;
                for (size_t k = 0; k < re.dests.size() && k < re.inputs.size(); ++k)
                  e.targets.push_back({re.dests[k], re.inputs[k]});
                wiring.outputs.push_back(std::move(e));
              }
              channel_config channels;
              channels.batch_size = r.batch_size;
              channels.batch_bytes = r.batch_bytes;
              channels.linger = caf::timespan{r.linger_ns};
              channels.idle_timeout = caf::timespan{r.idle_ns};
              channels.initial_credit = r.credit;
              channels.key_groups = r.key_groups;
              auto copy = n;
              copy.parallelism = r.parallelism;
              copy.on_error = static_cast<error_policy>(r.on_error);
              auto t =
                  self->spawn<task>(make_spec(copy, r.instance, r.inputs, channels, wiring,
                                              r.coordinator, r.dead_letters, r.dead_letter_input));
              state->tasks.push_back(t);
              return t;
            },
            [self](internal::shutdown_atom) { self->quit(); },
        };
      },
      g);
  auto bound =
      sys.middleman().publish(spawner, port, bind_address.empty() ? nullptr : bind_address.c_str());
  if (!bound) {
    caf::anon_send_exit(spawner, caf::exit_reason::user_shutdown);
    return make_error(errc::remote_failure, "cannot listen on port " + std::to_string(port) + ": " +
                                                sys.render(bound.error()));
  }
  if (ready)
    ready(*bound);
  caf::scoped_actor self{sys};
  self->wait_for(spawner);
  return caf::none;
}

std::vector<metrics_snapshot> job::metrics() const {
  std::lock_guard<std::mutex> guard{live_mtx_};
  std::vector<metrics_snapshot> result;
  for (const auto& m : live_)
    result.push_back(m->snapshot());
  return result;
}

} // namespace eddy
