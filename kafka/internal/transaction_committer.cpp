#include <eddy/kafka/errc.hpp>
#include <eddy/kafka/internal/transaction_committer.hpp>

#include <limits>

namespace eddy::kafka::internal {

namespace {

size_t bytes_of(const std::vector<outgoing>& records) {
  size_t n = 0;
  for (const auto& r : records)
    n += r.key.size() + r.value.size();
  return n;
}

} // namespace

transaction_committer::transaction_committer(properties props, std::string topic, std::string id,
                                             std::chrono::milliseconds timeout)
    : props_(std::move(props))
    , topic_(std::move(topic))
    , timeout_(timeout) {
  props_["transactional.id"] = std::move(id);
}

transaction_committer::~transaction_committer() = default;

void transaction_committer::stage(checkpoint_id id, uint32_t instance,
                                  std::vector<outgoing>&& records) {
  if (records.empty())
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  staged_bytes_ += bytes_of(records);
  auto& slot = staged_[{id, instance}];
  if (slot.empty())
    slot = std::move(records);
  else
    slot.insert(slot.end(), std::make_move_iterator(records.begin()),
                std::make_move_iterator(records.end()));
}

size_t transaction_committer::staged_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return staged_bytes_;
}

std::string transaction_committer::failure() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return failure_;
}

uint64_t transaction_committer::transactions() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return transactions_;
}

caf::error transaction_committer::commit(checkpoint_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto end = staged_.upper_bound({id, std::numeric_limits<uint32_t>::max()});
  std::vector<const std::vector<outgoing>*> records;
  for (auto it = staged_.begin(); it != end; ++it)
    records.push_back(&it->second);
  if (records.empty())
    return {};
  if (auto err = send_all(records)) {
    // It stays staged: the next commit tries again, with what was staged since.
    failure_ = "kafka sink '" + topic_ + "': " + describe(err);
    return make_error(errc::unavailable, failure_);
  }
  for (auto it = staged_.begin(); it != end;) {
    staged_bytes_ -= bytes_of(it->second);
    it = staged_.erase(it);
  }
  failure_.clear();
  ++transactions_;
  return {};
}

caf::error
transaction_committer::send_all(const std::vector<const std::vector<outgoing>*>& records) {
  caf::error last;
  // A transaction that must be aborted is tried again; a fenced or broken producer is replaced
  // (its successor fences it for good).
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!producer_) {
      auto p = producer::open(props_);
      if (!p)
        return p.error(); // a setting is wrong: trying again changes nothing
      producer_.emplace(std::move(*p));
      if (auto err = producer_->init_transactions(timeout_)) {
        producer_.reset();
        last = std::move(err);
        continue;
      }
    }
    auto send_every = [&]() -> caf::error {
      for (const auto* xs : records)
        for (const auto& r : *xs)
          if (auto e = producer_->send(topic_, r.partition, r.key, r.value))
            return e;
      return {};
    };
    auto err = producer_->begin_transaction();
    if (!err)
      err = send_every();
    if (!err)
      err = producer_->commit_transaction(timeout_);
    if (!err)
      return {};
    last = std::move(err);
    if (is(last, errc::fatal) || producer_->abort_transaction(timeout_))
      producer_.reset();
  }
  return last;
}

void transaction_committer::abort_after(checkpoint_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto it = staged_.lower_bound({id + 1, 0}); it != staged_.end();) {
    staged_bytes_ -= bytes_of(it->second);
    it = staged_.erase(it);
  }
}

void transaction_committer::abort_instance_after(checkpoint_id id, uint32_t instance) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto it = staged_.lower_bound({id + 1, 0}); it != staged_.end();) {
    if (it->first.second == instance) {
      staged_bytes_ -= bytes_of(it->second);
      it = staged_.erase(it);
    } else {
      ++it;
    }
  }
}

} // namespace eddy::kafka::internal
