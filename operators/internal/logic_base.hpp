// Pieces shared by the operators' per-instance logic: wiring an output, and a loop that turns a
// throwing user function into a dead letter (or a job failure) without unwinding through CAF.
#pragma once

#include <eddy/actors/output.hpp>
#include <eddy/actors/task.hpp>
#include <eddy/operators/internal/graph.hpp>

#include <caf/deep_to_string.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

namespace eddy::internal {

/// Renders a record for a dead letter.
template <class T>
std::string render(const T& x) {
  return caf::deep_to_string(x);
}

/// Adds the edges of `wiring` that take output `port` (0: the main output, p: side output p) to
/// `out`. A key function that throws on a record sends that record to task `t`'s dead letters
/// (or fails the job, per its error policy): the one rule for every operator, and the record goes
/// out on no edge.
template <class T>
void wire(task& t, output<T>& out, const instance_wiring& wiring, uint32_t port = 0) {
  using hash_fn = typename output<T>::hash_fn;
  out.set_origin_base(output_set::origin_base(port));
  for (const auto& e : wiring.outputs) {
    if (e.port != port)
      continue;
    hash_fn hash;
    if (e.key_hash)
      hash = *std::static_pointer_cast<hash_fn>(e.key_hash);
    out.add_edge(e.kind, std::move(hash), e.targets, t.channels());
  }
  out.on_key_error([&t](const std::string& what, const T& x) { t.user_error(what, render(x)); });
}

/// Calls `body(i)` for i in [0, n). When it throws on i, reports record `i` through
/// `t.user_error` and goes on with i + 1, unless the error policy failed the task.
template <class Body, class Items>
void guarded_loop(task& t, size_t n, const Items& items, Body&& body) {
  size_t i = 0;
  while (i < n) {
    try {
      for (; i < n; ++i)
        body(i);
    } catch (const std::exception& e) {
      t.user_error(e.what(), render(items[i]));
      ++i;
    } catch (...) {
      t.user_error("unknown exception", render(items[i]));
      ++i;
    }
    if (t.failed())
      return;
  }
}

/// Rewrites `in` in place, record by record: `keep(i, w)` either writes the record to keep at
/// position w (w <= i) and returns true, or returns false to drop record i. Event times follow
/// their records; a record whose `keep` throws is reported through `guarded_loop` and dropped.
template <class T, class Keep>
void compact_in_place(task& t, batch<T>& in, Keep&& keep) {
  auto& items = in.items;
  bool timed = !in.times.empty();
  size_t w = 0;
  guarded_loop(t, items.size(), items, [&](size_t i) {
    if (!keep(i, w))
      return;
    if (timed)
      in.times[w] = in.times[i];
    ++w;
  });
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(w), items.end());
  if (timed)
    in.times.resize(w);
}

/// The base of one-input operators: an output of `Out` wired at construction.
template <class Out>
class unary_logic : public logic {
public:
  unary_logic(task& t, const instance_wiring& w)
      : out_(&t, &t.metrics(), w.timed, t.instance()) {
    wire(t, out_, w);
  }

  output_base* output() override {
    if (all_.empty())
      return &out_;
    return &*sides_;
  }

protected:
  /// Creates side output `port` (records of type `S`), wired to the edges that take it; the task
  /// then sees it with the main output as one. Ports are made in order, 1, 2, ..., in the
  /// constructor.
  template <class S>
  std::unique_ptr<eddy::output<S>> make_side_output(task& t, const instance_wiring& w,
                                                    uint32_t port) {
    auto side = std::make_unique<eddy::output<S>>(&t, &t.metrics(), w.timed, t.instance());
    wire(t, *side, w, port);
    if (all_.empty())
      all_.push_back(&out_);
    if (port != all_.size())
      throw std::logic_error("side outputs must be made in the order of their ports");
    all_.push_back(side.get());
    sides_.emplace(all_);
    return side;
  }

  /// Where results go.
  eddy::output<Out> out_;

private:
  /// With side outputs: every output, main first, and the task's view of them.
  std::vector<output_base*> all_;
  std::optional<output_set> sides_;
};

/// The base of one-input operators: routes each `batch<In>` to `on_batch`.
template <class In, class Out>
class one_input_logic : public unary_logic<Out> {
public:
  using unary_logic<Out>::unary_logic;

  caf::message_handler handlers(task& t) override {
    return t.data_handler<In>([this, &t](batch<In>& b) { on_batch(t, b); });
  }

protected:
  /// Processes one input batch (which the operator may reuse for its output).
  virtual void on_batch(task& t, batch<In>& in) = 0;
};

} // namespace eddy::internal
