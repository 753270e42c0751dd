#include <eddy/actors/task.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <utility>

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
    , dead_letters_(spec_.dead_letters)
    , sizer_(spec_.channels.debloat_target, spec_.inputs, spec_.channels.initial_credit) {
  if (dead_letters_) {
    // Dead letters travel in small batches (their records are text of any length), of a size
    // the channel keeps: the dead-letter receiver's credits carry no batch limit, so a channel
    // that debloated would stay at its starting size.
    auto cfg = spec_.channels;
    if (cfg.batch_size == 0 || cfg.batch_size > 256)
      cfg.batch_size = 256;
    cfg.debloat_target = caf::timespan{0};
    dl_channel_ = std::make_unique<out_channel<eddy::dead_letter>>(
        this, channel_target{dead_letters_, spec_.dead_letter_input, spec_.dead_letters_epoch},
        dead_letter_origin, cfg, &dl_metrics_, false);
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
  last_barrier_ = spec_.restore_id;
  if (logic_ && spec_.restore && !spec_.restore_finished) {
    auto runtime = std::move(spec_.restore->runtime);
    try {
      logic_->restore(*this, spec_.restore_id, std::move(*spec_.restore));
      restore_runtime(runtime);
    } catch (const std::exception& e) {
      init_error_ =
          "restoring checkpoint " + std::to_string(spec_.restore_id) + " failed: " + e.what();
    }
  }
  spec_.restore.reset();
  if (output_)
    output_->set_epoch(spec_.epoch);
  if (output_ && spec_.delay_max.count() > 0)
    output_->set_delay(spec_.delay_max, spec_.delay_seed);
  if (dl_channel_)
    dl_channel_->set_epoch(spec_.epoch);
  if (spec_.log_limit > 0) {
    if (output_)
      output_->enable_log(spec_.log_limit, spec_.restore_id);
    if (dl_channel_)
      dl_channel_->enable_log(spec_.log_limit, spec_.restore_id);
  }
  aborted_ = spec_.aborted;
  replay_.assign(spec_.replay.begin(), spec_.replay.end());
  spec_.replay.clear();
  parked_.resize(inputs_.size());
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
  logic_handlers_ = caf::message_handler{};
  parked_.clear();
  deferred_.clear();
  inputs_.clear();
  dl_channel_.reset();
  output_ = nullptr;
  logic_.reset();
  spec_.make_logic = nullptr;
  spec_.coordinator = nullptr;
  spec_.dead_letters = nullptr;
  spec_.snapshots = nullptr;
  spec_.restore.reset();
  held_.clear();
  coordinator_ = nullptr;
  dead_letters_ = nullptr;
}

task::~task() = default;

std::string task::origin() const {
  return spec_.name + '#' + std::to_string(spec_.instance);
}

caf::behavior task::make_behavior() {
  if (!logic_ || !init_error_.empty()) {
    // Its logic could not be created, or not restored: running it would lose state.
    fail("operator " + origin() + " could not start: " + init_error_);
    return {};
  }
  if (spec_.crash_on_restore) {
    crash("injected fault: " + origin() + " crashed while restoring" +
              (spec_.restore_id > 0 ? " checkpoint " + std::to_string(spec_.restore_id)
                                    : std::string{}),
          fault_errc::crash_on_restore);
    return {};
  }
  logic_handlers_ = logic_->handlers(*this);
  handlers_ =
      caf::message_handler{
          [this](timer_atom) {
            // A processing-time wake-up is a choice of the moment: logged, or, while a replacement
            // replays its predecessor's choices, taken only where the log says.
            if (failed_)
              return;
            if (!replay_.empty()) {
              wake_after_replay_ = true;
              return;
            }
            record(determinant::timer, 0);
            run_timer();
            after_output_change();
          },
      }
          .or_else(logic_handlers_)
          .or_else(caf::message_handler{
              [this](control& c) {
                if (!admit(c.input, c.origin, c.epoch))
                  return;
                on_control(c);
                advance_replay();
                after_output_change();
              },
          });
  live_ = true;
  return handlers_.or_else(caf::message_handler{
      [this](credit& c) { on_credit(c); },
      [this](complete_atom, checkpoint_id id) {
        // What preceded this checkpoint's barrier is never needed again.
        if (output_)
          output_->trim_log(id);
        if (dl_channel_)
          dl_channel_->trim_log(id);
        if (!failed_)
          logic_->on_checkpoint_complete(*this, id);
      },
      [this](abort_atom, checkpoint_id id) {
        aborted_ = std::max(aborted_, id);
        if (stopped_at_ != 0 && stopped_at_ <= id) {
          // The savepoint this source stopped at was abandoned: the job goes on.
          stopped_at_ = 0;
          schedule_produce();
        }
        if (aligning_ != 0 && aligning_ <= id) {
          aligning_ = 0;
          release_held();
          after_output_change();
        }
      },
      [this](rewire_atom, caf::actor_addr& old, caf::actor& dest, uint32_t epoch,
             checkpoint_id from) {
        bool ok = !output_ || output_->rewire(old, dest, epoch, from);
        if (dl_channel_ && dl_channel_->dest().address() == old)
          ok = dl_channel_->rewire(dest, epoch, from) && ok;
        after_output_change();
        return ok;
      },
      [this](start_atom) {
        started_ = true;
        advance_replay();
        if (spec_.restore_finished)
          end_restored_finished();
        else if (logic_->is_source())
          schedule_produce();
        else if (inputs_.empty())
          finish();
      },
      [this](checkpoint_atom, checkpoint_id id, bool stop) {
        // Sources only: the coordinator starts checkpoint `id` here. A source that is ending
        // takes none; the coordinator counts it as finished before the checkpoint. With `stop`
        // (a stop with savepoint) it emits nothing after the barrier: the job ends there.
        if (failed_ || finishing_ || !started_ || !logic_->is_source() || id <= last_barrier_)
          return;
        take_checkpoint(id);
        if (stop)
          stopped_at_ = id;
        after_output_change();
      },
      [this](produce_atom) {
        produce_scheduled_ = false;
        run_source();
      },
      [this](delay_atom) {
        if (!failed_ && output_) {
          output_->release_delayed();
          after_output_change();
        }
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

bool task::admit(uint32_t input, uint32_t channel, uint32_t epoch) {
  if (input >= inputs_.size()) {
    fail("task " + origin() + " received input " + std::to_string(input) + " but has only " +
         std::to_string(inputs_.size()) + " inputs: the topology was wired inconsistently");
    return false;
  }
  if (failed_)
    return false;
  auto& in = inputs_[input];
  if (epoch < in.epoch)
    return false; // sent by an incarnation replaced since: its replacement sends it again
  if (epoch > in.epoch) {
    // The sender was replaced: credit goes to the replacement, and the input no longer counts
    // as aligned (the replacement sends the barrier again, or the checkpoint is abandoned).
    in.epoch = epoch;
    in.upstream = current_origin();
    in.origin = channel;
    in.barrier = 0;
  } else if (!in.upstream) {
    in.upstream = current_origin();
    in.origin = channel;
  }
  // Deferred first: an earlier message of this input may wait there, and must be held (or
  // taken) before this one.
  if (!replaying_ && (!deferred_.empty() || blocked())) {
    deferred_.emplace_back(take_current());
    update_peak_queued();
    return false;
  }
  if (aligning_ != 0 && in.barrier == aligning_) {
    // This input is past the barrier being aligned on: what follows waits for the snapshot.
    held_.emplace_back(take_current());
    update_peak_queued();
    return false;
  }
  if (!replay_.empty() || parked_count_ > 0) {
    // A replacement takes its inputs in its predecessor's order; per input, in arrival order.
    while (!replay_.empty() && replay_.front().kind == determinant::checkpoint)
      replay_.pop_front();
    if (replaying_ && promoted_) {
      // The parked message whose turn came, put first in line.
      promoted_ = false;
      if (!replay_.empty())
        replay_.pop_front();
      return true;
    }
    bool turn = !replay_.empty() && replay_.front().kind == determinant::input &&
                replay_.front().value == static_cast<int64_t>(input);
    if (!turn || !parked_[input].empty()) {
      // Not its turn, or an earlier message of its input waits: it waits behind that one.
      parked_[input].emplace_back(take_current());
      ++parked_count_;
      if (replay_.empty())
        finish_replay();
      else if (turn)
        promote(input);
      return false;
    }
    replay_.pop_front();
    return true;
  }
  record(determinant::input, input);
  return true;
}

void task::promote(size_t input) {
  deferred_.push_front(std::move(parked_[input].front()));
  parked_[input].pop_front();
  --parked_count_;
  promoted_ = true;
  if (!replaying_)
    replay_deferred(); // else the replay running now takes it next
}

void task::finish_replay() {
  // The replay is over: what waited goes back in line, before what was deferred (per input, a
  // parked message arrived before any deferred one), and the task runs free again.
  for (auto it = parked_.rbegin(); it != parked_.rend(); ++it) {
    while (!it->empty()) {
      deferred_.push_front(std::move(it->back()));
      it->pop_back();
    }
  }
  parked_count_ = 0;
  promoted_ = false;
  if (wake_after_replay_) {
    wake_after_replay_ = false;
    send(this, timer_atom::value);
  }
  if (!replaying_)
    replay_deferred();
}

task::pending_message task::take_current() {
  if (replaying_)
    return std::move(*replayed_);
  return {current_sender(), current_mailbox_element()->move_content_to_message()};
}

caf::strong_actor_ptr task::current_origin() {
  return replaying_ && replayed_ ? replayed_->sender : current_sender();
}

// -- determinants -------------------------------------------------------------------------------

void task::record(determinant::kind_t kind, int64_t value) {
  // While a replacement replays, its predecessor's choices are logged already.
  if (spec_.record_determinants && live_ && replay_.empty())
    dets_.push_back({kind, value});
}

void task::flush_determinants() {
  if (dets_.empty())
    return;
  send(coordinator_, det_atom::value, spec_.slot, spec_.epoch, std::move(dets_));
  dets_.clear();
}

int64_t task::read_clock(const std::function<int64_t()>& clock) {
  if (!live_)
    return clock(); // opening and restoring are no choices of the moment
  while (!replay_.empty() && replay_.front().kind == determinant::checkpoint)
    replay_.pop_front();
  if (!replay_.empty()) {
    if (replay_.front().kind == determinant::clock) {
      auto v = replay_.front().value;
      replay_.pop_front();
      return v;
    }
    fail("task " + origin() +
         " diverged from its predecessor while replaying its choices "
         "(a processing-time read the log does not have)");
    return clock();
  }
  auto v = clock();
  record(determinant::clock, v);
  return v;
}

void task::run_timer() {
  auto msg = caf::make_message(timer_atom::value);
  logic_handlers_(msg);
}

void task::advance_replay() {
  while (!replay_.empty() && !failed_) {
    auto& d = replay_.front();
    if (d.kind == determinant::checkpoint) {
      replay_.pop_front();
    } else if (d.kind == determinant::timer) {
      replay_.pop_front();
      run_timer();
    } else if (d.kind == determinant::input) {
      auto j = static_cast<size_t>(d.value);
      if (promoted_ || j >= parked_.size() || parked_[j].empty())
        return; // waits for that input's next message, or for the one put first in line
      // Its turn came: it goes first in line.
      promote(j);
      if (replaying_ || promoted_)
        return; // taken by the replay running now, or when the output has room
    } else {
      return; // a clock read, taken by the next message's processing
    }
  }
  if (!replay_.empty() || failed_ || (parked_count_ == 0 && !wake_after_replay_))
    return;
  finish_replay();
}

// -- runtime state ------------------------------------------------------------------------------

namespace {

template <class T>
void put(std::string& out, T x) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.append(reinterpret_cast<const char*>(&x), sizeof(T));
}

template <class T>
T take(const std::string& in, size_t& at) {
  T x{};
  if (at + sizeof(T) > in.size())
    throw std::runtime_error("its runtime state is truncated");
  std::memcpy(&x, in.data() + at, sizeof(T));
  at += sizeof(T);
  return x;
}

/// One input's part of a task's runtime state.
struct runtime_input {
  uint64_t next_seq = 0;
  int64_t watermark = 0;
  bool ended = false;
  bool idle = false;
};

/// Reads the version and the inputs of runtime state `bytes` (see task::runtime_state); `at` is
/// then at the task's watermark. Throws std::runtime_error when the bytes do not decode.
std::vector<runtime_input> take_inputs(const std::string& bytes, size_t& at) {
  if (take<uint8_t>(bytes, at) != 1)
    throw std::runtime_error("its runtime state has an unknown version");
  auto n = take<uint32_t>(bytes, at);
  if (n > bytes.size())
    throw std::runtime_error("its runtime state is truncated");
  std::vector<runtime_input> out(n);
  for (auto& in : out) {
    in.next_seq = take<uint64_t>(bytes, at);
    in.watermark = take<int64_t>(bytes, at);
    in.ended = take<uint8_t>(bytes, at) != 0;
    in.idle = take<uint8_t>(bytes, at) != 0;
    // The senders' incarnations then: a new actor hears from no earlier one, and after a
    // whole-job restart every sender starts again at 0, so the count starts afresh.
    (void)take<uint32_t>(bytes, at);
  }
  return out;
}

} // namespace

std::string task::runtime_state() const {
  std::string out;
  put<uint8_t>(out, 1); // version
  put<uint32_t>(out, static_cast<uint32_t>(inputs_.size()));
  for (const auto& in : inputs_) {
    put<uint64_t>(out, in.next_seq);
    put<int64_t>(out, in.watermark);
    put<uint8_t>(out, in.ended ? 1 : 0);
    put<uint8_t>(out, in.idle ? 1 : 0);
    put<uint32_t>(out, in.epoch);
  }
  put<int64_t>(out, watermark_);
  put<uint8_t>(out, idle_ ? 1 : 0);
  auto seqs = output_ ? output_->sequence_numbers() : std::vector<uint64_t>{};
  put<uint32_t>(out, static_cast<uint32_t>(seqs.size()));
  for (auto x : seqs)
    put<uint64_t>(out, x);
  put<uint64_t>(out, dl_channel_ ? dl_channel_->next_seq() : 0);
  return out;
}

timestamp task::watermark_of(const std::string& runtime) noexcept {
  if (runtime.empty())
    return min_time;
  try {
    size_t at = 0;
    take_inputs(runtime, at);
    return take<int64_t>(runtime, at);
  } catch (const std::exception&) {
    return min_time;
  }
}

void task::restore_runtime(const std::string& bytes) {
  if (bytes.empty()) {
    // A checkpoint of another parallelism: the channels start afresh, event time where the
    // operator's instances were.
    for (auto& in : inputs_)
      in.watermark = spec_.restore_watermark;
    watermark_ = spec_.restore_watermark;
    return;
  }
  size_t at = 0;
  auto taken = take_inputs(bytes, at);
  if (taken.size() != inputs_.size())
    throw std::runtime_error("its runtime state has " + std::to_string(taken.size()) +
                             " inputs, not " + std::to_string(inputs_.size()));
  for (size_t k = 0; k < inputs_.size(); ++k) {
    auto& in = inputs_[k];
    in.next_seq = taken[k].next_seq;
    in.watermark = taken[k].watermark;
    in.ended = taken[k].ended;
    in.idle = taken[k].idle;
    in.epoch = 0;
  }
  watermark_ = take<int64_t>(bytes, at);
  idle_ = take<uint8_t>(bytes, at) != 0;
  auto count = take<uint32_t>(bytes, at);
  if (count > (bytes.size() - at) / sizeof(uint64_t))
    throw std::runtime_error("its runtime state is truncated");
  std::vector<uint64_t> seqs(count);
  for (auto& x : seqs)
    x = take<uint64_t>(bytes, at);
  if (output_)
    output_->set_sequence_numbers(seqs);
  auto dl_seq = take<uint64_t>(bytes, at);
  if (dl_channel_)
    dl_channel_->set_next_seq(dl_seq);
}

void task::before_batch(uint32_t input, size_t n) {
  auto& m = metrics();
  m.add(m.batches_in, 1);
  m.add(m.records_in, n);
  batch_records_ = n;
  if (spec_.throw_on_record != 0) {
    // This batch holds records (total - n, total] of all this task took.
    uint64_t total = 0;
    for (const auto& x : inputs_)
      total += x.next_seq;
    if (spec_.throw_on_record <= total && spec_.throw_on_record + n > total)
      throw_index_ = static_cast<size_t>(n - 1 - (total - spec_.throw_on_record));
  }
  check_crash(m.records_in.load(std::memory_order_relaxed));
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
  uint32_t limit = 0;
  if (spec_.channels.debloat_target.count() > 0)
    limit = sizer_.consumed(std::exchange(batch_records_, 0), std::chrono::steady_clock::now());
  if (in.upstream)
    send(caf::actor_cast<caf::actor>(in.upstream), credit{in.origin, 1, spec_.epoch, limit});
  advance_replay();
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
    on_barrier(c.input, c.value);
    break;
  case control_kind::end_of_stream:
    in.ended = true;
    check_alignment(); // an input that ended is aligned
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

// -- checkpoints --------------------------------------------------------------------------------

void task::on_barrier(uint32_t input, checkpoint_id id) {
  if (id <= last_barrier_ || id <= aborted_ || (aligning_ != 0 && id < aligning_))
    return; // a checkpoint taken already, abandoned, or one a newer checkpoint overtook
  if (aligning_ != 0 && id > aligning_) {
    // A newer checkpoint overtook the one being aligned (the coordinator gave that one up):
    // align on the newer one; what was held goes back in line.
    aligning_ = 0;
    release_held();
  }
  aligning_ = id;
  inputs_[input].barrier = id;
  check_alignment();
}

void task::check_alignment() {
  if (aligning_ == 0)
    return;
  for (const auto& in : inputs_)
    if (!in.ended && in.barrier != aligning_)
      return;
  auto id = aligning_;
  aligning_ = 0;
  take_checkpoint(id);
  release_held();
}

void task::take_checkpoint(checkpoint_id id) {
  last_barrier_ = id;
  record(determinant::checkpoint, id);
  if (spec_.snapshots) {
    instance_state state;
    try {
      logic_->snapshot(*this, id, state);
      state.runtime = runtime_state();
    } catch (const std::exception& e) {
      fail("operator " + origin() + " could not take its snapshot for checkpoint " +
           std::to_string(id) + ": " + e.what());
    }
    if (failed_)
      return;
    send(spec_.snapshots, snapshot_atom::value, id, spec_.op_index, spec_.instance,
         std::move(state));
  }
  // At that checkpoint, or the first one after it this incarnation takes (a recovery of another
  // task can skip it).
  if (spec_.crash_at_checkpoint != 0 && id >= spec_.crash_at_checkpoint) {
    crash("injected fault: " + origin() + " crashed while its snapshot of checkpoint " +
              std::to_string(id) + " was written",
          fault_errc::crash_at_checkpoint);
    return;
  }
  // The barrier follows everything emitted before the snapshot, on every output and on the
  // dead-letter channel (the dead letters before it belong to the checkpoint too).
  if (output_)
    output_->broadcast_control(control_kind::barrier, id);
  if (dl_channel_)
    dl_channel_->send_control(control_kind::barrier, id);
}

void task::release_held() {
  // Held messages go before the deferred ones: they arrived earlier.
  while (!held_.empty()) {
    deferred_.push_front(std::move(held_.back()));
    held_.pop_back();
  }
}

void task::end_restored_finished() {
  finishing_ = true;
  if (output_)
    output_->broadcast_control(control_kind::end_of_stream, 0);
  if (dl_channel_)
    dl_channel_->send_control(control_kind::end_of_stream, 0);
  try_quit();
}

void task::check_crash(uint64_t records) {
  if (spec_.crash_after_records == 0 || records < spec_.crash_after_records || failed_)
    return;
  crash("injected fault: " + origin() + " crashed after " + std::to_string(records) + " records");
}

void task::injected_throw(std::string record) {
  auto what = "injected fault: " + origin() + " threw on its record " +
              std::to_string(spec_.throw_on_record);
  send(coordinator_, fault_atom::value, what);
  user_error(what, std::move(record));
}

void task::crash(std::string reason, fault_errc code) {
  if (failed_)
    return;
  failed_ = true;
  quit(make_error(code, fault_category, std::move(reason)));
}

// -- event time ---------------------------------------------------------------------------------

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
      dl_channel_->on_credit(c.amount, c.epoch);
  } else if (output_) {
    output_->on_credit(c.origin, c.amount, c.epoch, c.limit);
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
  update_output();
  // What was decided while handling this message reaches the coordinator before the next one
  // (a task is stopped between messages, never within one).
  flush_determinants();
}

void task::update_output() {
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
    replayed_ = &msg;
    handlers_(msg.content);
  }
  replayed_ = nullptr;
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
  size_t parked = 0;
  for (const auto& q : parked_)
    parked += q.size();
  auto queued = deferred_.size() + held_.size() + parked + (output_ ? output_->queued() : 0) +
                (dl_channel_ ? dl_channel_->queued() : 0);
  metrics().raise(metrics().peak_queued, queued);
}

// -- sources ------------------------------------------------------------------------------------

void task::schedule_produce() {
  if (produce_scheduled_ || finishing_ || failed_ || stopped_at_ != 0)
    return;
  produce_scheduled_ = true;
  send(this, produce_atom::value);
}

void task::run_source() {
  if (finishing_ || failed_ || stopped_at_ != 0)
    return;
  for (int i = 0; i < steps_per_produce; ++i) {
    if (blocked()) {
      after_output_change();
      return;
    }
    auto r = logic_->produce(*this);
    if (failed_)
      return;
    if (output_)
      check_crash(output_->emitted());
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
  if (spec_.crash_at_end) {
    crash("injected fault: " + origin() + " crashed at the end of its input",
          fault_errc::crash_at_end);
    return;
  }
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
  send(coordinator_, done_atom::value, metrics().snapshot(), last_barrier_);
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
  if (spec_.on_error == error_policy::dead_letter) {
    dead_letter(what, std::move(record));
  } else if (std::find(spec_.poison.begin(), spec_.poison.end(), record) != spec_.poison.end()) {
    dead_letter("poison record: the operator failed on it as often as "
                "checkpoints.poison_after allows, so it is skipped; " +
                    what,
                std::move(record));
  } else {
    failing_record_ = record;
    fail("operator " + origin() + " failed on record " + record + ": " + what);
  }
}

void task::fail(std::string reason) {
  if (failed_)
    return;
  flush_determinants(); // a replacement replays up to here
  failed_ = true;
  send(coordinator_, failed_atom::value, std::move(reason), failing_record_);
  quit(caf::sec::runtime_error);
}

} // namespace eddy
