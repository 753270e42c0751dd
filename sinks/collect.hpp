// A sink that collects every record it receives into a vector, for tests.
//
//   std::vector<int> out;
//   stream.sink(eddy::collect(out));
//   job.run();                       // `out` now holds every record (in arrival order)
//
// All instances append to the same vector under a mutex, so the vector may be read once `run`
// has returned.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

namespace eddy {

/// Appends records to a vector shared by all instances.
template <class T>
class collecting_sink {
public:
  explicit collecting_sink(std::vector<T>& out)
      : out_(&out)
      , mtx_(std::make_shared<std::mutex>()) {}

  void operator()(const T& x) { local_.push_back(x); }

  void finish() {
    std::lock_guard<std::mutex> guard{*mtx_};
    out_->insert(out_->end(), local_.begin(), local_.end());
    local_.clear();
  }

private:
  /// Where records end up.
  std::vector<T>* out_;
  /// Guards `out_` across instances.
  std::shared_ptr<std::mutex> mtx_;
  /// This instance's records, moved to `out_` when the input ends.
  std::vector<T> local_;
};

/// A sink collecting into `out`.
template <class T>
collecting_sink<T> collect(std::vector<T>& out) {
  return collecting_sink<T>{out};
}

} // namespace eddy
