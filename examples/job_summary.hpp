// What the example programs print about a run with checkpoints: the faults injected, each
// recovery, the checkpoints taken and the report's notes.
//
//   auto report = job.run();
//   if (report) examples::print_recovery(*report);
#pragma once

#include <eddy/operators/job_report.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace examples {

/// Prints the injected faults, the recoveries and the checkpoints of a run.
inline void print_recovery(const eddy::job_report& r) {
  std::printf("\n");
  for (const auto& f : r.faults)
    std::printf("fault: %s\n", f.c_str());
  for (const auto& x : r.recoveries) {
    auto to = x.from_checkpoint == 0 ? std::string{"the start"}
                                     : "checkpoint " + std::to_string(x.from_checkpoint);
    std::printf("recovery (%s): back to %s, %.1f ms down: %s\n",
                x.single_task ? "the task alone" : "the whole job", to.c_str(),
                x.downtime.count() / 1e6, x.cause.c_str());
    if (!x.fallback.empty())
      std::printf("  (not the task alone: %s)\n", x.fallback.c_str());
  }
  std::vector<int64_t> ns;
  for (const auto& c : r.checkpoints)
    ns.push_back(c.duration.count());
  std::sort(ns.begin(), ns.end());
  std::printf("checkpoints: %zu completed (p50 %.2f ms), %llu abandoned\n", ns.size(),
              ns.empty() ? 0.0 : ns[ns.size() / 2] / 1e6,
              static_cast<unsigned long long>(r.checkpoints_abandoned));
  for (const auto& n : r.notes)
    std::printf("note: %s\n", n.c_str());
}

} // namespace examples
