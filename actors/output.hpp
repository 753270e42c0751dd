// The sending side of a task: buffers, batches and credits per downstream channel.
//
// An `output<T>` owns one `out_channel<T>` per (edge, downstream instance). Records are appended
// to the channel's buffer; a full buffer becomes a batch. A batch is sent only while the channel
// has credit (granted by the receiver, one per batch it has consumed); otherwise it waits in the
// channel's queue and the output reports `blocked()`, which makes the task stop consuming its own
// inputs. Memory is thereby bounded by credits x batch size per channel.
//
//   eddy::output<int> out{self, metrics, /*timed=*/false};
//   out.add_edge(eddy::partitioning::forward, nullptr, {{downstream, /*input=*/0}}, cfg);
//   out.emit(42, eddy::min_time);
//   if (out.blocked()) { /* wait for credit */ }
#pragma once

#include <eddy/actors/atoms.hpp>
#include <eddy/actors/batch_sizer.hpp>
#include <eddy/actors/channel_config.hpp>
#include <eddy/actors/messages.hpp>
#include <eddy/actors/metrics.hpp>
#include <eddy/actors/partitioning.hpp>
#include <eddy/actors/snapshot.hpp>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace eddy {

/// One downstream instance's input, as seen from the sender.
struct channel_target {
  /// The receiving task.
  caf::actor dest;
  /// Index of the receiver's input this channel feeds.
  uint32_t input = 0;
  /// The receiver's incarnation: the credit it grants names it, so a sender that replaced a
  /// failed one must start from the receiver's current incarnation (or ignore all its credit).
  uint32_t epoch = 0;
  /// Every message of the channel (batches, watermarks, barriers, its end) goes with CAF's high
  /// priority: the receiver takes it before the normal messages queued in its mailbox (the
  /// channel keeps its own order).
  bool urgent = false;
};

/// The type-independent face of an output, used by the task actor.
class output_base {
public:
  virtual ~output_base() = default;
  /// Adds `amount` credit to channel `origin` and sends what it allows.
  virtual void on_credit(uint32_t origin, uint32_t amount) = 0;
  /// The most records a batch may hold now on every channel (see batch_sizer).
  [[nodiscard]] virtual size_t batch_limit() const noexcept = 0;
  /// True while some channel holds batches it cannot send for lack of credit.
  [[nodiscard]] virtual bool blocked() const noexcept = 0;
  /// True when some buffer holds records not yet in a batch.
  [[nodiscard]] virtual bool has_partial() const noexcept = 0;
  /// Turns every non-empty buffer into a batch (sent or queued).
  virtual void flush() = 0;
  /// Sends a control message on every channel, after the data before it.
  virtual void broadcast_control(control_kind kind, int64_t value) = 0;
  /// Number of batches and controls queued for lack of credit.
  [[nodiscard]] virtual size_t queued() const noexcept = 0;
  /// Records emitted so far (a source is idle while this does not change).
  [[nodiscard]] virtual uint64_t emitted() const noexcept = 0;

  // -- recovery (see out_channel) ---------------------------------------------------------------

  /// Adds `amount` credit to channel `origin` from a receiver of incarnation `epoch`, which asks
  /// for batches of at most `limit` records (0: no change).
  virtual void on_credit(uint32_t origin, uint32_t amount, uint32_t epoch, uint32_t limit) = 0;
  /// Numbers what every channel sends as incarnation `epoch` of this sender.
  virtual void set_epoch(uint32_t epoch) = 0;
  /// Keeps what every channel sends since the last completed checkpoint, up to `limit` bytes
  /// per channel, to replay it to a replaced receiver; what is sent from now on follows the
  /// barrier of checkpoint `start`.
  virtual void enable_log(size_t limit, checkpoint_id start) = 0;
  /// Checkpoint `id` completed: what preceded its barrier is no longer needed.
  virtual void trim_log(checkpoint_id id) = 0;

  // -- fault injection --------------------------------------------------------------------------

  /// Holds back what every channel sends by a random time up to `max` (seeded by `seed` and the
  /// channel), keeping each channel's order: a receiver's other channels may overtake it. The
  /// sender gets `delay_atom` when something held back is due, and calls `release_delayed`.
  virtual void set_delay(caf::timespan max, uint64_t seed) = 0;
  /// Sends what the delay held back and is due now.
  virtual void release_delayed() = 0;
  /// Every channel to `old` now goes to `dest` (incarnation `epoch`), which restarted from
  /// checkpoint `from`: resends what followed that checkpoint's barrier. False when a log
  /// cannot (it overflowed): the job must then restart as a whole.
  virtual bool rewire(const caf::actor_addr& old, const caf::actor& dest, uint32_t epoch,
                      checkpoint_id from) = 0;
  /// The sequence number of the next record of every channel, in channel order.
  [[nodiscard]] virtual std::vector<uint64_t> sequence_numbers() const = 0;
  /// Continues the numbering of every channel (after a restore).
  virtual void set_sequence_numbers(const std::vector<uint64_t>& seqs) = 0;
};

/// One channel: a buffer being filled, a queue waiting for credit, and the credit left.
///
/// For recovery a channel numbers its records (`batch::seq`) and its sender's incarnation
/// (`epoch`), and, with the log on, keeps what it sent since the last completed checkpoint's
/// barrier: when its receiver is replaced alone, `rewire` sends that again to the replacement,
/// which restarted from the checkpoint.
template <class T>
class out_channel {
public:
  using item = std::variant<batch<T>, control>;

  out_channel(caf::event_based_actor* self, channel_target target, uint32_t origin,
              const channel_config& cfg, instance_metrics* metrics, bool timed)
      : self_(self)
      , target_(std::move(target))
      , origin_(origin)
      , credit_(cfg.initial_credit)
      , initial_credit_(cfg.initial_credit)
      , max_batch_(records_per_batch<T>(cfg))
      , batch_size_(cfg.debloat_target.count() > 0
                        ? std::min<size_t>(max_batch_, debloat_start_batch)
                        : max_batch_)
      , timed_(timed)
      , metrics_(metrics) {
    target_epoch_ = target_.epoch;
    reset_buffer();
  }

  // -- recovery ---------------------------------------------------------------------------------

  void set_epoch(uint32_t epoch) noexcept { epoch_ = epoch; }

  [[nodiscard]] uint64_t next_seq() const noexcept { return next_seq_ + buf_.items.size(); }

  void set_next_seq(uint64_t seq) noexcept { next_seq_ = seq; }

  [[nodiscard]] const caf::actor& dest() const noexcept { return target_.dest; }

  /// Fault injection: see output_base::set_delay.
  void set_delay(caf::timespan max, uint64_t seed) {
    delay_max_ = max;
    delay_rng_.seed(seed);
  }

  /// Sends what the delay held back and is due now, in order; asks for the next wake-up.
  void release_delayed() {
    wake_armed_ = false;
    auto now = std::chrono::steady_clock::now();
    while (!delayed_.empty() && delayed_.front().first <= now) {
      std::visit([this](auto& x) { this->send_now(std::move(x)); }, delayed_.front().second);
      delayed_.pop_front();
    }
    arm_wake(now);
  }

  /// Logs what is sent from here on, which follows the barrier of checkpoint `start`.
  void enable_log(size_t limit, checkpoint_id start) noexcept {
    log_limit_ = limit;
    logging_ = limit > 0;
    log_start_ = start;
  }

  void trim_log(checkpoint_id id) {
    if (!logging_ || !log_valid_ || id <= log_start_)
      return;
    for (size_t k = 0; k < log_.size(); ++k)
      if (is_barrier(log_[k], id)) {
        for (size_t j = 0; j <= k; ++j)
          log_bytes_ -= bytes_of(log_[j]);
        log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(k) + 1);
        log_start_ = id;
        return;
      }
  }

  bool rewire(const caf::actor& dest, uint32_t epoch, checkpoint_id from) {
    if (!logging_ || !log_valid_ || from < log_start_)
      return false;
    if (from > log_start_) {
      trim_log(from);
      if (log_start_ != from)
        return false; // the barrier of `from` was never sent here
    }
    // What was sent since the barrier goes out again, before what still waits for credit (which
    // may hold what an earlier rewire put there to send again). What a delay holds back is in
    // the log: it goes again from there, in order.
    delayed_.clear();
    replay_left_ += log_.size();
    while (!log_.empty()) {
      queue_.push_front(std::move(log_.back()));
      log_.pop_back();
    }
    log_bytes_ = 0;
    target_.dest = dest;
    target_epoch_ = epoch;
    credit_ = initial_credit_;
    drain();
    return true;
  }

  /// Appends a record; ships the buffer when it is full.
  template <class U>
  void push(U&& x, timestamp t) {
    buf_.items.emplace_back(std::forward<U>(x));
    if (timed_)
      buf_.times.push_back(t);
    if (buf_.items.size() >= batch_size_)
      ship(false);
    else if (target_.urgent)
      ship(true); // a steering record (a model version) goes at once, not at the batch's end
  }

  /// Sends a whole batch as it is (after whatever is buffered).
  void ship(batch<T>&& b) {
    ship(b.urgent);
    if (!timed_)
      b.times.clear();
    b.seq = next_seq_;
    next_seq_ += b.items.size();
    enqueue(std::move(b));
  }

  /// Turns the buffer into a batch, sending it if credit allows; `urgent` marks a batch sent
  /// before it was full.
  void ship(bool urgent) {
    if (buf_.items.empty())
      return;
    buf_.urgent = urgent;
    buf_.seq = next_seq_;
    next_seq_ += buf_.items.size();
    enqueue(std::move(buf_));
    reset_buffer();
    if (deferred_watermark_ != min_time) {
      enqueue(control{target_.input, origin_, control_kind::watermark, deferred_watermark_});
      deferred_watermark_ = min_time;
    }
  }

  /// Sends a control message after the data before it. A watermark waits for the buffer.
  void send_control(control_kind kind, int64_t value) {
    if (kind == control_kind::watermark && !buf_.items.empty()) {
      deferred_watermark_ = std::max(deferred_watermark_, value);
      return;
    }
    ship(true);
    enqueue(control{target_.input, origin_, kind, value});
  }

  void on_credit(uint32_t amount, uint32_t epoch = 0, uint32_t limit = 0) {
    if (epoch != target_epoch_)
      return; // granted by a receiver that was replaced since
    if (limit != 0)
      batch_size_ = std::min<size_t>(max_batch_, limit);
    credit_ += amount;
    metrics_->in_flight.fetch_sub(amount, std::memory_order_relaxed);
    drain();
  }

  [[nodiscard]] bool blocked() const noexcept { return !queue_.empty(); }
  /// Records per batch now: the configured size, or less while the receiver debloats.
  [[nodiscard]] size_t batch_size() const noexcept { return batch_size_; }
  [[nodiscard]] bool has_partial() const noexcept { return !buf_.items.empty(); }
  /// Batches and controls not sent yet: waiting for credit, or held back by a delay.
  [[nodiscard]] size_t queued() const noexcept { return queue_.size() + delayed_.size(); }

private:
  void reset_buffer() {
    buf_ = batch<T>{};
    buf_.items.reserve(batch_size_);
    if (timed_)
      buf_.times.reserve(batch_size_);
  }

  void enqueue(item&& x) {
    queue_.emplace_back(std::move(x));
    drain();
  }

  void drain() {
    while (!queue_.empty()) {
      auto& front = queue_.front();
      if (auto* b = std::get_if<batch<T>>(&front)) {
        if (credit_ == 0)
          return;
        --credit_;
        b->input = target_.input;
        b->origin = origin_;
        b->epoch = epoch_;
        if (replay_left_ > 0) {
          // Sent again to a replaced receiver: not new output.
          --replay_left_;
          metrics_->add(metrics_->records_replayed, b->items.size());
        } else {
          metrics_->add(metrics_->batches_out, 1);
          metrics_->add(metrics_->records_out, b->items.size());
        }
        auto now = metrics_->in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
        metrics_->raise(metrics_->peak_in_flight, now);
        if (logging_)
          log(*b);
        transmit(std::move(*b));
      } else {
        auto& c = std::get<control>(front);
        c.epoch = epoch_;
        if (replay_left_ > 0)
          --replay_left_;
        if (logging_)
          log(c);
        transmit(std::move(c));
      }
      queue_.pop_front();
    }
  }

  /// Sends `x`, or holds it back when a delay is injected.
  template <class X>
  void transmit(X&& x) {
    if (delay_max_.count() <= 0) {
      send_now(std::forward<X>(x));
      return;
    }
    auto now = std::chrono::steady_clock::now();
    auto due = now + caf::timespan{
                         std::uniform_int_distribution<int64_t>{0, delay_max_.count()}(delay_rng_)};
    if (!delayed_.empty())
      due = std::max(due, delayed_.back().first); // a channel keeps its order
    delayed_.emplace_back(due, item{std::forward<X>(x)});
    arm_wake(now);
  }

  /// Sends `x` to the receiver, with high priority on an urgent channel.
  template <class X>
  void send_now(X&& x) {
    if (target_.urgent)
      self_->template send<caf::message_priority::high>(target_.dest, std::forward<X>(x));
    else
      self_->send(target_.dest, std::forward<X>(x));
  }

  /// Asks the sender for a wake-up when the first message held back is due.
  void arm_wake(std::chrono::steady_clock::time_point now) {
    if (wake_armed_ || delayed_.empty())
      return;
    wake_armed_ = true;
    self_->delayed_send(self_, std::max(delayed_.front().first - now, caf::timespan{0}),
                        delay_atom::value);
  }

  static bool is_barrier(const item& x, checkpoint_id id) {
    auto* c = std::get_if<control>(&x);
    return c && c->kind == control_kind::barrier && c->value == id;
  }

  static size_t bytes_of(const item& x) {
    if (auto* b = std::get_if<batch<T>>(&x))
      return b->items.size() * sizeof(T) + b->times.size() * sizeof(timestamp) + sizeof(*b);
    return sizeof(control);
  }

  /// Keeps a copy of what is sent; past the limit the log is dropped until the next barrier.
  template <class X>
  void log(const X& x) {
    if (!log_valid_) {
      if constexpr (std::is_same_v<X, control>) {
        if (x.kind == control_kind::barrier) {
          // A fresh start: replays from this checkpoint on are possible again.
          log_valid_ = true;
          log_start_ = x.value;
        }
      }
      return;
    }
    log_.emplace_back(x);
    log_bytes_ += bytes_of(log_.back());
    if (log_bytes_ > log_limit_) {
      log_.clear();
      log_bytes_ = 0;
      log_valid_ = false;
      metrics_->add(metrics_->log_overflows, 1);
    }
  }

  /// The sending actor.
  caf::event_based_actor* self_;
  /// Where this channel goes.
  channel_target target_;
  /// This channel's id within its output.
  uint32_t origin_;
  /// Batches the receiver still accepts.
  uint32_t credit_;
  /// Credit a new receiver grants.
  uint32_t initial_credit_;
  /// This sender's incarnation.
  uint32_t epoch_ = 0;
  /// The receiver's incarnation (its credit of earlier ones is ignored).
  uint32_t target_epoch_ = 0;
  /// Sequence number of the first record in `buf_` (the next one shipped).
  uint64_t next_seq_ = 0;
  /// What was sent since barrier `log_start_` (0: the channel's start), when logging.
  std::deque<item> log_;
  /// Fault injection: the longest delay (0: none), its random source, what is held back with
  /// when it is due, and whether a wake-up is asked for.
  caf::timespan delay_max_{0};
  std::mt19937_64 delay_rng_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, item>> delayed_;
  bool wake_armed_ = false;
  bool logging_ = false;
  bool log_valid_ = true;
  checkpoint_id log_start_ = 0;
  size_t log_bytes_ = 0;
  size_t log_limit_ = 0;
  /// Items at the front of `queue_` that are sent again after a rewire.
  size_t replay_left_ = 0;
  /// Records per batch as configured, and now (lower while the receiver debloats).
  size_t max_batch_;
  size_t batch_size_;
  /// Whether batches carry event times.
  bool timed_;
  /// The buffer being filled.
  batch<T> buf_;
  /// Batches and controls waiting for credit, in order.
  std::deque<item> queue_;
  /// A watermark to send right after the buffer ships.
  timestamp deferred_watermark_ = min_time;
  /// The owning instance's metrics.
  instance_metrics* metrics_;
};

/// All outgoing edges of one task, with the partitioning of each.
template <class T>
class output final : public output_base {
public:
  using hash_fn = std::function<uint64_t(const T&)>;
  using key_error_fn = std::function<void(const std::string& what, const T& record)>;

  output(caf::event_based_actor* self, instance_metrics* metrics, bool timed, uint32_t instance)
      : self_(self)
      , metrics_(metrics)
      , timed_(timed)
      , instance_(instance) {}

  /// Numbers this output's channels from `base` on, in the credit messages that come back: a
  /// task with side outputs gives each output its own range (see output_set). Call before
  /// `add_edge`.
  void set_origin_base(uint32_t base) noexcept { origin_base_ = base; }

  /// Adds an edge to `targets` (all instances of the consumer, in order).
  void add_edge(partitioning kind, hash_fn hash, const std::vector<channel_target>& targets,
                const channel_config& cfg) {
    edge e;
    e.kind = kind;
    e.hash = std::move(hash);
    e.key_groups = cfg.key_groups;
    e.next = instance_;
    hashed_ = hashed_ || kind == partitioning::hash;
    for (const auto& t : targets) {
      auto origin = origin_base_ + static_cast<uint32_t>(channels_.size());
      channels_.push_back(
          std::make_unique<out_channel<T>>(self_, t, origin, cfg, metrics_, timed_));
      e.channels.push_back(channels_.back().get());
    }
    edges_.push_back(std::move(e));
  }

  /// Sends `x` (with event time `t`) along every edge. The keys of hash-partitioned edges are
  /// computed first: when a key function throws, the record goes out on no edge and the key
  /// error handler gets it (see `on_key_error`).
  template <class U>
  void emit(U&& x, timestamp t) {
    ++emitted_;
    if (hashed_ && !compute_keys(x))
      return;
    for (size_t i = 0; i + 1 < edges_.size(); ++i)
      route(edges_[i], T{x}, t);
    if (!edges_.empty())
      route(edges_.back(), std::forward<U>(x), t);
  }

  /// Sends a whole batch; moves it without copying records when one channel takes it (one
  /// edge to one instance, however partitioned: a keyed edge still computes each key, and a
  /// record whose key function throws leaves the batch for the key error handler).
  void emit_batch(batch<T>&& b) {
    if (edges_.size() == 1 && edges_[0].channels.size() == 1) {
      emitted_ += b.items.size(); // as emit() counts them, a record without a key included
      if (hashed_)
        drop_keyless(b);
      if (!b.items.empty())
        edges_[0].channels[0]->ship(std::move(b));
      return;
    }
    for (size_t i = 0; i < b.items.size(); ++i)
      emit(std::move(b.items[i]), b.times.empty() ? min_time : b.times[i]);
  }

  /// Called with the exception's message and the record when a key function throws. Without a
  /// handler the exception propagates to the caller of `emit`.
  void on_key_error(key_error_fn f) { key_error_ = std::move(f); }

  [[nodiscard]] bool timed() const noexcept { return timed_; }

  // -- output_base ----------------------------------------------------------------------------

  void on_credit(uint32_t origin, uint32_t amount) override { on_credit(origin, amount, 0, 0); }

  void on_credit(uint32_t origin, uint32_t amount, uint32_t epoch, uint32_t limit) override {
    if (origin >= origin_base_ && origin - origin_base_ < channels_.size())
      channels_[origin - origin_base_]->on_credit(amount, epoch, limit);
  }

  [[nodiscard]] size_t batch_limit() const noexcept override {
    size_t n = SIZE_MAX;
    for (const auto& c : channels_)
      n = std::min(n, c->batch_size());
    return n;
  }

  void set_epoch(uint32_t epoch) override {
    for (auto& c : channels_)
      c->set_epoch(epoch);
  }

  void enable_log(size_t limit, checkpoint_id start) override {
    for (auto& c : channels_)
      c->enable_log(limit, start);
  }

  void trim_log(checkpoint_id id) override {
    for (auto& c : channels_)
      c->trim_log(id);
  }

  void set_delay(caf::timespan max, uint64_t seed) override {
    for (size_t k = 0; k < channels_.size(); ++k)
      channels_[k]->set_delay(max, seed * 1'000'003 + origin_base_ + k);
  }

  void release_delayed() override {
    for (auto& c : channels_)
      c->release_delayed();
  }

  bool rewire(const caf::actor_addr& old, const caf::actor& dest, uint32_t epoch,
              checkpoint_id from) override {
    bool ok = true;
    for (auto& c : channels_)
      if (c->dest().address() == old)
        ok = c->rewire(dest, epoch, from) && ok;
    return ok;
  }

  /// Every channel's next sequence number, then every edge's round-robin position (which
  /// channel a rebalance edge uses next is part of what a replacement must continue).
  [[nodiscard]] std::vector<uint64_t> sequence_numbers() const override {
    std::vector<uint64_t> out;
    for (const auto& c : channels_)
      out.push_back(c->next_seq());
    for (const auto& e : edges_)
      out.push_back(e.next);
    return out;
  }

  void set_sequence_numbers(const std::vector<uint64_t>& seqs) override {
    size_t k = 0;
    for (; k < channels_.size() && k < seqs.size(); ++k)
      channels_[k]->set_next_seq(seqs[k]);
    for (auto& e : edges_)
      if (k < seqs.size())
        e.next = static_cast<size_t>(seqs[k++]);
  }

  [[nodiscard]] bool blocked() const noexcept override {
    for (const auto& c : channels_)
      if (c->blocked())
        return true;
    return false;
  }

  [[nodiscard]] bool has_partial() const noexcept override {
    for (const auto& c : channels_)
      if (c->has_partial())
        return true;
    return false;
  }

  void flush() override {
    for (auto& c : channels_)
      c->ship(true);
  }

  void broadcast_control(control_kind kind, int64_t value) override {
    for (auto& c : channels_)
      c->send_control(kind, value);
  }

  [[nodiscard]] size_t queued() const noexcept override {
    size_t n = 0;
    for (const auto& c : channels_)
      n += c->queued();
    return n;
  }

  [[nodiscard]] uint64_t emitted() const noexcept override { return emitted_; }

private:
  struct edge {
    partitioning kind = partitioning::forward;
    hash_fn hash;
    uint32_t key_groups = default_key_groups;
    std::vector<out_channel<T>*> channels;
    size_t next = 0;
    /// The key hash of the record being routed (hash edges).
    uint64_t pending_hash = 0;
  };

  /// Computes every hash edge's key hash for `x`; false when a key function threw.
  bool compute_keys(const T& x) {
    try {
      for (auto& e : edges_)
        if (e.kind == partitioning::hash)
          e.pending_hash = e.hash(x);
      return true;
    } catch (const std::exception& ex) {
      if (!key_error_)
        throw;
      key_error_(std::string{"key function failed: "} + ex.what(), x);
    } catch (...) {
      if (!key_error_)
        throw;
      key_error_("key function failed with an unknown exception", x);
    }
    return false;
  }

  /// Computes the key of every record of `b` (one hash edge), keeping in `b` those whose key
  /// function did not throw.
  void drop_keyless(batch<T>& b) {
    size_t kept = 0;
    for (size_t i = 0; i < b.items.size(); ++i) {
      if (!compute_keys(b.items[i]))
        continue;
      if (kept != i) {
        b.items[kept] = std::move(b.items[i]);
        if (!b.times.empty())
          b.times[kept] = b.times[i];
      }
      ++kept;
    }
    b.items.erase(b.items.begin() + static_cast<std::ptrdiff_t>(kept), b.items.end());
    if (!b.times.empty())
      b.times.resize(kept);
  }

  template <class U>
  void route(edge& e, U&& x, timestamp t) {
    auto n = e.channels.size();
    switch (e.kind) {
    case partitioning::forward:
      e.channels[n == 1 ? 0 : instance_ % n]->push(std::forward<U>(x), t);
      break;
    case partitioning::rebalance: {
      // Round-robin per record; each channel still fills whole batches.
      e.next = e.next + 1 == n ? 0 : e.next + 1;
      e.channels[e.next % n]->push(std::forward<U>(x), t);
      break;
    }
    case partitioning::hash: {
      auto kg = key_group_of(e.pending_hash, e.key_groups);
      e.channels[instance_of(kg, e.key_groups, static_cast<uint32_t>(n))]->push(std::forward<U>(x),
                                                                                t);
      break;
    }
    case partitioning::broadcast:
      for (size_t i = 0; i + 1 < n; ++i)
        e.channels[i]->push(T{x}, t);
      e.channels[n - 1]->push(std::forward<U>(x), t);
      break;
    }
  }

  /// The sending actor.
  caf::event_based_actor* self_;
  /// The owning instance's metrics.
  instance_metrics* metrics_;
  /// Whether records carry event times.
  bool timed_;
  /// This instance's index, used by forward edges.
  uint32_t instance_;
  /// The origin id of the first channel.
  uint32_t origin_base_ = 0;
  /// Every channel, indexed by its origin id minus origin_base_.
  std::vector<std::unique_ptr<out_channel<T>>> channels_;
  /// The edges, each over some of the channels.
  std::vector<edge> edges_;
  /// Some edge is hash-partitioned.
  bool hashed_ = false;
  /// Records emitted.
  uint64_t emitted_ = 0;
  /// What a throwing key function does.
  key_error_fn key_error_;
};

/// The outputs of a task with side outputs, seen by the task as one: output p numbers its
/// channels from `p << output_set::port_shift` (output::set_origin_base), so a credit finds its
/// output; controls (watermarks, barriers, end of stream) go out on all of them.
class output_set final : public output_base {
public:
  /// Bits of a channel's origin id that number it within its output.
  static constexpr uint32_t port_shift = 24;

  /// The first origin id of output `port`.
  [[nodiscard]] static constexpr uint32_t origin_base(uint32_t port) noexcept {
    return port << port_shift;
  }

  /// `outputs[p]` is output p (0: the main output).
  explicit output_set(std::vector<output_base*> outputs)
      : outputs_(std::move(outputs)) {}

  void on_credit(uint32_t origin, uint32_t amount) override {
    auto port = origin >> port_shift;
    if (port < outputs_.size())
      outputs_[port]->on_credit(origin, amount);
  }

  [[nodiscard]] bool blocked() const noexcept override {
    return std::any_of(outputs_.begin(), outputs_.end(), [](auto* o) { return o->blocked(); });
  }

  [[nodiscard]] bool has_partial() const noexcept override {
    return std::any_of(outputs_.begin(), outputs_.end(), [](auto* o) { return o->has_partial(); });
  }

  void flush() override {
    for (auto* o : outputs_)
      o->flush();
  }

  void broadcast_control(control_kind kind, int64_t value) override {
    for (auto* o : outputs_)
      o->broadcast_control(kind, value);
  }

  [[nodiscard]] size_t queued() const noexcept override {
    size_t n = 0;
    for (auto* o : outputs_)
      n += o->queued();
    return n;
  }

  [[nodiscard]] uint64_t emitted() const noexcept override {
    uint64_t n = 0;
    for (auto* o : outputs_)
      n += o->emitted();
    return n;
  }

  void on_credit(uint32_t origin, uint32_t amount, uint32_t epoch, uint32_t limit) override {
    auto port = origin >> port_shift;
    if (port < outputs_.size())
      outputs_[port]->on_credit(origin, amount, epoch, limit);
  }

  [[nodiscard]] size_t batch_limit() const noexcept override {
    size_t n = SIZE_MAX;
    for (auto* o : outputs_)
      n = std::min(n, o->batch_limit());
    return n;
  }

  void set_epoch(uint32_t epoch) override {
    for (auto* o : outputs_)
      o->set_epoch(epoch);
  }

  void enable_log(size_t limit, checkpoint_id start) override {
    for (auto* o : outputs_)
      o->enable_log(limit, start);
  }

  void trim_log(checkpoint_id id) override {
    for (auto* o : outputs_)
      o->trim_log(id);
  }

  void set_delay(caf::timespan max, uint64_t seed) override {
    for (auto* o : outputs_)
      o->set_delay(max, seed);
  }

  void release_delayed() override {
    for (auto* o : outputs_)
      o->release_delayed();
  }

  bool rewire(const caf::actor_addr& old, const caf::actor& dest, uint32_t epoch,
              checkpoint_id from) override {
    bool ok = true;
    for (auto* o : outputs_)
      ok = o->rewire(old, dest, epoch, from) && ok;
    return ok;
  }

  [[nodiscard]] std::vector<uint64_t> sequence_numbers() const override {
    std::vector<uint64_t> out;
    for (auto* o : outputs_) {
      auto seqs = o->sequence_numbers();
      out.push_back(seqs.size());
      out.insert(out.end(), seqs.begin(), seqs.end());
    }
    return out;
  }

  void set_sequence_numbers(const std::vector<uint64_t>& seqs) override {
    size_t at = 0;
    for (auto* o : outputs_) {
      if (at >= seqs.size())
        return;
      auto n = static_cast<size_t>(seqs[at++]);
      if (at + n > seqs.size())
        return;
      o->set_sequence_numbers({seqs.begin() + static_cast<std::ptrdiff_t>(at),
                               seqs.begin() + static_cast<std::ptrdiff_t>(at + n)});
      at += n;
    }
  }

private:
  std::vector<output_base*> outputs_;
};

} // namespace eddy
