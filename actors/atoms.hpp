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

} // namespace eddy
