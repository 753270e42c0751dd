// The job of the two-process test, built identically by the test and by its worker process.
#pragma once

#include <eddy/operators/job.hpp>
#include <eddy/sources/generator.hpp>

#include <unistd.h>

#include <stdexcept>

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

/// A two-input operator with one record type on both inputs: records of the second input get
/// key -2, so which input each came from shows in the output.
struct mark_second {
  void process1(const tagged& x, eddy::collector<tagged>& out) {
    out.emit(tagged{x.value, x.key, static_cast<int32_t>(::getpid())});
  }
  void process2(const tagged& x, eddy::collector<tagged>& out) {
    out.emit(tagged{x.value, -2, static_cast<int32_t>(::getpid())});
  }
};

/// What "scale" does, in whichever process it runs: doubles, and rejects one number in 5,000.
inline tagged scale(const int64_t& x) {
  if (x % 5000 == 4999)
    throw std::runtime_error("rejected remotely");
  return tagged{x * 2, x % 13, static_cast<int32_t>(::getpid())};
}

/// source -> key_by -> "scale" -> "sides" (connected with "extra") -> returns the stream. "scale"
/// and "sides" can run on the worker.
inline eddy::stream<tagged> build(eddy::job& j) {
  auto scaled = j.source(eddy::generator<int64_t>(20'000, [](uint64_t i) { return int64_t(i); }))
                    .name("numbers")
                    .key_by([](const int64_t& x) { return x % 13; })
                    .map([](const int64_t& x) { return scale(x); })
                    .name("scale")
                    .parallelism(2);
  return scaled
      .connect(j.source(eddy::generator<tagged>(100,
                                                [](uint64_t i) {
                                                  return tagged{-int64_t(i) - 1, -1, 0};
                                                }))
                   .name("extra"))
      .process<tagged>(mark_second{})
      .name("sides")
      .parallelism(2);
}

} // namespace remote_test
