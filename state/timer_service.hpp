// timer_service: timers per key, in event time and in processing time, partitioned by key group
// like every other piece of keyed state, so a checkpoint can write one key group's timers to bytes
// and a restore (or a rescale) can read them back.
//
//   eddy::state::timer_service<uint64_t> timers;
//   timers.register_timer(kg, user, 60'000, eddy::state::time_domain::event);   // once per time
//   timers.register_timer(kg, user, 60'000, eddy::state::time_domain::event);   // no duplicate
//   timers.fire_due(eddy::state::time_domain::event, watermark,
//                   [](const auto& timer) { /* on_timer(timer.key, timer.time) */ });
//
// A timer fires once, in order of time (ties: key group, then key), when its domain's clock
// reaches it: the watermark for event time, the runtime's (logged, injectable) processing-time
// clock for processing time. Registering a timer that exists is a no-op; deleting one that does
// not is too. Keys need `operator<` (timers are kept in order).
#pragma once

#include <eddy/state/codec.hpp>
#include <eddy/state/errc.hpp>

#include <caf/error.hpp>

#include <cstdint>
#include <set>
#include <tuple>
#include <vector>

namespace eddy::state {

/// Which clock a timer follows.
enum class time_domain : uint8_t {
  /// The watermark.
  event = 0,
  /// Wall-clock time as the runtime reads (and logs) it.
  processing = 1,
};

/// One timer: a key, its key group, a time and a domain.
template <class K>
struct timer {
  /// When it fires, in ms of its domain.
  int64_t time = 0;
  /// The key group of `key`.
  uint32_t kg = 0;
  /// The key it belongs to.
  K key{};

  friend bool operator<(const timer& x, const timer& y) {
    return std::tie(x.time, x.kg, x.key) < std::tie(y.time, y.kg, y.key);
  }
  friend bool operator==(const timer& x, const timer& y) {
    return x.time == y.time && x.kg == y.kg && x.key == y.key;
  }
};

/// Event-time and processing-time timers of one operator instance.
template <class K>
class timer_service {
public:
  /// Adds a timer (nothing happens when it exists).
  void register_timer(uint32_t kg, const K& key, int64_t time, time_domain d) {
    queue(d).insert(timer<K>{time, kg, key});
  }

  /// Removes a timer (nothing happens when it does not exist).
  void delete_timer(uint32_t kg, const K& key, int64_t time, time_domain d) {
    queue(d).erase(timer<K>{time, kg, key});
  }

  /// Fires, in order, every timer of domain `d` at or before `now`: `f(const timer<K>&)`. Timers
  /// that `f` registers at or before `now` fire in the same call.
  template <class F>
  size_t fire_due(time_domain d, int64_t now, F&& f) {
    auto& q = queue(d);
    size_t n = 0;
    while (!q.empty() && q.begin()->time <= now) {
      auto t = *q.begin();
      q.erase(q.begin());
      f(t);
      ++n;
    }
    return n;
  }

  /// The earliest timer of domain `d`, or nullptr.
  [[nodiscard]] const timer<K>* next(time_domain d) const {
    auto& q = queue(d);
    return q.empty() ? nullptr : &*q.begin();
  }

  /// Timers pending in domain `d`.
  [[nodiscard]] size_t size(time_domain d) const noexcept { return queue(d).size(); }

  /// Writes the timers of key group `kg` (both domains): a count, then (domain, time, key) each.
  [[nodiscard]] std::vector<char> write_key_group(uint32_t kg) const {
    std::vector<char> bytes;
    byte_writer out{bytes};
    uint64_t count = 0;
    for (auto* q : {&event_, &processing_})
      for (const auto& t : *q)
        count += t.kg == kg;
    out.write_raw(count);
    for (uint8_t d = 0; d < 2; ++d)
      for (const auto& t : d == 0 ? event_ : processing_) {
        if (t.kg != kg)
          continue;
        out.write_raw(d);
        out.write_raw(t.time);
        codec<K>::write(out, t.key);
      }
    return bytes;
  }

  /// Replaces the timers of key group `kg` with those in `bytes`; refuses damaged bytes and
  /// then changes nothing.
  [[nodiscard]] caf::error read_key_group(uint32_t kg, const std::vector<char>& bytes) {
    byte_reader in{bytes.data(), bytes.size()};
    uint64_t count = 0;
    std::vector<std::pair<uint8_t, timer<K>>> staged;
    auto damaged = [&] {
      return make_error(errc::corrupt_key_group,
                        "the timers of key group " + std::to_string(kg) +
                            " are damaged or truncated: restore from another checkpoint");
    };
    if (!in.read_raw(count) || count > in.remaining())
      return damaged();
    for (uint64_t i = 0; i < count; ++i) {
      uint8_t d = 0;
      timer<K> t;
      t.kg = kg;
      if (!in.read_raw(d) || d > 1 || !in.read_raw(t.time) || !codec<K>::read(in, t.key))
        return damaged();
      staged.emplace_back(d, std::move(t));
    }
    if (!in.at_end())
      return damaged();
    for (auto* q : {&event_, &processing_})
      for (auto it = q->begin(); it != q->end();)
        it = it->kg == kg ? q->erase(it) : std::next(it);
    for (auto& [d, t] : staged)
      queue(static_cast<time_domain>(d)).insert(std::move(t));
    return caf::none;
  }

private:
  std::set<timer<K>>& queue(time_domain d) noexcept {
    return d == time_domain::event ? event_ : processing_;
  }
  const std::set<timer<K>>& queue(time_domain d) const noexcept {
    return d == time_domain::event ? event_ : processing_;
  }

  /// Event-time timers, in firing order.
  std::set<timer<K>> event_;
  /// Processing-time timers, in firing order.
  std::set<timer<K>> processing_;
};

} // namespace eddy::state
