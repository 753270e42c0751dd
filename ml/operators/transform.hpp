// The transformer operator: a feature transformer that learns online (a scaler, the imputer)
// as a stage of a job: each point's features are learned, then transformed, in the order they
// come, and the transformer's statistics are the instance's state in every checkpoint.
//
//   auto scaled = eddy::ml::transform(points, eddy::ml::standard_scaler{13}).name("scaler");
//   auto versions = eddy::ml::learn(eddy::ml::labelled(eddy::ml::await_labels(scaled, labels)),
//                                   *model);
//
// `Transformer` is any eddy/ml transformer with `learn_transform(const vector&, vector&)`
// returning a caf::error, `n_features()` and `serialize` (standard_scaler, min_max_scaler,
// imputer). A point with another number of features, or one the transformer refuses (a NaN for a
// scaler, a value whose statistics would overflow), goes to the dead-letter output with the reason
// and the transformer never sees it; the imputer fills NaNs and infinities, which is its job.
//
// One instance by default: statistics over the whole stream, as the plain loop keeps them.
// With more, each instance learns from the points it receives (after `key_by`, per key group of
// keys): keep the parallelism across restarts from a savepoint, as for the learner.
#pragma once

#include <eddy/ml/fwd.hpp>
#include <eddy/ml/operators/operator_state.hpp>
#include <eddy/ml/operators/records.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/stream.hpp>

#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

namespace detail {

/// Per-instance logic of the transformer operator.
template <class Transformer>
class transform_logic final : public eddy::internal::one_input_logic<point, point> {
public:
  transform_logic(task& t, const eddy::internal::instance_wiring& w, const Transformer& initial)
      : one_input_logic(t, w)
      , origin_("transformer " + t.origin())
      , state_(initial) {}

  void snapshot(task&, checkpoint_id, instance_state& out) override { save_state(state_, out); }

  void restore(task&, checkpoint_id, instance_state&& in) override {
    load_state(in, state_, origin_);
  }

private:
  void on_batch(task& t, batch<point>& in) override {
    auto n = state_.n_features();
    bool timed = !in.times.empty();
    for (size_t i = 0; i < in.items.size(); ++i) {
      auto& p = in.items[i];
      if (static_cast<Eigen::Index>(p.x.size()) != n) {
        t.dead_letter(origin_ + ": the record has " + std::to_string(p.x.size()) +
                          " features, the transformer takes " + std::to_string(n),
                      eddy::internal::render(p));
        continue;
      }
      x_.resize(n);
      for (Eigen::Index k = 0; k < n; ++k)
        x_[k] = p.x[static_cast<size_t>(k)];
      if (auto err = state_.learn_transform(x_, z_)) {
        t.dead_letter(origin_ + ": " + describe(err), eddy::internal::render(p));
        continue;
      }
      for (Eigen::Index k = 0; k < n; ++k)
        p.x[static_cast<size_t>(k)] = z_[k];
      out_.emit(std::move(p), timed ? in.times[i] : min_time);
    }
  }

  std::string origin_;
  Transformer state_;
  /// A point's features and their transform, reused.
  vector x_;
  vector z_;
};

} // namespace detail

/// Learns and transforms the features of `points` with `initial` (see the header comment).
template <class Transformer>
stream<point> transform(const stream<point>& points, const Transformer& initial) {
  if (initial.n_features() <= 0)
    points.graph()->mistakes.push_back("transform: the transformer takes no features; make it "
                                       "with its number of features");
  return points
      .template then<point>("transformer",
                            [initial](task& t, const eddy::internal::instance_wiring& w) {
                              return std::make_unique<detail::transform_logic<Transformer>>(
                                  t, w, initial);
                            })
      .parallelism(1);
}

} // namespace eddy::ml
