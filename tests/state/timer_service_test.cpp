#include <eddy/state/timer_service.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace eddy::state;

namespace {

std::vector<std::pair<int64_t, std::string>> fire_all(timer_service<std::string>& s, time_domain d,
                                                      int64_t now) {
  std::vector<std::pair<int64_t, std::string>> out;
  s.fire_due(d, now, [&](const timer<std::string>& t) { out.emplace_back(t.time, t.key); });
  return out;
}

} // namespace

SCENARIO("timers fire once each, in order of time, and only when their clock reaches them") {
  timer_service<std::string> s;
  s.register_timer(3, "b", 20, time_domain::event);
  s.register_timer(1, "a", 10, time_domain::event);
  s.register_timer(1, "a", 10, time_domain::event); // the same timer: no duplicate
  s.register_timer(1, "a", 30, time_domain::event);
  s.register_timer(1, "a", 15, time_domain::processing);
  s.delete_timer(1, "a", 30, time_domain::event);
  s.delete_timer(1, "zz", 99, time_domain::event); // absent: nothing happens
  CHECK(s.size(time_domain::event) == 2);
  CHECK(fire_all(s, time_domain::event, 9).empty());
  auto fired = fire_all(s, time_domain::event, 25);
  CHECK(fired == std::vector<std::pair<int64_t, std::string>>{{10, "a"}, {20, "b"}});
  CHECK(fire_all(s, time_domain::event, 100).empty()); // fired once; 30 was deleted
  CHECK(fire_all(s, time_domain::processing, 15) ==
        std::vector<std::pair<int64_t, std::string>>{{15, "a"}});
}

SCENARIO("a timer registered while timers fire fires in the same pass when it is due") {
  timer_service<std::string> s;
  s.register_timer(0, "a", 10, time_domain::event);
  std::vector<int64_t> times;
  s.fire_due(time_domain::event, 50, [&](const timer<std::string>& t) {
    times.push_back(t.time);
    if (t.time < 40)
      s.register_timer(t.kg, t.key, t.time + 20, time_domain::event);
  });
  CHECK(times == std::vector<int64_t>{10, 30, 50});
}

SCENARIO("the timers of a key group round-trip through bytes; damaged bytes change nothing") {
  timer_service<std::string> a;
  a.register_timer(4, "x", 5, time_domain::event);
  a.register_timer(4, "y", 7, time_domain::processing);
  a.register_timer(5, "z", 6, time_domain::event);
  auto bytes = a.write_key_group(4);
  timer_service<std::string> b;
  b.register_timer(4, "old", 1, time_domain::event); // replaced by the restore
  b.register_timer(5, "keep", 2, time_domain::event);
  REQUIRE_FALSE(b.read_key_group(4, bytes));
  CHECK(fire_all(b, time_domain::event, 100) ==
        std::vector<std::pair<int64_t, std::string>>{{2, "keep"}, {5, "x"}});
  CHECK(fire_all(b, time_domain::processing, 100) ==
        std::vector<std::pair<int64_t, std::string>>{{7, "y"}});
  timer_service<std::string> c;
  c.register_timer(4, "still", 3, time_domain::event);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<char> truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK(is(c.read_key_group(4, truncated), errc::corrupt_key_group));
  }
  auto longer = bytes;
  longer.push_back(0);
  CHECK(is(c.read_key_group(4, longer), errc::corrupt_key_group));
  CHECK(fire_all(c, time_domain::event, 100) ==
        std::vector<std::pair<int64_t, std::string>>{{3, "still"}});
}
