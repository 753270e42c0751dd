// Kafka source: reads a topic's partitions into a stream, with exactly-once replay from
// checkpoints (the offsets are the source's position; with `.group(id)` each completed
// checkpoint's offsets are also committed to that consumer group, for lag tools).
//
//   struct reading { int mote; double temperature; int64_t time; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(reading, mote, temperature, time)
//   auto readings = job.source(eddy::kafka::from_topic<reading>(bootstrap, "sensors")
//                                  .json()                                // or .decode(f)
//                                  .with_event_time([](const reading& r) { return r.time; }, 5'000)
//                                  .until_end())                          // a bounded read
//                       .parallelism(2);
//
// Partitions are assigned statically: partition p to instance p % parallelism (no consumer
// group membership, so no rebalancing ever pauses the job). A source instance under
// backpressure stops polling, and librdkafka stops fetching once it holds
// `queued.max.messages.kbytes` (eddy's default 16 MiB per instance, librdkafka's 64 MiB) plus
// one fetch: a slow sink bounds what the source holds; no group notices, as none is joined. Each
// instance emits watermarks per partition, the minimum over its partitions that are neither
// finished nor idle (`idle_after(d)`: a partition with nothing new for d of processing time stops
// holding the watermark back; an instance whose partitions are all idle says so in band). Event
// time is the Kafka timestamp unless `with_event_time(f, lag)` reads it from the record.
//
// Decoding: `.json()` (the record's nlohmann `from_json`), `.csv()` (a CSV line, fields in the
// order of the record's `inspect`), `.decode(f)` with `f(const
// eddy::kafka::message&) -> T`, or nothing for `T` = `eddy::kafka::message` (the raw record). A
// record that does not decode (the function throws, the JSON is malformed) goes to the dead
// letters with its coordinates (topic/partition@offset) and the reason; the source goes on.
//
// `until_end()` reads what each partition holds when the job starts (its end offsets are part of
// the position, so a recovered instance stops at the same place) and then ends; without it the
// source runs until the job is stopped (stop_with_savepoint).
//
// Replayable (operators/source.hpp): the position is, per assigned partition, the next offset,
// the end offset (until_end) and the largest event time seen. A restored instance seeks there,
// so records after the checkpoint are read again and those before it never. How an instance
// interleaves its partitions depends on what each poll returns: every step (a partition, a
// number of records) is a logged choice (source_context::choose), so an instance recovered alone
// emits exactly the sequence its predecessor did.
#pragma once

#include <eddy/kafka/errc.hpp>
#include <eddy/kafka/internal/client.hpp>
#include <eddy/kafka/message.hpp>
#include <eddy/operators/source.hpp>
#include <eddy/sources/csv_source.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy::kafka {

/// Where a source instance is in one of its partitions.
struct partition_position {
  int32_t partition = 0;
  /// The offset of the next record to read.
  int64_t next = 0;
  /// With until_end: the offset it stops at; -1 otherwise.
  int64_t end = -1;
  /// The largest event time emitted from it (min_time: none).
  int64_t max_time = min_time;
};

/// A topic read as a stream of T.
template <class T>
class topic_source {
public:
  using value_type = T;
  using position_type = std::vector<partition_position>;
  using decode_fn = std::function<T(const message&)>;
  using time_fn = std::function<timestamp(const T&)>;

  topic_source(std::string bootstrap, std::string topic)
      : topic_(std::move(topic)) {
    props_["bootstrap.servers"] = std::move(bootstrap);
    if constexpr (std::is_same_v<T, message>)
      decode_ = [](const message& m) { return m; };
  }

  /// Decodes each record's value as JSON through T's nlohmann `from_json`.
  topic_source json() const {
    auto copy = *this;
    copy.decode_ = [](const message& m) { return nlohmann::json::parse(m.value).get<T>(); };
    return copy;
  }

  /// Decodes each record's value as one CSV line, fields in the order of T's `inspect` (as
  /// csv_source reads a file); a line that does not parse is a dead letter with the reason.
  topic_source csv(char delimiter = ',') const {
    auto copy = *this;
    copy.decode_ = [parser = csv_source<T>{""}.delimiter(delimiter)](const message& m) {
      T x{};
      auto why = parser.parse(m.value, x);
      if (!why.empty())
        throw std::runtime_error("the CSV line " + why);
      return x;
    };
    return copy;
  }

  /// Decodes each record with `f`; a throw makes the record a dead letter with the reason.
  topic_source decode(decode_fn f) const {
    auto copy = *this;
    copy.decode_ = std::move(f);
    return copy;
  }

  /// Event time from the record (default: the Kafka timestamp), watermarks `lag` ms behind the
  /// largest time seen per partition.
  topic_source with_event_time(time_fn f, timestamp lag) const {
    auto copy = *this;
    copy.time_ = std::move(f);
    copy.lag_ = lag;
    return copy;
  }

  /// Event time from the record; the lag stays what it was (max_out_of_orderness, default 0).
  topic_source with_event_time(time_fn f) const {
    auto copy = *this;
    copy.time_ = std::move(f);
    return copy;
  }

  /// Watermarks `lag` ms behind the largest Kafka timestamp seen per partition.
  topic_source max_out_of_orderness(std::chrono::milliseconds lag) const {
    auto copy = *this;
    copy.lag_ = lag.count();
    return copy;
  }

  /// Reads what the partitions hold when the job starts, then ends.
  topic_source until_end() const {
    auto copy = *this;
    copy.bounded_ = true;
    return copy;
  }

  /// A partition with nothing new for `d` (processing time) stops holding the watermark back.
  topic_source idle_after(std::chrono::milliseconds d) const {
    auto copy = *this;
    copy.idle_after_ = d;
    return copy;
  }

  /// A librdkafka consumer setting ("security.protocol", "fetch.max.bytes", ...).
  topic_source property(std::string name, std::string value) const {
    auto copy = *this;
    copy.props_[std::move(name)] = std::move(value);
    return copy;
  }

  /// Calls `f(instance, json)` with librdkafka's statistics of each instance's consumer every
  /// `every` (per partition: fetch position, prefetched records and bytes, lag; per broker:
  /// round-trip times), from librdkafka's thread, also while the instance waits for credit. For
  /// metrics and for watching what a source holds under backpressure.
  topic_source on_statistics(std::function<void(uint32_t, const std::string&)> f,
                             std::chrono::milliseconds every) const {
    auto copy = *this;
    copy.statistics_ = std::move(f);
    copy.props_["statistics.interval.ms"] = std::to_string(every.count());
    return copy;
  }

  /// Commits the offsets of every completed checkpoint to consumer group `id`, so that lag tools
  /// (kafka-consumer-groups, Burrow, kcat) see how far the job has read for good. The job's
  /// position stays in its checkpoints: the group's offsets are read only with
  /// `start_from_committed()`. No group membership, so no rebalancing.
  topic_source group(std::string id) const {
    auto copy = *this;
    copy.props_["group.id"] = std::move(id);
    copy.commit_ = true;
    return copy;
  }

  /// A job that starts without a checkpoint begins where the group (`group(id)`) committed last;
  /// partitions it has not committed, from the beginning.
  topic_source start_from_committed() const {
    auto copy = *this;
    copy.from_committed_ = true;
    return copy;
  }

  /// How long metadata and offset requests may take before the source gives up (default 10 s).
  topic_source request_timeout(std::chrono::milliseconds d) const {
    auto copy = *this;
    copy.timeout_ = d;
    return copy;
  }

  [[nodiscard]] bool timed() const noexcept { return true; }

  /// Before the job starts: the settings are valid, the cluster answers and the topic exists.
  [[nodiscard]] caf::error check() const {
    if (!decode_)
      return make_error(errc::invalid_config,
                        "kafka source '" + topic_ +
                            "': say how to decode its records: .json(), .decode(f), or read "
                            "eddy::kafka::message");
    if (from_committed_ && !commit_)
      return make_error(errc::invalid_config,
                        "kafka source '" + topic_ +
                            "': start_from_committed() needs the group whose offsets to start "
                            "from: add .group(id)");
    auto c = internal::consumer::open(props_);
    if (!c)
      return c.error();
    auto n = c->partitions(topic_, timeout_);
    return n ? caf::error{} : n.error();
  }

  /// Finds the instance's partitions (p % parallelism == instance) and where they start.
  void open(uint32_t instance, uint32_t parallelism) {
    internal::consumer::statistics_fn report;
    if (statistics_)
      report = [f = statistics_, instance](const std::string& json) { f(instance, json); };
    auto c = internal::consumer::open(props_, std::move(report));
    if (!c)
      throw std::runtime_error(describe(c.error()));
    consumer_ = std::make_shared<internal::consumer>(std::move(*c));
    auto n = consumer_->partitions(topic_, timeout_);
    if (!n)
      throw std::runtime_error(describe(n.error()));
    parts_.clear();
    for (int32_t p = 0; p < *n; ++p) {
      if (static_cast<uint32_t>(p) % parallelism != instance)
        continue;
      auto range = consumer_->offsets(topic_, p, timeout_);
      if (!range)
        throw std::runtime_error(describe(range.error()));
      parts_.push_back({p, range->low, bounded_ ? range->high : -1, min_time});
    }
    if (from_committed_)
      start_where_committed();
    state_.assign(parts_.size(), partition_state{});
  }

  /// Commits the offsets of a completed checkpoint's position to the group (see `group`).
  void checkpoint_complete(const position_type& pos) {
    if (!commit_)
      return;
    std::vector<std::pair<int32_t, int64_t>> next;
    for (const auto& p : pos)
      next.emplace_back(p.partition, p.next);
    // For lag tools only: a commit that fails is made good by the next checkpoint's.
    (void)consumer_->commit(topic_, next);
  }

  /// Where the next `produce` continues.
  [[nodiscard]] position_type position() const { return parts_; }

  /// Continues from `pos` (after `open`, before the first `produce`). Throws when `pos` holds
  /// other partitions than this instance reads (the topic or the parallelism changed).
  void seek(const position_type& pos) {
    auto same = pos.size() == parts_.size();
    for (size_t i = 0; same && i < pos.size(); ++i)
      same = pos[i].partition == parts_[i].partition;
    if (!same)
      throw std::runtime_error("kafka source '" + topic_ + "': the checkpoint's position holds " +
                               std::to_string(pos.size()) +
                               " partitions that are not the ones this instance reads now (" +
                               std::to_string(parts_.size()) +
                               "): restore with the topic's partitions and the parallelism the "
                               "source had at the checkpoint");
    parts_ = pos;
  }

  produce_result produce(source_context<T>& ctx) {
    if (!assigned_)
      assign();
    auto size = ctx.batch_size();
    // Up to a few batches wait in memory; a choice being replayed takes what it needs.
    if (buffered_ < 4 * size + 1'024 || choice_)
      poll(size);
    auto now = clock::now();
    settle_ends();
    if (!choice_) {
      if (buffered_ == 0) {
        advance_watermark(ctx, now);
        if (std::all_of(parts_.begin(), parts_.end(), [](const auto& p) { return finished(p); }))
          return {produce_result::done, {}};
        return {produce_result::wait, std::chrono::milliseconds{2}};
      }
      // Which partition, how many: logged, so that a replacement emits the same sequence.
      auto v = ctx.choose([&] { return next_choice(size); });
      choice_ = std::pair<size_t, size_t>{static_cast<size_t>(v >> 32),
                                          static_cast<size_t>(v & 0xFFFF'FFFF)};
      if (choice_->first >= parts_.size())
        throw std::runtime_error(
            "kafka source '" + topic_ + "': a replayed choice names partition slot " +
            std::to_string(choice_->first) + " of " + std::to_string(parts_.size()));
    }
    auto [i, n] = *choice_;
    if (pending_[i].size() < n)
      return {produce_result::wait, std::chrono::milliseconds{1}}; // a replay waits for them
    choice_.reset();
    for (size_t k = 0; k < n; ++k) {
      emit(ctx, i, pending_[i].front());
      pending_[i].pop_front();
    }
    buffered_ -= n;
    advance_watermark(ctx, now);
    return {produce_result::more, {}};
  }

private:
  using clock = std::chrono::steady_clock;

  /// What a partition needs besides its position.
  struct partition_state {
    /// The offset of the next record to take from the consumer (ahead of the position's
    /// `next` by what waits in `pending_`).
    int64_t polled = 0;
    /// When a record last came (idleness).
    clock::time_point last_record{};
    /// A bounded read found no record left before its end offset.
    bool at_end = false;
  };

  /// Marks the bounded partitions whose records have all been emitted as finished, also when
  /// their last offsets hold no record (transaction markers, aborted records).
  void settle_ends() {
    for (size_t i = 0; i < parts_.size(); ++i)
      if (state_[i].at_end && pending_[i].empty() && !(choice_ && choice_->first == i))
        parts_[i].next = std::max(parts_[i].next, parts_[i].end);
  }

  static bool finished(const partition_position& p) noexcept {
    return p.end >= 0 && p.next >= p.end;
  }

  /// Starts reading each unfinished partition at its position.
  void assign() {
    std::vector<std::pair<int32_t, int64_t>> from;
    auto now = clock::now();
    for (size_t i = 0; i < parts_.size(); ++i) {
      state_[i].polled = parts_[i].next;
      state_[i].last_record = now;
      if (!finished(parts_[i]))
        from.emplace_back(parts_[i].partition, parts_[i].next);
    }
    if (auto err = consumer_->assign(topic_, from))
      throw std::runtime_error(describe(err));
    pending_.assign(parts_.size(), {});
    assigned_ = true;
  }

  /// Takes what the consumer has now into the partitions' pending records.
  void poll(size_t max) {
    polled_.clear();
    ends_.clear();
    if (auto err = consumer_->poll(polled_, ends_, max, std::chrono::milliseconds{0}))
      throw std::runtime_error(describe(err));
    for (const auto& [partition, offset] : ends_) {
      auto i = index_of(partition);
      if (i < parts_.size() && parts_[i].end >= 0 && offset >= parts_[i].end)
        state_[i].at_end = true; // nothing more before the end: transaction markers, aborts
    }
    auto now = clock::now();
    for (auto& m : polled_) {
      auto i = index_of(m.partition);
      if (i == parts_.size() || m.offset < state_[i].polled)
        continue; // not ours, or read again after a reassignment
      if (parts_[i].end >= 0 && m.offset >= parts_[i].end)
        continue; // beyond the end this bounded read stops at
      state_[i].polled = m.offset + 1;
      state_[i].last_record = now;
      pending_[i].push_back(std::move(m));
      ++buffered_;
    }
  }

  /// Live: the next partition in turn that has pending records, and up to `max` of them, as
  /// (slot << 32) | count.
  int64_t next_choice(size_t max) {
    for (size_t k = 0; k < parts_.size(); ++k) {
      auto i = (turn_ + k) % parts_.size();
      if (!pending_[i].empty()) {
        turn_ = i + 1;
        auto n = std::min(pending_[i].size(), std::max<size_t>(max, 1));
        return static_cast<int64_t>((uint64_t{i} << 32) | n);
      }
    }
    return 0; // not reached: called with records pending
  }

  /// The index in parts_ of partition `p` (the instance reads a handful).
  size_t index_of(int32_t p) const {
    for (size_t i = 0; i < parts_.size(); ++i)
      if (parts_[i].partition == p)
        return i;
    return parts_.size();
  }

  /// Emits record `m` of partition slot `i` (or dead-letters it) and moves the position past it.
  void emit(source_context<T>& ctx, size_t i, const message& m) {
    auto& p = parts_[i];
    p.next = m.offset + 1;
    try {
      T x = decode_(m);
      timestamp t = time_ ? time_(x) : (m.timestamp >= 0 ? m.timestamp : 0);
      p.max_time = std::max<int64_t>(p.max_time, t);
      ctx.emit(std::move(x), t);
    } catch (const std::exception& e) {
      ctx.dead_letter(std::string{"cannot decode: "} + e.what(), m.value,
                      "kafka://" + m.coordinates());
    }
  }

  /// The minimum over the partitions still holding it back of (largest time - lag - 1).
  void advance_watermark(source_context<T>& ctx, clock::time_point now) {
    std::optional<int64_t> wm;
    bool all_idle = true;
    for (size_t i = 0; i < parts_.size(); ++i) {
      const auto& p = parts_[i];
      if (finished(p))
        continue;
      // Records waiting here (under backpressure) keep a partition busy, however long ago
      // they came.
      bool idle = idle_after_.count() > 0 && pending_[i].empty() &&
                  now - state_[i].last_record >= idle_after_;
      if (idle)
        continue;
      all_idle = false;
      auto w = p.max_time == min_time ? min_time : p.max_time - lag_ - 1;
      wm = wm ? std::min(*wm, w) : w;
    }
    if (wm && *wm != min_time && *wm > emitted_wm_) {
      emitted_wm_ = *wm;
      ctx.watermark(*wm);
    } else if (!wm && all_idle && idle_after_.count() > 0) {
      // Every unfinished partition is idle: the rest of the job goes on without this instance
      // (its watermark stays where it is, as Flink's idle status does).
      ctx.mark_idle();
    }
  }

  /// Starts each partition where the group committed last (its offset must still be there).
  void start_where_committed() {
    std::vector<int32_t> ids;
    for (const auto& p : parts_)
      ids.push_back(p.partition);
    auto offsets = consumer_->committed(topic_, ids, timeout_);
    if (!offsets)
      throw std::runtime_error(describe(offsets.error()));
    for (size_t i = 0; i < parts_.size(); ++i) {
      auto at = (*offsets)[i];
      if (at < 0)
        continue; // nothing committed: from the beginning
      if (at < parts_[i].next)
        throw std::runtime_error(
            "kafka source '" + topic_ + "': the group's committed offset " + std::to_string(at) +
            " of partition " + std::to_string(parts_[i].partition) +
            " is gone (retention deleted the records up to " + std::to_string(parts_[i].next) +
            "); start from a checkpoint, or without start_from_committed()");
      parts_[i].next = parts_[i].end >= 0 ? std::min(at, parts_[i].end) : at;
    }
  }

  std::string topic_;
  internal::properties props_;
  decode_fn decode_;
  time_fn time_;
  timestamp lag_ = 0;
  bool bounded_ = false;
  bool commit_ = false;
  bool from_committed_ = false;
  std::chrono::milliseconds idle_after_{0};
  std::chrono::milliseconds timeout_{10'000};
  std::function<void(uint32_t, const std::string&)> statistics_;

  // -- per instance (after open) --
  std::shared_ptr<internal::consumer> consumer_;
  position_type parts_;
  std::vector<partition_state> state_;
  bool assigned_ = false;
  /// Records taken from the consumer and not emitted yet, per partition slot, and their count.
  std::vector<std::deque<message>> pending_;
  size_t buffered_ = 0;
  /// The choice being carried out (partition slot, records), waiting for its records.
  std::optional<std::pair<size_t, size_t>> choice_;
  /// The slot the next live choice starts looking at.
  size_t turn_ = 0;
  std::vector<message> polled_;
  std::vector<std::pair<int32_t, int64_t>> ends_;
  timestamp emitted_wm_ = min_time;
};

/// Reads `topic` of the cluster at `bootstrap` ("host:port,...") as a stream of T.
template <class T>
topic_source<T> from_topic(std::string bootstrap, std::string topic) {
  return topic_source<T>{std::move(bootstrap), std::move(topic)};
}

} // namespace eddy::kafka
