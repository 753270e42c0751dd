// A sink that collects every record it receives into a vector, for tests.
//
//   std::vector<int> out;
//   stream.sink(eddy::collect(out));
//   job.run();                       // `out` now holds every record (per instance, in arrival
//   order)
//
// It is an exactly-once sink: each instance keeps what it received and pre-commits it at every
// checkpoint barrier and at the end of its input; records of an attempt that failed are dropped
// when the job goes back to a checkpoint, and `out` receives what is left when the job has
// ended. So after any recoveries `out` holds what a run without failures holds. Read `out` once
// `run` has returned.
#pragma once

#include <eddy/actors/snapshot.hpp>

#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace eddy {

namespace internal {

/// What the instances of one collecting sink pre-committed, until the coordinator commits it.
template <class T>
class collect_committer final : public sink_committer {
public:
  explicit collect_committer(std::vector<T>* out)
      : out_(out) {}

  /// Files the records of instance `instance` under checkpoint `id` (from any thread).
  void stage(checkpoint_id id, uint32_t instance, std::vector<T>&& records) {
    if (records.empty())
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    auto& slot = pending_[{id, instance}];
    if (slot.empty())
      slot = std::move(records);
    else
      slot.insert(slot.end(), std::make_move_iterator(records.begin()),
                  std::make_move_iterator(records.end()));
  }

  /// Nothing is visible before the job ends (a vector is read after `run`), so committed
  /// records can still be taken back when a newer checkpoint turns out damaged; the end of the
  /// job appends everything to `out`, in checkpoint order.
  caf::error commit(checkpoint_id id) override {
    if (id != final_checkpoint)
      return {};
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [chk, records] : pending_)
      out_->insert(out_->end(), std::make_move_iterator(records.begin()),
                   std::make_move_iterator(records.end()));
    pending_.clear();
    return {};
  }

  void abort_after(checkpoint_id id) override {
    std::lock_guard<std::mutex> guard{mtx_};
    pending_.erase(pending_.lower_bound({id + 1, 0}), pending_.end());
  }

  void abort_instance_after(checkpoint_id id, uint32_t instance) override {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto it = pending_.lower_bound({id + 1, 0}); it != pending_.end();)
      it = it->first.second == instance ? pending_.erase(it) : std::next(it);
  }

private:
  /// Where committed records go.
  std::vector<T>* out_;
  /// Guards `pending_` and `out_`.
  std::mutex mtx_;
  /// Pre-committed records by checkpoint and instance.
  std::map<std::pair<checkpoint_id, uint32_t>, std::vector<T>> pending_;
};

} // namespace internal

/// Appends records to a vector shared by all instances, exactly once.
template <class T>
class collecting_sink {
public:
  explicit collecting_sink(std::vector<T>& out)
      : committer_(std::make_shared<internal::collect_committer<T>>(&out)) {}

  void open(uint32_t instance, uint32_t /*parallelism*/) { instance_ = instance; }

  void operator()(const T& x) { local_.push_back(x); }

  void pre_commit(checkpoint_id id) { committer_->stage(id, instance_, std::exchange(local_, {})); }

  [[nodiscard]] std::shared_ptr<sink_committer> committer() const { return committer_; }

private:
  /// Shared by every instance (copies of this object).
  std::shared_ptr<internal::collect_committer<T>> committer_;
  /// This instance's records since its last pre-commit.
  std::vector<T> local_;
  /// This instance's index.
  uint32_t instance_ = 0;
};

/// A sink collecting into `out`.
template <class T>
collecting_sink<T> collect(std::vector<T>& out) {
  return collecting_sink<T>{out};
}

} // namespace eddy
