// The worker process of the two-process test: builds the same job and serves its operators.
//   eddy_test_worker <port>     prints "listening on <port> pid <pid>" once ready
#include "remote_job.hpp"

#include <eddy/sinks/collect.hpp>

#include <cstdio>
#include <cstdlib>

#include <unistd.h>

int main(int argc, char** argv) {
  uint16_t port = argc > 1 ? static_cast<uint16_t>(std::atoi(argv[1])) : 0;
  eddy::job j{eddy::job_config{}.with_threads(2)};
  std::vector<remote_test::tagged> unused;
  remote_test::build(j).sink(eddy::collect(unused)).name("collect");
  auto err = j.serve(
      port,
      [](uint16_t p) {
        std::printf("listening on %u pid %d\n", p, static_cast<int>(::getpid()));
        std::fflush(stdout);
      },
      "127.0.0.1");
  if (err) {
    std::fprintf(stderr, "worker: %s\n", eddy::describe(err).c_str());
    return 1;
  }
  return 0;
}
