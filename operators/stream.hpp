// A typed stream of records in a job under construction, with the fluent operator API.
//
//   auto counts = job.source(eddy::generator<bid>(n, make_bid))
//                   .map([](const bid& b) { return b.price; }).name("price").parallelism(2)
//                   .filter([](const int64_t& p) { return p > 5000; });
//   counts.sink(eddy::collect(out));
//
// `name`, `parallelism` and `on_error` configure the operator that produced the stream.
// `key_by`, `rebalance` and `broadcast` say how the next operator's instances share the records;
// by default an operator takes its input forward (instance i to instance i) when both sides have
// the same parallelism and round-robin otherwise. Records need an `inspect` overload (CAF's), so
// every edge can cross a process boundary.
#pragma once

#include <eddy/actors/type_name.hpp>
#include <eddy/operators/filter.hpp>
#include <eddy/operators/internal/graph.hpp>
#include <eddy/operators/map.hpp>
#include <eddy/operators/process.hpp>
#include <eddy/operators/side_output.hpp>
#include <eddy/operators/sink.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/detail/type_traits.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace eddy {

template <class T, class KeyF>
class keyed_stream;
template <class A, class B>
class connected_streams;
template <class R, class K, class V>
class broadcast_stream;
template <class A, class B>
class join_builder;

namespace internal {

/// Registers `batch<T>` with CAF under a name that is the same in every process.
template <class T>
void register_batch(caf::actor_system_config& cfg) {
  cfg.add_message_type<batch<T>>("eddy.batch<" + type_name<T>() + ">");
}

/// Declares side output `name` (records of type `S`) of node `id`; returns its port.
template <class S>
uint32_t declare_side_output(graph& g, size_t id, const std::string& name) {
  auto& n = g.nodes[id];
  for (const auto& p : n.side_outputs)
    if (p.name == name)
      g.mistakes.push_back("operator '" + n.name + "' has two side outputs named '" + name +
                           "': give each its own output_tag name");
  n.side_outputs.push_back(side_port{name, typeid(S), register_batch<S>});
  return static_cast<uint32_t>(n.side_outputs.size());
}

template <class T>
inline constexpr bool is_record_v =
    caf::detail::is_serializable<T>::value || caf::allowed_unsafe_message_type<T>::value;

} // namespace internal

/// The end of a pipeline: a sink, whose name and parallelism can still be set.
class sink_ref {
public:
  sink_ref(std::shared_ptr<internal::graph> g, size_t id)
      : g_(std::move(g))
      , id_(id) {}

  sink_ref& name(std::string x) {
    g_->nodes[id_].name = std::move(x);
    return *this;
  }

  sink_ref& parallelism(uint32_t n) {
    g_->nodes[id_].parallelism = n;
    if (n == 0)
      g_->mistakes.push_back("sink '" + g_->nodes[id_].name +
                             "' has parallelism 0: give it at least 1");
    return *this;
  }

  sink_ref& on_error(error_policy p) {
    g_->nodes[id_].on_error = p;
    return *this;
  }

  /// The sink's own buffer-debloating target (see stream::debloat_target).
  sink_ref& debloat_target(caf::timespan t) {
    g_->nodes[id_].debloat_target = t;
    if (t.count() < 0)
      g_->mistakes.push_back("sink '" + g_->nodes[id_].name + "' has a negative debloat target");
    return *this;
  }

private:
  std::shared_ptr<internal::graph> g_;
  size_t id_;
};

/// A stream of `T`s.
template <class T>
class stream {
public:
  static_assert(internal::is_record_v<T>,
                "eddy: a stream's record type needs an inspect overload, e.g. "
                "template <class F> auto inspect(F& f, my_record& x) { return f(x.a, x.b); }");

  using value_type = T;

  stream(std::shared_ptr<internal::graph> g, std::vector<size_t> from)
      : g_(std::move(g)) {
    for (auto id : from)
      edges_.push_back(internal::edge_spec{id, partitioning::forward, nullptr, false});
  }

  // -- configuring the operator that produced this stream --------------------------------------

  /// Names the operator (in metrics, dead letters and errors).
  stream& name(std::string x) {
    for_producer("name", [&](internal::node& n) { n.name = x; });
    return *this;
  }

  /// Sets the operator's number of instances (actors).
  stream& parallelism(uint32_t p) {
    for_producer("parallelism", [&](internal::node& n) {
      n.parallelism = p;
      if (p == 0)
        g_->mistakes.push_back("operator '" + n.name + "' has parallelism 0: give it at least 1");
    });
    return *this;
  }

  /// What the operator does when its user function throws.
  stream& on_error(error_policy p) {
    for_producer("on_error", [&](internal::node& n) { n.on_error = p; });
    return *this;
  }

  /// The operator's own buffer-debloating target instead of the job's
  /// (job_config::with_debloat_target): it sizes the batches sent to it so that about `t` of its
  /// work is in flight per input channel. A small target makes what it receives on an urgent
  /// input (a model version) act sooner, at the cost of more, smaller batches; ml::score sets 2 ms.
  stream& debloat_target(caf::timespan t) {
    for_producer("debloat_target", [&](internal::node& n) {
      n.debloat_target = t;
      if (t.count() < 0)
        g_->mistakes.push_back("operator '" + n.name + "' has a negative debloat target");
    });
    return *this;
  }

  /// Where the operator keeps its keyed state, instead of the job's backend
  /// (job_config::state_backend): e.g. RocksDB for one operator with a large key space.
  stream& state_backend(state::backend_config backend) {
    for_producer("state_backend", [&](internal::node& n) { n.state_backend = std::move(backend); });
    return *this;
  }

  // -- partitioning of the next operator's input -----------------------------------------------

  /// Every record of a key reaches the same instance of the next operator. The result is a
  /// stream like any other, which keyed operators (process with keyed state, windows) can also
  /// follow (see keyed_stream.hpp).
  template <class F>
  keyed_stream<T, F> key_by(F key) const {
    static_assert(std::is_invocable_v<const F&, const T&>,
                  "key_by: the key function must take const T& (the stream's record type)");
    using key_t = std::decay_t<std::invoke_result_t<const F&, const T&>>;
    auto hash = std::make_shared<std::function<uint64_t(const T&)>>(
        [key](const T& x) { return hash_key<key_t>(key(x)); });
    return keyed_stream<T, F>{repartitioned(partitioning::hash, std::move(hash)), key};
  }

  /// Round-robin over the next operator's instances.
  stream rebalance() const { return repartitioned(partitioning::rebalance, nullptr); }

  /// Every record to every instance of the next operator.
  stream broadcast() const { return repartitioned(partitioning::broadcast, nullptr); }

  /// Instance i feeds instance i of the next operator (which must have the same parallelism).
  stream forward() const { return repartitioned(partitioning::forward, nullptr); }

  /// The same stream, its records sent to the next operator with priority: they overtake the
  /// batches of its other inputs queued in its mailbox (each input keeps its own order). For a
  /// small stream that steers a large one: model versions into scorers, rules into a broadcast
  /// state, so that they act within milliseconds even when the large input is backlogged.
  stream urgent() const {
    stream result = *this;
    for (auto& e : result.edges_)
      e.urgent = true;
    return result;
  }

  /// This stream's records together with those of `others` (same record type).
  template <class... Streams>
  stream union_with(const Streams&... others) const {
    stream result = *this;
    (result.edges_.insert(result.edges_.end(), others.edges_.begin(), others.edges_.end()), ...);
    for (auto& x : {&others...})
      if (x->g_ != g_)
        g_->mistakes.push_back("union_with: the streams belong to different jobs; build them "
                               "from one eddy::job");
    return result;
  }

  /// The records the operator that produced this stream sent to its side output `tag` (which it
  /// must have declared, e.g. windowed_stream::side_output_late_data).
  template <class S>
  stream<S> side_output(const output_tag<S>& tag) const {
    stream<S> result{g_, {}};
    if (edges_.size() != 1) {
      g_->mistakes.push_back("side_output was called on a union of streams, which has no "
                             "operator of its own: call it on each stream before union_with");
      return result;
    }
    auto id = edges_.front().from;
    const auto& ports = g_->nodes[id].side_outputs;
    for (uint32_t p = 0; p < ports.size(); ++p)
      if (ports[p].name == tag.name() && ports[p].type == typeid(S)) {
        result.edges_.push_back(
            internal::edge_spec{id, partitioning::forward, nullptr, false, p + 1});
        return result;
      }
    g_->mistakes.push_back("operator '" + g_->nodes[id].name + "' has no side output '" +
                           tag.name() + "' of type " + type_name<S>() +
                           ": ask the operator for it first (e.g. side_output_late_data(tag) on a "
                           "window)");
    return result;
  }

  // -- operators --------------------------------------------------------------------------------

  /// One result per record: `f(const T&) -> Out`.
  template <class F>
  auto map(F f) const {
    static_assert(std::is_invocable_v<F&, const T&>,
                  "map: the function must take const T& (the stream's record type)");
    using out_t = std::decay_t<std::invoke_result_t<F&, const T&>>;
    static_assert(!std::is_void_v<out_t>, "map: the function must return the new record");
    return then<out_t>("map", [f](task& t, const internal::instance_wiring& w) {
      return std::make_unique<internal::map_logic<T, out_t, F>>(t, w, f);
    });
  }

  /// Keeps the records for which `f(const T&)` is true.
  template <class F>
  stream filter(F f) const {
    static_assert(std::is_invocable_r_v<bool, F&, const T&>,
                  "filter: the predicate must take const T& and return bool");
    return then<T>("filter", [f](task& t, const internal::instance_wiring& w) {
      return std::make_unique<internal::filter_logic<T, F>>(t, w, f);
    });
  }

  /// Any number of results per record: `f(const T&, collector<Out>&)`.
  template <class Out, class F>
  stream<Out> flat_map(F f) const {
    static_assert(std::is_invocable_v<F&, const T&, collector<Out>&>,
                  "flat_map: the function must take (const T&, eddy::collector<Out>&)");
    return then<Out>("flat_map", [f](task& t, const internal::instance_wiring& w) {
      return std::make_unique<internal::process_logic<T, Out, F>>(t, w, f);
    });
  }

  /// A general operator: `f(const T&, collector<Out>&)` per record, then `end(collector<Out>&)`
  /// once when the input ends.
  template <class Out, class F, class End = internal::no_end>
  stream<Out> process(F f, End end = {}) const {
    static_assert(std::is_invocable_v<F&, const T&, collector<Out>&>,
                  "process: the function must take (const T&, eddy::collector<Out>&)");
    static_assert(std::is_invocable_v<End&, collector<Out>&>,
                  "process: the end function must take (eddy::collector<Out>&)");
    return then<Out>("process", [f, end](task& t, const internal::instance_wiring& w) {
      return std::make_unique<internal::process_logic<T, Out, F, End>>(t, w, f, end);
    });
  }

  /// Ends the pipeline in `s`, called with each record: `s(const T&)`.
  template <class S>
  sink_ref sink(S s) const {
    static_assert(std::is_invocable_v<S&, const T&>,
                  "sink: the sink must be callable with const T& (the stream's record type)");
    auto id = add_node("sink", typeid(void));
    auto& n = g_->nodes[id];
    n.is_sink = true;
    if constexpr (internal::has_check<S>::value)
      n.check = [s] { return s.check(); };
    if constexpr (internal::has_committer<S>::value)
      n.committer = s.committer();
    n.make = [s](task& t, uint32_t, const internal::instance_wiring&) {
      return std::make_unique<internal::sink_logic<T, S>>(t, s);
    };
    return sink_ref{g_, id};
  }

  // -- two inputs -------------------------------------------------------------------------------

  /// This stream and `other` into one two-input operator: `.process<Out>(f)` with
  /// `f.process1(const T&, collector<Out>&)` and `f.process2(const U&, collector<Out>&)` (see
  /// connected_stream.hpp; on two keyed streams, a keyed co-process function).
  template <class U>
  connected_streams<T, U> connect(const stream<U>& other) const;

  /// This stream as the broadcast input of a broadcast state operator: every record reaches every
  /// instance of `keyed.connect(...)`, which keeps a map `K -> V` named `name` identical on all
  /// of them (see broadcast_process.hpp).
  template <class K, class V>
  broadcast_stream<T, K, V> broadcast_state(std::string name) const;

  /// A window join with `other`: `.where(ka).equal_to(kb).window(spec).apply<Out>(f)` (see
  /// window_join.hpp).
  template <class U>
  join_builder<T, U> join(const stream<U>& other) const;

  // -- internals ---------------------------------------------------------------------------------

  /// The graph this stream belongs to.
  [[nodiscard]] const std::shared_ptr<internal::graph>& graph() const noexcept { return g_; }

  /// The edges the next operator takes this stream on.
  [[nodiscard]] const std::vector<internal::edge_spec>& edges() const noexcept { return edges_; }

  /// Adds a node consuming this stream with output `Out`, whose logic `make` creates.
  template <class Out, class Make>
  stream<Out> then(const char* kind, Make make) const {
    auto id = add_node(kind, typeid(Out));
    auto& n = g_->nodes[id];
    n.make = [make](task& t, uint32_t, const internal::instance_wiring& w) { return make(t, w); };
    n.register_types = internal::register_batch<Out>;
    return stream<Out>{g_, {id}};
  }

protected:
  template <class>
  friend class stream;

  size_t add_node(const char* kind, std::type_index out_type) const {
    internal::node n;
    n.id = g_->nodes.size();
    n.kind = kind;
    n.name = std::string{kind} + '-' + std::to_string(n.id);
    n.in_type = typeid(T);
    n.out_type = out_type;
    for (const auto& e : edges_) {
      n.inputs.push_back(e);
      auto& consumers = g_->nodes[e.from].consumers;
      if (std::find(consumers.begin(), consumers.end(), n.id) == consumers.end())
        consumers.push_back(n.id);
    }
    g_->nodes.push_back(std::move(n));
    return g_->nodes.size() - 1;
  }

  stream repartitioned(partitioning kind, std::shared_ptr<void> hash) const {
    stream result = *this;
    for (auto& e : result.edges_) {
      e.kind = kind;
      e.key_hash = hash;
      e.explicit_kind = true;
    }
    return result;
  }

  template <class F>
  void for_producer(const char* what, F f) {
    if (edges_.size() != 1) {
      g_->mistakes.push_back(std::string{what} +
                             " was called on a union of streams, which has no "
                             "operator of its own: call it on each stream before union_with");
      return;
    }
    f(g_->nodes[edges_.front().from]);
  }

  /// The job graph.
  std::shared_ptr<internal::graph> g_;
  /// The nodes whose output this stream is (several after union_with), each with how the next
  /// operator's instances share its records.
  std::vector<internal::edge_spec> edges_;
};

} // namespace eddy

#include <eddy/operators/keyed_stream.hpp>
