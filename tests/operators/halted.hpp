// Where a job the fault plan halted (halt:job@checkpoint=N) stopped: the checkpoint folder its
// run() error names, for a job that carries on from it (job_config::from_savepoint). The Kafka,
// sink and savepoint tests use it.
#pragma once

#include <eddy/actors/error.hpp>

#include <caf/error.hpp>

#include <string>

namespace eddy::test {

/// The folder named by `err` when it is a halt's error ("... halted right after checkpoint N
/// completed ...; a job started from <folder> (job_config::from_savepoint) carries on"); empty
/// when it is another error.
inline std::string halted_at(const caf::error& err) {
  auto why = describe(err);
  const std::string lead = "a job started from ";
  auto at = why.find(lead);
  if (why.find("halted right after checkpoint") == std::string::npos || at == std::string::npos)
    return {};
  at += lead.size();
  auto end = why.find(" (job_config", at);
  return end == std::string::npos ? std::string{} : why.substr(at, end - at);
}

} // namespace eddy::test
