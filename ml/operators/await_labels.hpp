// Labels that arrive late: points (to learn from) or predictions (to evaluate) wait in keyed state
// for the label of their record id, within a bound of event time; those whose label never comes
// expire and come out marked so, to be counted.
//
//   auto waiting = eddy::ml::await_labels(points, labels, eddy::ml::label_wait{}.within(60'000));
//   auto to_learn = eddy::ml::labelled(waiting);           // stream<labelled_point>
//   auto versions = eddy::ml::learn(to_learn, *model);
//   auto judged = eddy::ml::await_labels(predictions, labels,
//   eddy::ml::label_wait{}.within(60'000)); auto figures = eddy::ml::evaluate(judged); //
//   evaluate.hpp
//
// Both inputs are keyed by record id, so a point and its label meet at one instance whatever
// the parallelism, in either order: a label that comes first waits for its point the same way.
// A record waits until the watermark passes its event time plus the bound (records without an
// event time wait until the input ends); then it comes out with `labelled == false`. A label
// whose record never comes is dropped when its wait ends. A second label for a record already
// joined waits like a first one and is dropped. A second record with the id of one still waiting
// sends the first out unlabelled and waits in its place. What waits is keyed state: in every
// checkpoint, redistributed with its key when the parallelism changes, spilled to RocksDB with that
// backend.
#pragma once

#include <eddy/ml/operators/records.hpp>
#include <eddy/operators/connected_stream.hpp>
#include <eddy/operators/keyed_context.hpp>
#include <eddy/operators/stream.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// How long records wait for their labels.
struct label_wait {
  /// Event time (ms) a record waits past its own. Default: one minute.
  timestamp bound = 60'000;

  label_wait& within(timestamp ms) {
    bound = ms;
    return *this;
  }
};

namespace detail {

/// How a waiting record is kept in keyed state (a type the state codec writes) and made again.
template <class T>
struct waiting_form;

/// A point keeps its features.
template <>
struct waiting_form<point> {
  using type = std::vector<double>;
  static type keep(const point& p) { return p.x; }
  static point make(uint64_t id, type x) { return point{id, std::move(x)}; }
};

/// A prediction is trivially copyable: kept as it is.
template <>
struct waiting_form<prediction> {
  using type = prediction;
  static type keep(const prediction& p) { return p; }
  static prediction make(uint64_t, type p) { return p; }
};

/// The keyed co-process function of await_labels, keyed by record id.
template <class T>
struct label_join {
  using form = waiting_form<T>;
  using context = keyed_context<uint64_t, with_label<T>>;

  timestamp bound = 0;
  state::value_state<typename form::type> item;
  state::value_state<int32_t> y;
  /// When the current key's wait ends.
  state::value_state<timestamp> until;

  void open(context& ctx) {
    item = *ctx.state().template declare_value<typename form::type>("item");
    y = *ctx.state().template declare_value<int32_t>("label");
    until = *ctx.state().template declare_value<timestamp>("until");
  }

  void process1(const T& x, context& ctx) {
    if (const auto* known = y.value()) {
      ctx.emit(with_label<T>{x, *known, true});
      finish(ctx);
      return;
    }
    if (const auto* earlier = item.value()) // the same id again: the earlier one goes unlabelled
      ctx.emit(with_label<T>{form::make(ctx.key(), *earlier), 0, false});
    item.update(form::keep(x));
    wait(ctx);
  }

  void process2(const label& l, context& ctx) {
    if (const auto* kept = item.value()) {
      ctx.emit(with_label<T>{form::make(l.id, *kept), l.y, true});
      finish(ctx);
      return;
    }
    y.update(l.y);
    wait(ctx);
  }

  void on_timer(timestamp, context& ctx) {
    if (const auto* kept = item.value())
      ctx.emit(with_label<T>{form::make(ctx.key(), *kept), 0, false});
    item.clear();
    y.clear();
    until.clear();
  }

  /// Starts the current key's wait (once: a second arrival keeps the first's end).
  void wait(context& ctx) {
    if (until.value())
      return;
    auto end =
        ctx.time() == min_time || ctx.time() > max_time - bound ? max_time : ctx.time() + bound;
    until.update(end);
    ctx.register_event_time_timer(end);
  }

  /// Ends the current key's wait: it joined.
  void finish(context& ctx) {
    if (const auto* end = until.value())
      ctx.delete_event_time_timer(*end);
    item.clear();
    y.clear();
    until.clear();
  }
};

} // namespace detail

/// `records` (points or predictions) joined with their labels by record id (see the header
/// comment): every record comes out once, with its label or, its wait over, without.
template <class T>
stream<with_label<T>> await_labels(const stream<T>& records, const stream<label>& labels,
                                   label_wait wait = {}) {
  if (wait.bound < 0)
    records.graph()->mistakes.push_back("await_labels: the bound is negative (" +
                                        std::to_string(wait.bound) +
                                        " ms); give the event time a record waits, 0 or more");
  detail::label_join<T> join;
  join.bound = wait.bound;
  return records.key_by([](const T& x) { return x.id; })
      .connect(labels.key_by([](const label& l) { return l.id; }))
      .template process<with_label<T>>(join);
}

/// The points that got their label, as labelled points for a learner (those whose wait ended
/// without one are left out: count them with `evaluate` or a filter of your own).
inline stream<labelled_point> labelled(const stream<with_label<point>>& joined) {
  return joined.template flat_map<labelled_point>(
      [](const with_label<point>& x, collector<labelled_point>& out) {
        if (x.labelled)
          out.emit(labelled_point{x.item.id, x.item.x, x.y});
      });
}

} // namespace eddy::ml
