#include <eddy/actors/task.hpp>

#include <caf/all.hpp>

#include <algorithm>

namespace eddy {

namespace {

/// Source steps per produce message: enough to amortize the message, few enough to stay
/// responsive to credits and control.
constexpr int steps_per_produce = 4;

} // namespace

task::task(caf::actor_config& cfg, task_spec spec)
    : caf::event_based_actor(cfg)
    , spec_(std::move(spec))
    , inputs_(spec_.inputs)
    , coordinator_(spec_.coordinator)
    , dead_letters_(spec_.dead_letters) {
  if (dead_letters_) {
    // Dead letters travel in small batches (their records are text of any length).
    auto cfg = spec_.channels;
    if (cfg.batch_size == 0 || cfg.batch_size > 256)
      cfg.batch_size = 256;
    dl_channel_ = std::make_unique<out_channel<eddy::dead_letter>>(
        this, channel_target{dead_letters_, spec_.dead_letter_input}, dead_letter_origin, cfg,
        &dl_metrics_, false);
  }
  // Opening a file sink or source may throw: the task then fails as soon as it runs.
  try {
    logic_ = spec_.make_logic(*this);
    output_ = logic_->output();
  } catch (const std::exception& e) {
    init_error_ = e.what();
  } catch (...) {
    init_error_ = "unknown exception";
  }
  // Whatever user code throws past the guarded loops (a key function, a finish function) fails
  // the job with the operator's name instead of unwinding through the scheduler.
  set_exception_handler([](caf::scheduled_actor* self, std::exception_ptr& eptr) -> caf::error {
    auto t = static_cast<task*>(self);
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(eptr);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    t->fail("operator " + t->origin() + " failed: " + what);
    return caf::sec::runtime_error;
  });
}

void task::on_exit() {
  handlers_ = caf::message_handler{};
  deferred_.clear();
  inputs_.clear();
  dl_channel_.reset();
  output_ = nullptr;
  logic_.reset();
  spec_.make_logic = nullptr;
  spec_.coordinator = nullptr;
  spec_.dead_letters = nullptr;
  coordinator_ = nullptr;
  dead_letters_ = nullptr;
}

task::~task() = default;

std::string task::origin() const {
  return spec_.name + '#' + std::to_string(spec_.instance);
}

caf::behavior task::make_behavior() {
  if (!logic_) {
    fail("operator " + origin() + " could not start: " + init_error_);
    return {};
  }
  handlers_ = logic_->handlers(*this).or_else(caf::message_handler{
      [this](control& c) {
        if (!admit(c.input, c.origin))
          return;
        on_control(c);
      },
  });
  return handlers_.or_else(caf::message_handler{
      [this](credit& c) { on_credit(c); },
      [this](start_atom) {
        started_ = true;
        if (logic_->is_source())
          schedule_produce();
        else if (inputs_.empty())
          finish();
      },
      [this](produce_atom) {
        produce_scheduled_ = false;
        run_source();
      },
      [this](flush_atom) {
        linger_armed_ = false;
        if (!failed_) {
          flush_all();
          after_output_change();
        }
      },
  });
}

// -- input side ---------------------------------------------------------------------------------

bool task::admit(uint32_t input, uint32_t channel) {
  if (input >= inputs_.size()) {
    fail("task " + origin() + " received input " + std::to_string(input) + " but has only " +
         std::to_string(inputs_.size()) + " inputs: the topology was wired inconsistently");
    return false;
  }
  auto& in = inputs_[input];
  if (!in.upstream) {
    in.upstream = current_sender();
    in.origin = channel;
  }
  if (failed_)
    return false;
  if (replaying_)
    return true;
  if (!deferred_.empty() || blocked()) {
    deferred_.emplace_back(current_mailbox_element()->move_content_to_message());
    update_peak_queued();
    return false;
  }
  return true;
}

void task::before_batch(uint32_t input, size_t n) {
  auto& m = metrics();
  m.add(m.batches_in, 1);
  m.add(m.records_in, n);
  // Data on an input that declared itself idle makes it active again.
  auto& in = inputs_[input];
  if (in.idle) {
    in.idle = false;
    recompute_watermark();
  }
}

void task::after_batch(uint32_t input, bool urgent) {
  if (failed_)
    return;
  auto& in = inputs_[input];
  if (in.upstream)
    send(caf::actor_cast<caf::actor>(in.upstream), credit{in.origin, 1});
  if (has_partial()) {
    // An urgent input batch means the upstream is lingering (low rate): pass the data on now.
    if (urgent)
      flush_all();
    else
      arm_linger();
  }
  after_output_change();
}

void task::on_control(control& c) {
  auto& in = inputs_[c.input];
  switch (c.kind) {
  case control_kind::watermark:
    in.watermark = std::max(in.watermark, c.value);
    recompute_watermark();
    break;
  case control_kind::barrier:
    // Checkpoint barriers are aligned and snapshotted by the checkpointing issue; until then
    // each passes through once (on its first input) so the protocol stays in place.
    if (output_ && c.value > last_barrier_) {
      last_barrier_ = c.value;
      output_->broadcast_control(control_kind::barrier, c.value);
    }
    break;
  case control_kind::end_of_stream:
    in.ended = true;
    recompute_watermark();
    if (std::all_of(inputs_.begin(), inputs_.end(), [](auto& x) { return x.ended; }))
      finish();
    break;
  case control_kind::idle:
    in.idle = c.value != 0;
    recompute_watermark();
    break;
  }
  after_output_change();
}

void task::recompute_watermark() {
  // The minimum over the inputs that are still open and not idle. When every open input is idle
  // the watermark stays where it is and this task tells its consumers it is idle too.
  if (std::all_of(inputs_.begin(), inputs_.end(), [](auto& x) { return x.ended; }))
    return; // finish() closes event time, after the end functions have run
  auto wm = max_time;
  bool any_active = false;
  for (auto& in : inputs_) {
    if (in.ended || in.idle)
      continue;
    any_active = true;
    wm = std::min(wm, in.watermark);
  }
  if (!any_active) {
    if (!idle_ && output_) {
      idle_ = true;
      output_->broadcast_control(control_kind::idle, 1);
    }
    return;
  }
  if (idle_ && output_) {
    idle_ = false;
    output_->broadcast_control(control_kind::idle, 0);
  }
  if (wm > watermark_)
    advance_watermark(wm);
}

void task::mark_idle() {
  if (idle_ || !output_ || finishing_)
    return;
  idle_ = true;
  last_emitted_ = output_->emitted();
  output_->broadcast_control(control_kind::idle, 1);
}

void task::check_source_idle() {
  auto emitted = output_ ? output_->emitted() : 0;
  auto now = std::chrono::steady_clock::now();
  if (emitted != last_emitted_) {
    last_emitted_ = emitted;
    last_activity_ = now;
    idle_ = false; // the records themselves make the receivers' inputs active again
    return;
  }
  auto timeout = spec_.channels.idle_timeout;
  if (timeout.count() > 0 && now - last_activity_ >= timeout)
    mark_idle();
}

void task::advance_watermark(timestamp wm) {
  if (wm <= watermark_)
    return;
  watermark_ = wm;
  logic_->on_watermark(*this, wm);
  if (output_)
    output_->broadcast_control(control_kind::watermark, wm);
}

// -- output side --------------------------------------------------------------------------------

void task::on_credit(const credit& c) {
  if (failed_)
    return;
  if (c.origin == dead_letter_origin) {
    if (dl_channel_)
      dl_channel_->on_credit(c.amount);
  } else if (output_) {
    output_->on_credit(c.origin, c.amount);
  }
  after_output_change();
}

bool task::blocked() const noexcept {
  return (output_ && output_->blocked()) || (dl_channel_ && dl_channel_->blocked());
}

bool task::has_partial() const noexcept {
  return (output_ && output_->has_partial()) || (dl_channel_ && dl_channel_->has_partial());
}

void task::flush_all() {
  if (output_)
    output_->flush();
  if (dl_channel_)
    dl_channel_->ship(true);
}

void task::after_output_change() {
  if (failed_ || (!output_ && !dl_channel_))
    return;
  update_peak_queued();
  if (blocked()) {
    if (!blocked_since_)
      blocked_since_ = std::chrono::steady_clock::now();
    return;
  }
  if (blocked_since_) {
    auto waited = std::chrono::steady_clock::now() - *blocked_since_;
    blocked_since_.reset();
    metrics().add(metrics().credit_wait_ns,
                  std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count());
  }
  if (!deferred_.empty() && !replaying_)
    replay_deferred();
  if (finishing_)
    try_quit();
  else if (logic_->is_source() && started_)
    schedule_produce();
}

void task::replay_deferred() {
  replaying_ = true;
  while (!deferred_.empty() && !failed_ && !blocked()) {
    auto msg = std::move(deferred_.front());
    deferred_.pop_front();
    handlers_(msg);
  }
  replaying_ = false;
}

void task::emitted_outside_batch() {
  if (has_partial())
    arm_linger();
  after_output_change();
}

void task::arm_linger() {
  if (linger_armed_)
    return;
  linger_armed_ = true;
  delayed_send(this, spec_.channels.linger, flush_atom::value);
}

void task::update_peak_queued() {
  auto queued = deferred_.size() + (output_ ? output_->queued() : 0) +
                (dl_channel_ ? dl_channel_->queued() : 0);
  metrics().raise(metrics().peak_queued, queued);
}

// -- sources ------------------------------------------------------------------------------------

void task::schedule_produce() {
  if (produce_scheduled_ || finishing_ || failed_)
    return;
  produce_scheduled_ = true;
  send(this, produce_atom::value);
}

void task::run_source() {
  if (finishing_ || failed_)
    return;
  for (int i = 0; i < steps_per_produce; ++i) {
    if (blocked()) {
      after_output_change();
      return;
    }
    auto r = logic_->produce(*this);
    if (failed_)
      return;
    if (r.status == produce_result::done) {
      finish();
      return;
    }
    if (r.status == produce_result::wait) {
      check_source_idle();
      if (has_partial())
        arm_linger();
      produce_scheduled_ = true;
      delayed_send(this, r.wait_for, produce_atom::value);
      after_output_change();
      return;
    }
  }
  check_source_idle();
  if (has_partial())
    arm_linger();
  after_output_change();
}

// -- life cycle ---------------------------------------------------------------------------------

void task::finish() {
  if (finishing_ || failed_)
    return;
  finishing_ = true;
  // End functions emit with the last real watermark; then event time closes (windows fire on
  // the maximal watermark) and the end of stream follows everything.
  logic_->on_end(*this);
  if (failed_)
    return;
  // Event time closes here (windows fire); downstream the end of stream means the same, so the
  // maximal watermark is not sent on its own, where it would overtake the records above.
  if (watermark_ < max_time) {
    watermark_ = max_time;
    logic_->on_watermark(*this, max_time);
  }
  if (failed_)
    return;
  if (output_) {
    output_->flush();
    output_->broadcast_control(control_kind::end_of_stream, 0);
  }
  if (dl_channel_) {
    dl_channel_->ship(true);
    dl_channel_->send_control(control_kind::end_of_stream, 0);
  }
  try_quit();
}

void task::try_quit() {
  if (done_ || (output_ && output_->queued() > 0) || (dl_channel_ && dl_channel_->queued() > 0))
    return;
  done_ = true;
  send(coordinator_, done_atom::value, metrics().snapshot());
  quit();
}

void task::dead_letter(std::string reason, std::string record, std::string origin) {
  metrics().add(metrics().dead_letters, 1);
  if (origin.empty())
    origin = this->origin();
  if (dl_channel_)
    dl_channel_->push(eddy::dead_letter{std::move(origin), std::move(reason), std::move(record)},
                      min_time);
}

void task::user_error(const std::string& what, std::string record) {
  if (spec_.on_error == error_policy::fail)
    fail("operator " + origin() + " failed on record " + record + ": " + what);
  else
    dead_letter(what, std::move(record));
}

void task::fail(std::string reason) {
  if (failed_)
    return;
  failed_ = true;
  send(coordinator_, failed_atom::value, std::move(reason));
  quit(caf::sec::runtime_error);
}

} // namespace eddy
