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

#include <eddy/actors/channel_config.hpp>
#include <eddy/actors/messages.hpp>
#include <eddy/actors/metrics.hpp>
#include <eddy/actors/partitioning.hpp>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace eddy {

/// One downstream instance's input, as seen from the sender.
struct channel_target {
  /// The receiving task.
  caf::actor dest;
  /// Index of the receiver's input this channel feeds.
  uint32_t input = 0;
};

/// The type-independent face of an output, used by the task actor.
class output_base {
public:
  virtual ~output_base() = default;
  /// Adds `amount` credit to channel `origin` and sends what it allows.
  virtual void on_credit(uint32_t origin, uint32_t amount) = 0;
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
};

/// One channel: a buffer being filled, a queue waiting for credit, and the credit left.
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
      , batch_size_(records_per_batch<T>(cfg))
      , timed_(timed)
      , metrics_(metrics) {
    reset_buffer();
  }

  /// Appends a record; ships the buffer when it is full.
  template <class U>
  void push(U&& x, timestamp t) {
    buf_.items.emplace_back(std::forward<U>(x));
    if (timed_)
      buf_.times.push_back(t);
    if (buf_.items.size() >= batch_size_)
      ship(false);
  }

  /// Sends a whole batch as it is (after whatever is buffered).
  void ship(batch<T>&& b) {
    ship(b.urgent);
    if (!timed_)
      b.times.clear();
    enqueue(std::move(b));
  }

  /// Turns the buffer into a batch, sending it if credit allows; `urgent` marks a batch sent
  /// before it was full.
  void ship(bool urgent) {
    if (buf_.items.empty())
      return;
    buf_.urgent = urgent;
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

  void on_credit(uint32_t amount) {
    credit_ += amount;
    metrics_->in_flight.fetch_sub(amount, std::memory_order_relaxed);
    drain();
  }

  [[nodiscard]] bool blocked() const noexcept { return !queue_.empty(); }
  [[nodiscard]] bool has_partial() const noexcept { return !buf_.items.empty(); }
  [[nodiscard]] size_t queued() const noexcept { return queue_.size(); }

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
        metrics_->add(metrics_->batches_out, 1);
        metrics_->add(metrics_->records_out, b->items.size());
        auto now = metrics_->in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
        metrics_->raise(metrics_->peak_in_flight, now);
        self_->send(target_.dest, std::move(*b));
      } else {
        self_->send(target_.dest, std::get<control>(front));
      }
      queue_.pop_front();
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
  /// Records per batch.
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

  /// Sends a whole batch; moves it without copying records when one forward channel takes it.
  void emit_batch(batch<T>&& b) {
    if (edges_.size() == 1 && edges_[0].channels.size() == 1 &&
        edges_[0].kind != partitioning::hash) {
      emitted_ += b.items.size();
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

  void on_credit(uint32_t origin, uint32_t amount) override {
    if (origin >= origin_base_ && origin - origin_base_ < channels_.size())
      channels_[origin - origin_base_]->on_credit(amount);
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

private:
  std::vector<output_base*> outputs_;
};

} // namespace eddy
