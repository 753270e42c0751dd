// The base of two-input operators (connect, broadcast state, joins): tells which input a batch
// came from by the edge of its channel, even when both inputs have the same record type, and
// builds the node that consumes two streams.
#pragma once

#include <eddy/operators/internal/graph.hpp>
#include <eddy/operators/internal/logic_base.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <typeindex>
#include <vector>

namespace eddy {

template <class T>
class stream;

} // namespace eddy

namespace eddy::internal {

template <class T>
void register_batch(caf::actor_system_config& cfg);

/// The base of two-input operators: routes each `batch<In1>` of the first input to `on_batch1`
/// and each `batch<In2>` of the second to `on_batch2`.
template <class In1, class In2, class Out>
class two_input_logic : public unary_logic<Out> {
public:
  two_input_logic(task& t, const instance_wiring& w)
      : unary_logic<Out>(t, w)
      , input_edges_(w.input_edges)
      , first_side_edges_(w.first_side_edges) {}

  caf::message_handler handlers(task& t) override {
    if constexpr (std::is_same_v<In1, In2>) {
      return t.data_handler<In1>([this, &t](batch<In1>& b) {
        bool is_first = first(t, b.input);
        if (t.failed())
          return; // a channel the wiring does not know: the task failed, the batch is not used
        if (is_first)
          on_batch1(t, b);
        else
          on_batch2(t, b);
      });
    } else {
      return t.data_handler<In1>([this, &t](batch<In1>& b) { on_batch1(t, b); })
          .or_else(t.data_handler<In2>([this, &t](batch<In2>& b) { on_batch2(t, b); }));
    }
  }

protected:
  /// Processes one batch of the first input.
  virtual void on_batch1(task& t, batch<In1>& in) = 0;

  /// Processes one batch of the second input.
  virtual void on_batch2(task& t, batch<In2>& in) = 0;

private:
  /// True when input channel `input` belongs to the first input.
  bool first(task& t, uint32_t input) {
    if (input < input_edges_.size())
      return input_edges_[input] < first_side_edges_;
    t.fail("operator " + t.origin() + " received a batch on input " + std::to_string(input) +
           ", which its wiring does not know: the topology was wired inconsistently");
    return true;
  }

  /// The incoming edge of every input channel.
  std::vector<uint32_t> input_edges_;
  /// Edges [0, first_side_edges_) feed the first input.
  uint32_t first_side_edges_;
};

/// True when `F` has process1(const X&, Ctx&) and process2(const Y&, Ctx&).
template <class F, class X, class Y, class Ctx, class = void>
struct has_process : std::false_type {};
template <class F, class X, class Y, class Ctx>
struct has_process<
    F, X, Y, Ctx,
    std::void_t<
        decltype(std::declval<F&>().process1(std::declval<const X&>(), std::declval<Ctx&>())),
        decltype(std::declval<F&>().process2(std::declval<const Y&>(), std::declval<Ctx&>()))>>
    : std::true_type {};

/// Records a mistake when the two streams belong to different jobs; true when they do not.
inline bool same_job(graph& g, const graph* other, const char* what) {
  if (&g == other)
    return true;
  g.mistakes.push_back(std::string{what} +
                       ": the two streams belong to different jobs; build both from one eddy::job");
  return false;
}

/// Adds to `g` a node of kind `kind` consuming `first` and `second` (the edges of two streams)
/// and emitting `Out`; its logic is made by `make(task&, const instance_wiring&)`.
template <class In1, class Out, class Make>
size_t add_two_input_node(graph& g, const char* kind, const std::vector<edge_spec>& first,
                          const std::vector<edge_spec>& second, Make make,
                          void (*register_types)(caf::actor_system_config&)) {
  node n;
  n.id = g.nodes.size();
  n.kind = kind;
  n.name = std::string{kind} + '-' + std::to_string(n.id);
  n.in_type = typeid(In1);
  n.out_type = typeid(Out);
  n.first_side_edges = static_cast<uint32_t>(first.size());
  for (const auto* side : {&first, &second})
    for (const auto& e : *side) {
      n.inputs.push_back(e);
      auto& consumers = g.nodes[e.from].consumers;
      if (std::find(consumers.begin(), consumers.end(), n.id) == consumers.end())
        consumers.push_back(n.id);
    }
  n.make = [make](task& t, uint32_t, const instance_wiring& w) { return make(t, w); };
  n.register_types = register_types;
  g.nodes.push_back(std::move(n));
  return g.nodes.size() - 1;
}

/// The node of a two-input operator over `first` and `second`, as a stream of `Out`.
template <class In1, class Out, class Make>
stream<Out> two_input_node(const std::shared_ptr<graph>& g, const char* kind,
                           const std::vector<edge_spec>& first,
                           const std::vector<edge_spec>& second, Make make) {
  auto id =
      add_two_input_node<In1, Out>(*g, kind, first, second, std::move(make), &register_batch<Out>);
  return stream<Out>{g, {id}};
}

} // namespace eddy::internal
