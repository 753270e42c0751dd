// The job of the two-process test, built identically by the test and by its worker process.
#pragma once

#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <unistd.h>

namespace remote_test {

/// A record that remembers which process computed it.
struct tagged {
  int64_t value = 0;
  int64_t key = 0;
  int32_t pid = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tagged& x) {
  return f(caf::meta::type_name("remote_test::tagged"), x.value, x.key, x.pid);
}

/// source -> key_by -> "scale" (the operator that can run on the worker) -> returns the stream.
inline eddy::stream<tagged> build(eddy::job& j) {
  return j.source(eddy::generator<int64_t>(20'000, [](uint64_t i) { return int64_t(i); }))
      .name("numbers")
      .key_by([](const int64_t& x) { return x % 13; })
      .map([](const int64_t& x) {
        if (x % 5000 == 4999)
          throw std::runtime_error("rejected remotely");
        return tagged{x * 2, x % 13, static_cast<int32_t>(::getpid())};
      })
      .name("scale")
      .parallelism(2);
}

} // namespace remote_test
