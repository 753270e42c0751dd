// What a source is: any object that emits records into a `source_context<T>` when asked.
//
//   struct counter {                       // emits 0..n-1, one batch per call
//     using value_type = uint64_t;
//     uint64_t next = 0, n = 1000;
//     eddy::produce_result produce(eddy::source_context<uint64_t>& ctx) {
//       for (size_t i = 0; i < ctx.batch_size() && next < n; ++i)
//         ctx.emit(next++);
//       return {next < n ? eddy::produce_result::more : eddy::produce_result::done, {}};
//     }
//   };
//   auto s = job.source(counter{});
//
// Optional members: `void open(uint32_t instance, uint32_t parallelism)` (called once per
// instance, on a copy of the object), `caf::error check() const` (run before the job starts:
// a missing file is an error then), `bool timed() const` (records carry event times),
// `static constexpr uint32_t max_parallelism` (a file source reads with one instance).
//
// A replayable source (one that checkpoints can restart) also has all three of:
//   `using position_type = ...;`  where reading is, encodable with state/codec.hpp (a trivially
//                                 copyable struct, integers, strings, vectors, tuples);
//   `position_type position() const`  where the next `produce` continues: everything emitted so
//                                 far (records, watermarks, dead letters) is before it, and what
//                                 the source needs to go on as if never stopped (its watermark,
//                                 its counters) is in it;
//   `void seek(const position_type&)`  called after `open`, before the first `produce`, on a
//                                 fresh copy: continue from that position. Throw
//                                 std::runtime_error with a sentence when it cannot (the file
//                                 changed, the parallelism differs).
// A checkpoint stores the position as the instance's operator state, and recovery seeks a new
// instance there. A job with checkpoints refuses a source without these three. Optional with
// them: `void checkpoint_complete(const position_type&)`, called with the position a checkpoint
// stored once that checkpoint completed (Kafka commits it to a consumer group for lag tools).
#pragma once

#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/state/codec.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

/// What a source emits into.
template <class T>
class source_context {
public:
  source_context(task& t, output<T>& out) noexcept
      : task_(t)
      , out_(out) {}

  /// Emits a record without an event time.
  void emit(T x) { out_.emit(std::move(x), min_time); }

  /// Emits a record with event time `t`.
  void emit(T x, timestamp t) { out_.emit(std::move(x), t); }

  /// Emits a whole batch (records and, when timed, their times) without copying.
  void emit_batch(batch<T>&& b) { out_.emit_batch(std::move(b)); }

  /// Declares that no record at or before `t` follows.
  void watermark(timestamp t) { task_.advance_watermark(t); }

  /// Declares this instance idle until it emits again: downstream operators stop waiting for
  /// its watermark (Flink's WatermarkStatus.IDLE).
  void mark_idle() { task_.mark_idle(); }
  /// A choice the source makes from outside input that is not in its position (which of its
  /// partitions to emit from next, and how many records): `f()` decides it live. When the job
  /// recovers a task alone, the replacement gets its predecessor's choices back in the same
  /// order (they are determinants), so it emits the same records in the same order and the
  /// tasks it feeds can drop what they have seen.
  int64_t choose(const std::function<int64_t()>& f) { return task_.read_clock(f); }

  /// Sends a bad input to the dead-letter output, with where it came from and why.
  void dead_letter(std::string reason, std::string record, std::string origin) {
    task_.dead_letter(std::move(reason), std::move(record), std::move(origin));
  }

  [[nodiscard]] uint32_t instance() const noexcept { return task_.instance(); }
  [[nodiscard]] uint32_t parallelism() const noexcept { return task_.parallelism(); }
  /// Records per batch on this source's channels now: the configured size, or less while a
  /// consumer debloats (see channel_config::debloat_target).
  [[nodiscard]] size_t batch_size() const noexcept {
    return std::min(records_per_batch<T>(task_.channels()), out_.batch_limit());
  }

private:
  task& task_;
  output<T>& out_;
};

namespace internal {

template <class S, class = void>
struct has_open : std::false_type {};
template <class S>
struct has_open<S, std::void_t<decltype(std::declval<S&>().open(uint32_t{}, uint32_t{}))>>
    : std::true_type {};

template <class S, class = void>
struct has_check : std::false_type {};
template <class S>
struct has_check<S, std::void_t<decltype(std::declval<const S&>().check())>> : std::true_type {};

template <class S, class = void>
struct has_timed : std::false_type {};
template <class S>
struct has_timed<S, std::void_t<decltype(std::declval<const S&>().timed())>> : std::true_type {};

template <class S, class = void>
struct has_finish : std::false_type {};
template <class S>
struct has_finish<S, std::void_t<decltype(std::declval<S&>().finish())>> : std::true_type {};

template <class S, class = void>
struct has_checkpoint_complete : std::false_type {};
template <class S>
struct has_checkpoint_complete<S, std::void_t<decltype(std::declval<S&>().checkpoint_complete(
                                      std::declval<const typename S::position_type&>()))>>
    : std::true_type {};

template <class S, class = void>
struct max_parallelism_of : std::integral_constant<uint32_t, 0> {};
template <class S>
struct max_parallelism_of<S, std::void_t<decltype(S::max_parallelism)>>
    : std::integral_constant<uint32_t, S::max_parallelism> {};

/// True when `S` is replayable: `position_type`, `position() const` and `seek(const
/// position_type&)`.
template <class S, class = void>
struct has_position : std::false_type {};
template <class S>
struct has_position<
    S,
    std::void_t<typename S::position_type,
                decltype(std::declval<S&>().seek(std::declval<const typename S::position_type&>())),
                std::enable_if_t<std::is_convertible_v<
                    decltype(std::declval<const S&>().position()), typename S::position_type>>>>
    : std::true_type {};

/// `S::position_type`, or an empty type for a source that has none.
template <class S, class = void>
struct position_type_of_t {
  struct type {};
};
template <class S>
struct position_type_of_t<S, std::void_t<typename S::position_type>> {
  using type = typename S::position_type;
};
template <class S>
using position_type_of = typename position_type_of_t<S>::type;

/// The first four bytes of a source position in a checkpoint (the codec bytes follow).
inline constexpr char source_position_magic[4] = {'E', 'S', 'P', '1'};

/// Per-instance logic of a source.
template <class T, class S>
class source_logic final : public unary_logic<T> {
public:
  source_logic(task& t, const instance_wiring& w, S src)
      : unary_logic<T>(t, w)
      , src_(std::move(src))
      , ctx_(t, this->out_) {
    if constexpr (has_open<S>::value)
      src_.open(t.instance(), t.parallelism());
  }

  caf::message_handler handlers(task&) override { return caf::message_handler{}; }

  [[nodiscard]] bool is_source() const noexcept override { return true; }

  produce_result produce(task& t) override {
    try {
      return src_.produce(ctx_);
    } catch (const std::exception& e) {
      t.fail("source " + t.origin() + " failed: " + e.what());
    } catch (...) {
      t.fail("source " + t.origin() + " failed with an unknown exception");
    }
    return {produce_result::done, {}};
  }

  /// Writes the source's position (a replayable source), else nothing.
  void snapshot(task&, checkpoint_id id, instance_state& out) override {
    if constexpr (has_position<S>::value) {
      auto pos = src_.position();
      auto bytes = state::encode<typename S::position_type>(pos);
      out.operator_state.assign(source_position_magic, sizeof(source_position_magic));
      out.operator_state.append(bytes.data(), bytes.size());
      if constexpr (has_checkpoint_complete<S>::value)
        taken_.emplace_back(id, std::move(pos));
    }
  }

  /// Tells the source the position of checkpoint `id`, which completed (and forgets it and
  /// older ones).
  void on_checkpoint_complete(task& t, checkpoint_id id) override {
    if constexpr (has_checkpoint_complete<S>::value) {
      auto it =
          std::find_if(taken_.begin(), taken_.end(), [id](const auto& x) { return x.first == id; });
      if (it == taken_.end())
        return;
      try {
        src_.checkpoint_complete(it->second);
      } catch (const std::exception& e) {
        t.fail("source " + t.origin() + " failed after checkpoint " + std::to_string(id) + ": " +
               e.what());
      }
      taken_.erase(taken_.begin(), it + 1);
    } else {
      (void)t;
      (void)id;
    }
  }

  /// Seeks the source to the position in `in`; no position (an instance index the checkpoint
  /// did not have): from the beginning.
  void restore(task& t, checkpoint_id id, instance_state&& in) override {
    if (in.operator_state.empty())
      return;
    if constexpr (has_position<S>::value) {
      const auto& bytes = in.operator_state;
      typename S::position_type pos{};
      constexpr auto magic = sizeof(source_position_magic);
      bool ok = bytes.size() >= magic &&
                std::memcmp(bytes.data(), source_position_magic, magic) == 0 &&
                state::decode(std::vector<char>(bytes.begin() + magic, bytes.end()), pos);
      if (!ok)
        throw std::runtime_error("source " + t.origin() + " cannot restore checkpoint " +
                                 std::to_string(id) + ": its position (" +
                                 std::to_string(bytes.size()) +
                                 " bytes) does not decode; it was written by another source or "
                                 "another version of it");
      src_.seek(pos);
    } else {
      throw std::runtime_error("source " + t.origin() + " cannot restore checkpoint " +
                               std::to_string(id) +
                               ": it has state there, but is not replayable (no position_type, "
                               "position() and seek())");
    }
  }

private:
  /// The user's source object, one copy per instance.
  S src_;
  /// What it emits into.
  source_context<T> ctx_;
  /// Positions of checkpoints taken and not completed yet (with checkpoint_complete).
  std::vector<std::pair<checkpoint_id, position_type_of<S>>> taken_;
};

} // namespace internal
} // namespace eddy
