// Version 1 of the savepoint tests' tally: the state type gained a field (see
// savepoint_fixtures.hpp; version 0 is in savepoint_test.cpp).
#include "savepoint_fixtures.hpp"

#include <eddy/sinks/collect.hpp>

#include <boost/serialization/version.hpp>

namespace {

/// A key's tally: version 1 added `time_sum`, and still reads version 0's bytes.
struct tally {
  int64_t count = 0;
  int64_t time_sum = -1; // unknown: the tally was written before the field existed
  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    ar& count;
    if (version >= 1)
      ar& time_sum;
  }
};

/// Counts each key's records and sums their times since the field exists.
struct tallying {
  eddy::state::value_state<tally> state;
  void open(eddy::keyed_context<int32_t, eddy::test::tally_row>& ctx) {
    state = *ctx.state().declare_value<tally>("tally");
  }
  void operator()(const eddy::test::event& e,
                  eddy::keyed_context<int32_t, eddy::test::tally_row>& ctx) {
    auto t = state.value_or(tally{0, 0});
    ++t.count;
    t.time_sum = t.time_sum < 0 ? e.time : t.time_sum + e.time;
    state.update(t);
    ctx.emit(eddy::test::tally_row{e.key, t.count, t.time_sum});
  }
};

} // namespace

BOOST_CLASS_VERSION(tally, 1)

namespace eddy::test {

caf::expected<job_report> run_tally_v1(job_config cfg, grid_source src,
                                       std::shared_ptr<savepoint_order> order,
                                       std::vector<tally_row>& out) {
  return run_tally<tallying>(std::move(cfg), std::move(src), std::move(order), out);
}

} // namespace eddy::test
