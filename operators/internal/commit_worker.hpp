// The thread a job's exactly-once sinks commit on: the coordinator hands it each completed
// checkpoint and goes on (taking the next checkpoint, recovering a task) while the sinks make the
// checkpoint's output visible, which may take a network round trip or several (a Kafka
// transaction). Commits run in checkpoint order, one at a time.
//
//   internal::commit_worker worker{committers};
//   worker.commit(id);        // checkpoint `id` completed: returns at once
//   worker.drain();           // before an abort, so that it follows every commit handed over
//
// A failed commit stays pending in its sink (the next one tries again), as when the coordinator
// called it directly; the final commit, whose error fails the run, is the caller's, after
// `drain()`.
#pragma once

#include <eddy/actors/snapshot.hpp>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace eddy::internal {

class commit_worker {
public:
  explicit commit_worker(std::vector<std::shared_ptr<sink_committer>> committers)
      : committers_(std::move(committers)) {
    if (!committers_.empty())
      thread_ = std::thread{[this] { run(); }};
  }

  commit_worker(const commit_worker&) = delete;
  commit_worker& operator=(const commit_worker&) = delete;

  /// Runs what was handed over, then stops.
  ~commit_worker() {
    if (!thread_.joinable())
      return;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  /// Checkpoint `id` completed: every sink commits it, on the worker.
  void commit(checkpoint_id id) {
    if (!thread_.joinable())
      return;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      todo_.push_back(id);
    }
    wake_.notify_all();
  }

  /// Waits until every commit handed over has run.
  void drain() {
    std::unique_lock<std::mutex> lock{mtx_};
    idle_.wait(lock, [this] { return todo_.empty() && !busy_; });
  }

private:
  void run() {
    std::unique_lock<std::mutex> lock{mtx_};
    for (;;) {
      wake_.wait(lock, [this] { return stop_ || !todo_.empty(); });
      if (todo_.empty())
        return; // stopping, nothing left
      auto id = todo_.front();
      todo_.pop_front();
      busy_ = true;
      lock.unlock();
      for (auto& c : committers_) {
        try {
          (void)c->commit(id); // what failed stays pending for the next commit
        } catch (...) {
          // As a failed commit (say, memory ran out): the next one tries again.
        }
      }
      lock.lock();
      busy_ = false;
      if (todo_.empty())
        idle_.notify_all();
    }
  }

  std::vector<std::shared_ptr<sink_committer>> committers_;
  std::mutex mtx_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<checkpoint_id> todo_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace eddy::internal
