#include <eddy/operators/job.hpp>
#include <eddy/sinks/stdout_sink.hpp>
#include <eddy/sources/container_source.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

using namespace eddy;

namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buf[256];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    text.append(buf, n);
  return text;
}

} // namespace

SCENARIO("the stdout sink prints one line per record, formatted or rendered by CAF") {
  std::FILE* plain = std::tmpfile();
  std::FILE* formatted = std::tmpfile();
  REQUIRE(plain != nullptr);
  REQUIRE(formatted != nullptr);
  job j;
  auto s = j.source(from_container(std::vector<int>{1, 2, 3}));
  s.sink(stdout_sink<int>{{}, plain});
  s.sink(stdout_sink<int>{[](const int& x) { return "x=" + std::to_string(x); }, formatted});
  REQUIRE(j.run());
  CHECK(read_all(plain) == "1\n2\n3\n");
  CHECK(read_all(formatted) == "x=1\nx=2\nx=3\n");
  std::fclose(plain);
  std::fclose(formatted);
}
