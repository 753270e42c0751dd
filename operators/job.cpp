#include <eddy/operators/job.hpp>

#include <eddy/actors/atoms.hpp>
#include <eddy/operators/internal/dead_letter_logic.hpp>

#include <caf/all.hpp>

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
    n.register_types = internal::register_batch<dead_letter>;
    g_->nodes.push_back(std::move(n));
    dead_letter_node_ = g_->nodes.size() - 1;
  }
  return stream<dead_letter>{g_, {*dead_letter_node_}};
}

caf::error job::validate() {
  std::vector<size_t> order;
  return prepare(order);
}

caf::error job::prepare(std::vector<size_t>& order) {
  auto& nodes = g_->nodes;
  auto invalid = [](std::string what) { return make_error(errc::invalid_topology, what); };
  if (!g_->mistakes.empty())
    return invalid(g_->mistakes.front());
  if (nodes.empty())
    return invalid("the job has no operators: add a source with job.source(...) and a sink");
  if (cfg_.parallelism == 0)
    return invalid("job_config.parallelism is 0: give it at least 1");
  if (cfg_.channels.batch_size == 0 || cfg_.channels.initial_credit == 0)
    return invalid("channel_config: batch_size and initial_credit must be at least 1");
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
    if (!n.is_sink && n.consumers.empty() && n.kind != "dead_letters")
      return invalid("the output of operator '" + n.name + "' (" + n.kind +
                     ") is never consumed: add a sink to it or remove it");
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
  for (auto& n : nodes)
    indegree[n.id] = n.inputs.size();
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
  }
  for (auto& n : nodes)
    if (n.check)
      if (auto err = n.check())
        return err;
  return caf::none;
}

caf::expected<job_report> job::run() {
  std::vector<size_t> order;
  if (auto err = prepare(order))
    return err;
  auto& nodes = g_->nodes;

  caf::actor_system_config sys_cfg;
  auto threads =
      cfg_.threads != 0 ? cfg_.threads : std::max<size_t>(2, std::thread::hardware_concurrency());
  sys_cfg.set("scheduler.max-threads", threads);
  sys_cfg.add_message_type<control>("eddy.control");
  sys_cfg.add_message_type<credit>("eddy.credit");
  sys_cfg.add_message_type<dead_letter>("eddy.dead_letter");
  sys_cfg.add_message_type<metrics_snapshot>("eddy.metrics_snapshot");
  for (auto& n : nodes)
    if (n.register_types)
      n.register_types(sys_cfg);
  caf::actor_system sys{sys_cfg};

  // Inputs of every consumer instance: each edge contributes one channel (forward) or one per
  // upstream instance, in the order of the edges.
  std::vector<std::vector<uint32_t>> edge_base(nodes.size());
  std::vector<uint32_t> input_count(nodes.size(), 0);
  for (auto& n : nodes) {
    uint32_t base = 0;
    for (auto& e : n.inputs) {
      edge_base[n.id].push_back(base);
      base += e.kind == partitioning::forward ? 1 : nodes[e.from].parallelism;
    }
    input_count[n.id] = base;
  }

  // Spawn sinks first, so every task knows its downstream actors when it is created.
  std::vector<std::vector<caf::actor>> actors(nodes.size());
  std::vector<std::shared_ptr<instance_metrics>> all_metrics;
  std::vector<caf::actor> dead_letter_pipeline;
  std::set<size_t> dl_nodes;
  if (dead_letter_node_) {
    std::vector<size_t> todo{*dead_letter_node_};
    while (!todo.empty()) {
      auto id = todo.back();
      todo.pop_back();
      if (dl_nodes.insert(id).second)
        for (auto c : nodes[id].consumers)
          todo.push_back(c);
    }
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    auto& n = nodes[*it];
    for (uint32_t i = 0; i < n.parallelism; ++i) {
      internal::instance_wiring wiring;
      wiring.timed = n.timed;
      for (auto c : n.consumers) {
        auto& consumer = nodes[c];
        for (size_t k = 0; k < consumer.inputs.size(); ++k) {
          auto& e = consumer.inputs[k];
          if (e.from != n.id)
            continue;
          internal::out_edge out;
          out.kind = e.kind;
          out.key_hash = e.key_hash;
          auto base = edge_base[c][k];
          if (e.kind == partitioning::forward)
            out.targets.push_back({actors[c][i], base});
          else
            for (auto& dest : actors[c])
              out.targets.push_back({dest, base + i});
          wiring.outputs.push_back(std::move(out));
        }
      }
      task_spec spec;
      spec.name = n.name;
      spec.instance = i;
      spec.parallelism = n.parallelism;
      spec.inputs = input_count[n.id];
      spec.channels = cfg_.channels;
      spec.on_error = n.on_error;
      spec.metrics = std::make_shared<instance_metrics>(n.name, i);
      all_metrics.push_back(spec.metrics);
      auto make = n.make;
      spec.make_logic = [make, i, wiring](task& t) { return make(t, i, wiring); };
      actors[n.id].push_back(sys.spawn<task>(std::move(spec)));
    }
  }
  {
    std::lock_guard<std::mutex> guard{live_mtx_};
    live_ = all_metrics;
  }

  caf::scoped_actor self{sys};
  auto coordinator = caf::actor_cast<caf::actor>(self);
  caf::actor dead_letter_actor = coordinator;
  if (dead_letter_node_)
    dead_letter_actor = actors[*dead_letter_node_].front();
  size_t total = 0;
  size_t main_total = 0;
  for (auto& n : nodes) {
    total += n.parallelism;
    if (dl_nodes.count(n.id) == 0)
      main_total += n.parallelism;
  }
  auto start = std::chrono::steady_clock::now();
  for (auto& instances : actors)
    for (auto& a : instances) {
      self->monitor(a);
      self->send(a, start_atom::value, coordinator, dead_letter_actor);
    }

  job_report report;
  caf::error failure;
  size_t done = 0;
  size_t main_done = 0;
  std::set<caf::actor_addr> finished;
  bool running = true;
  self->receive_while(running)(
      [&](done_atom, metrics_snapshot& m) {
        finished.insert(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        auto in_dl = std::any_of(dl_nodes.begin(), dl_nodes.end(),
                                 [&](size_t id) { return nodes[id].name == m.op; });
        report.metrics.push_back(std::move(m));
        ++done;
        if (!in_dl && ++main_done == main_total && dead_letter_node_)
          self->send(actors[*dead_letter_node_].front(), drain_atom::value);
        running = done < total;
      },
      [&](failed_atom, std::string& reason) {
        failure = make_error(errc::job_failed, std::move(reason));
        running = false;
      },
      [&](dead_letter& x) { report.dead_letters.push_back(std::move(x)); },
      [&](caf::down_msg& x) {
        if (finished.count(x.source) == 0 && x.reason) {
          failure = make_error(errc::job_failed, "an operator instance stopped unexpectedly: " +
                                                     sys.render(x.reason));
          running = false;
        }
      });
  report.elapsed = std::chrono::steady_clock::now() - start;
  if (failure) {
    for (auto& instances : actors)
      for (auto& a : instances)
        self->send_exit(a, caf::exit_reason::user_shutdown);
    return failure;
  }
  // Dead letters precede their task's done message (CAF keeps per-sender order).
  std::sort(report.metrics.begin(), report.metrics.end(), [](const auto& x, const auto& y) {
    return std::tie(x.op, x.instance) < std::tie(y.op, y.instance);
  });
  return report;
}

std::vector<metrics_snapshot> job::metrics() const {
  std::lock_guard<std::mutex> guard{live_mtx_};
  std::vector<metrics_snapshot> result;
  for (const auto& m : live_)
    result.push_back(m->snapshot());
  return result;
}

} // namespace eddy
