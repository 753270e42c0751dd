// Side outputs: a second typed stream out of one operator, taken by its tag, as Flink's
// OutputTag. Windows send late records there; the pattern operator its timed-out partial matches.
//
//   eddy::output_tag<bid> late{"late-bids"};
//   auto counts = bids.key_by([](const bid& b) { return b.auction; })
//                     .window(eddy::tumbling(10s))
//                     .side_output_late_data(late)       // the operator declares the output
//                     .aggregate(eddy::count_of<bid>{});
//   counts.side_output(late).sink(eddy::collect(late_bids)); // and a stream takes it
//
// A side output is an output like the main one: its records keep their event times, cross
// process boundaries, and are under credit, so a slow consumer of late data holds back the
// operator as a slow consumer of its results would. A side output that an operator declares but
// nothing takes is an error before the job starts: its records would be lost.
#pragma once

#include <string>
#include <utility>

namespace eddy {

/// Names a side output of records of type `S`.
template <class S>
class output_tag {
public:
  using value_type = S;

  explicit output_tag(std::string name)
      : name_(std::move(name)) {}

  /// The name, unique among one operator's side outputs.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

private:
  std::string name_;
};

} // namespace eddy
