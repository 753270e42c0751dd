// The atoms of eddy's runtime protocol between tasks and the job coordinator.
#pragma once

#include <caf/atom.hpp>

namespace eddy {

/// Coordinator -> task: wiring is complete, start (sources start producing).
using start_atom = caf::atom_constant<caf::atom("e_start")>;
/// Task -> itself: produce the next batches (sources).
using produce_atom = caf::atom_constant<caf::atom("e_produce")>;
/// Task -> itself: the linger time passed, send partial batches.
using flush_atom = caf::atom_constant<caf::atom("e_flush")>;
/// Task -> itself: a processing-time timer may be due.
using timer_atom = caf::atom_constant<caf::atom("e_timer")>;
/// Task -> coordinator: this instance finished cleanly; carries its final metrics.
using done_atom = caf::atom_constant<caf::atom("e_done")>;
/// Task -> coordinator: this instance failed; carries the reason.
using failed_atom = caf::atom_constant<caf::atom("e_failed")>;

/// Coordinator -> source task: take checkpoint `id` now and inject its barrier.
using checkpoint_atom = caf::atom_constant<caf::atom("e_chkpt")>;
/// Task -> snapshot writer: the state of one instance at a checkpoint, to write to storage.
using snapshot_atom = caf::atom_constant<caf::atom("e_snap")>;
/// Snapshot writer -> coordinator: an instance's snapshot is stored (or could not be).
using ack_atom = caf::atom_constant<caf::atom("e_ack")>;
/// Coordinator -> itself: time for the next checkpoint.
using trigger_atom = caf::atom_constant<caf::atom("e_trigger")>;
/// Coordinator -> itself: the restart backoff passed, start the replacement tasks.
using restart_atom = caf::atom_constant<caf::atom("e_restart")>;
/// Task -> itself: a message an injected delay held back is due (fault injection).
using delay_atom = caf::atom_constant<caf::atom("e_delay")>;
/// Fault injector -> itself: the next timed fault is due.
using fault_atom = caf::atom_constant<caf::atom("e_fault")>;

/// Coordinator -> tasks: checkpoint `id` completed (in-flight logs before it can go).
using complete_atom = caf::atom_constant<caf::atom("e_complete")>;
/// Coordinator -> tasks: checkpoint `id` was abandoned (stop aligning on it).
using abort_atom = caf::atom_constant<caf::atom("e_abort")>;
/// Coordinator -> upstream task: a downstream instance was replaced; resend to it.
using rewire_atom = caf::atom_constant<caf::atom("e_rewire")>;
/// User (`job::savepoint`) -> coordinator: a savepoint was requested.
using savepoint_atom = caf::atom_constant<caf::atom("e_savept")>;
/// Task -> coordinator: determinants to keep for a replay.
using det_atom = caf::atom_constant<caf::atom("e_det")>;

} // namespace eddy
