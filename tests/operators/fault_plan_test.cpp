// The text form of a fault plan: what parses, what every mistake says, and the round trip.
#include <eddy/operators/fault_plan.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

/// The sentence of the error `spec` gives (fails the test when it parses).
std::string mistake(const std::string& spec) {
  auto plan = parse_fault_plan(spec);
  REQUIRE_FALSE(plan);
  CHECK(is(plan.error(), errc::invalid_topology));
  return describe(plan.error());
}

/// True when `text` holds `part`.
bool says(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

SCENARIO("a fault plan reads crashes, random kills and the seed") {
  auto plan = parse_fault_plan("crash:windows#1@after=50000; kill:random@every=100ms,count=20; "
                               "seed=42");
  REQUIRE(plan);
  REQUIRE(plan->crashes.size() == 1);
  CHECK(plan->crashes[0].op == "windows");
  CHECK(plan->crashes[0].instance == 1);
  CHECK(plan->crashes[0].after_records == 50'000);
  CHECK(plan->kill_every == caf::timespan{100ms});
  CHECK(plan->kill_count == 20);
  CHECK(plan->seed == 42);
}

SCENARIO("a crash can hit the replacements too") {
  auto plan = parse_fault_plan("crash:windows#1@after=1500,times=3");
  REQUIRE(plan);
  REQUIRE(plan->crashes.size() == 1);
  CHECK(plan->crashes[0] == fault_plan::crash{"windows", 1, 1'500, 3});
  CHECK(to_string(*plan) == "crash:windows#1@after=1500,times=3");
  CHECK(to_string(*parse_fault_plan("crash:w@after=5,times=1")) == "crash:w#0@after=5");
  CHECK(says(mistake("crash:w@after=5,times=0"),
             "times=0 in 'crash:w@after=5,times=0' is not a number of incarnations"));
  CHECK(says(mistake("crash:w@times=2"), "does not say when"));
}

SCENARIO("a crash fires at a checkpoint, at a restore or at the end of the input; kills come "
         "several at once") {
  auto plan = parse_fault_plan("crash:windows#1@checkpoint=3; crash:windows#0@restore,times=2; "
                               "crash:collect@end; kill:random@every=150ms,count=2,together=3");
  REQUIRE(plan);
  REQUIRE(plan->crashes.size() == 3);
  CHECK(plan->crashes[0].when == fault_plan::crash::at_checkpoint);
  CHECK(plan->crashes[0].checkpoint == 3);
  CHECK(plan->crashes[1].when == fault_plan::crash::on_restore);
  CHECK(plan->crashes[1].times == 2);
  CHECK(plan->crashes[2].when == fault_plan::crash::at_end);
  CHECK(plan->crashes[2].op == "collect");
  CHECK(plan->kill_together == 3);
  CHECK(to_string(*plan) == "crash:windows#1@checkpoint=3; crash:windows#0@restore,times=2; "
                            "crash:collect#0@end; kill:random@every=150ms,count=2,together=3");
  CHECK(*parse_fault_plan(to_string(*plan)) == *plan);
  CHECK(says(mistake("crash:w@after=5,end"), "says twice when the crash fires"));
  CHECK(says(mistake("crash:w@checkpoint=0"), "ids count from 1"));
  CHECK(says(mistake("crash:w@finish"), "is not a parameter"));
  CHECK(says(mistake("kill:random@every=1s,count=1,together=0"), "write 1 or more"));
}

SCENARIO("a fault plan kills named tasks at a time and makes user functions throw") {
  auto plan = parse_fault_plan("kill:windows#1@at=250ms; kill:collect@at=2s; "
                               "throw:parse#0@record=1_000; throw:windows#3@record=7");
  REQUIRE(plan);
  REQUIRE(plan->kills.size() == 2);
  CHECK(plan->kills[0] == fault_plan::kill{"windows", 1, 250ms});
  CHECK(plan->kills[1] == fault_plan::kill{"collect", 0, 2s});
  REQUIRE(plan->throws.size() == 2);
  CHECK(plan->throws[0] == fault_plan::user_throw{"parse", 0, 1'000});
  CHECK(plan->throws[1] == fault_plan::user_throw{"windows", 3, 7});
  CHECK_FALSE(plan->empty());
  CHECK(to_string(*plan) == "kill:windows#1@at=250ms; kill:collect#0@at=2s; "
                            "throw:parse#0@record=1000; throw:windows#3@record=7");
  CHECK(*parse_fault_plan(to_string(*plan)) == *plan);
  // A named kill and random kills in one plan.
  auto both = parse_fault_plan("kill:random@every=1s,count=2; kill:w@at=1s");
  REQUIRE(both);
  CHECK(both->kill_count == 2);
  CHECK(both->kills.size() == 1);
  CHECK(both->kill_among.empty());
  // Random kills among one operator's instances.
  auto among = parse_fault_plan("kill:windows@every=50ms,count=8");
  REQUIRE(among);
  CHECK(among->kill_among == "windows");
  CHECK(among->kill_every == caf::timespan{50ms});
  CHECK(among->kill_count == 8);
  CHECK(among->kills.empty());
  CHECK(to_string(*among) == "kill:windows@every=50ms,count=8");
  CHECK(*parse_fault_plan(to_string(*among)) == *among);
  CHECK(says(mistake("kill:windows@every=1s,count=1; kill:random@every=1s,count=1"),
             "random kills are given twice"));
  CHECK(says(mistake("kill:windows@every=1s,count=1,at=2s"), "kill:windows has no parameter 'at'"));
  CHECK(says(mistake("throw:parse"), "'throw:parse' does not say on which record: write "
                                     "throw:<op>#<instance>@record=<n>"));
  CHECK(says(mistake("throw:parse@record=0"), "records are counted from 1"));
  CHECK(says(mistake("throw:parse@after=5"), "a throw has no parameter 'after'"));
  CHECK(says(mistake("throw:@record=5"), "names no operator"));
  CHECK(says(mistake("throw:parse@record"), "is not a parameter: write <name>=<value>, e.g. "
                                            "record=1000"));
}

SCENARIO("a fault plan delays what an operator sends, or every operator") {
  auto plan = parse_fault_plan("delay:windows@max=2ms; delay:all@max=500us");
  REQUIRE(plan);
  REQUIRE(plan->delays.size() == 2);
  CHECK(plan->delays[0].op == "windows");
  CHECK(plan->delays[0].max == caf::timespan{2ms});
  CHECK(plan->delays[1].op == "all");
  CHECK(to_string(*plan) == "delay:windows@max=2ms; delay:all@max=500us");
  CHECK(*parse_fault_plan(to_string(*plan)) == *plan);
  CHECK(says(mistake("delay:windows"), "does not say how long"));
  CHECK(says(mistake("delay:windows@max=0ms"), "not a positive duration"));
  CHECK(says(mistake("delay:windows@every=2ms"), "has no parameter 'every'"));
}

SCENARIO("a fault plan halts the whole job after a checkpoint") {
  auto plan = parse_fault_plan("kill:random@every=1s,count=2; halt: job @checkpoint=4");
  REQUIRE(plan);
  CHECK(plan->halt_after_checkpoint == 4);
  CHECK_FALSE(plan->empty());
  CHECK(to_string(*plan) == "kill:random@every=1s,count=2; halt:job@checkpoint=4");
  CHECK(*parse_fault_plan(to_string(*plan)) == *plan);
  CHECK(says(mistake("halt:job"), "does not say after which checkpoint"));
  CHECK(says(mistake("halt:windows@checkpoint=2"), "halt stops the whole job"));
  CHECK(says(mistake("halt:job@checkpoint=0"), "numbered from 1"));
  CHECK(says(mistake("halt:job@after=3"), "halt:job has no parameter 'after'"));
  CHECK(says(mistake("halt:job@checkpoint=2; halt:job@checkpoint=3"), "halted twice"));
}

SCENARIO("a fault plan reads faults of the snapshot files") {
  using sf = fault_plan::snapshot_fault;
  auto plan = parse_fault_plan("fail:snapshot@checkpoint=3; corrupt:snapshot; truncate: snapshot ;"
                               "corrupt:snapshot");
  REQUIRE(plan);
  REQUIRE(plan->snapshot_faults.size() == 4);
  CHECK(plan->snapshot_faults[0] == sf{sf::fail_write, 3});
  CHECK(plan->snapshot_faults[1] == sf{sf::corrupt, 0});
  CHECK(plan->snapshot_faults[2] == sf{sf::truncate, 0});
  CHECK(plan->snapshot_faults[3] == sf{sf::corrupt, 0});
  CHECK_FALSE(plan->empty());
  CHECK(to_string(*plan) ==
        "fail:snapshot@checkpoint=3; corrupt:snapshot; truncate:snapshot; corrupt:snapshot");
  CHECK(*parse_fault_plan(to_string(*plan)) == *plan);
}

SCENARIO("a fault plan takes ',' between items, whitespace, grouped digits and a default "
         "instance") {
  auto plan = parse_fault_plan(" crash: source-0 @ after = 1_000 ,crash:minute#3@after=7,"
                               "kill:random@count=2, every=2s ,seed=9;");
  REQUIRE(plan);
  REQUIRE(plan->crashes.size() == 2);
  CHECK(plan->crashes[0] == fault_plan::crash{"source-0", 0, 1'000});
  CHECK(plan->crashes[1] == fault_plan::crash{"minute", 3, 7});
  CHECK(plan->kill_every == caf::timespan{2s});
  CHECK(plan->kill_count == 2);
  CHECK(plan->seed == 9);
}

SCENARIO("an empty fault plan injects nothing") {
  for (auto spec : {"", "  ", ";", " ; , "}) {
    auto plan = parse_fault_plan(spec);
    REQUIRE(plan);
    CHECK(plan->empty());
    CHECK(*plan == fault_plan{});
  }
}

SCENARIO("durations take ns, us, ms, s, min and h") {
  CHECK(*parse_duration("5ns") == caf::timespan{5ns});
  CHECK(*parse_duration("5us") == caf::timespan{5us});
  CHECK(*parse_duration("250ms") == caf::timespan{250ms});
  CHECK(*parse_duration("2s") == caf::timespan{2s});
  CHECK(*parse_duration("3min") == caf::timespan{3min});
  CHECK(*parse_duration("1h") == caf::timespan{1h});
  CHECK(*parse_duration("1_500ms") == caf::timespan{1500ms});
  for (auto bad : {"", "ms", "100", "1.5s", "-1s", "2 days", "10sec"}) {
    INFO(bad);
    auto d = parse_duration(bad);
    REQUIRE_FALSE(d);
    CHECK(says(describe(d.error()), "is not a duration: write a whole number and a unit"));
  }
  CHECK(says(describe(parse_duration("9999999999h").error()), "too long"));
}

SCENARIO("every mistake in a fault plan says what is wrong, quotes it and says how to write it") {
  // An unknown kind of fault.
  auto m = mistake("explode:windows#1@after=5");
  CHECK(says(m, "'explode:windows#1@after=5' is not a fault: write crash:<op>#<instance>"));
  CHECK(says(mistake("crash:w#0@after=5; bogus"), "'bogus' is not a fault"));
  // A kind with nothing after it.
  CHECK(says(mistake("crash"), "'crash' says no more: write crash:<op>#<instance>@after="));
  CHECK(says(mistake("kill"), "'kill' says no more: write kill:random@every="));
  // Crashes.
  CHECK(says(mistake("crash:#1@after=5"), "'crash:#1@after=5' names no operator"));
  CHECK(says(mistake("crash:windows#x@after=5"),
             "'#x' in 'crash:windows#x@after=5' is not an instance: instances are numbered #0"));
  CHECK(says(mistake("crash:windows#-1@after=5"), "'#-1' in"));
  CHECK(says(mistake("crash:windows#1"), "'crash:windows#1' does not say when: add "
                                         "@after=<records>, e.g. crash:windows#1@after=50000"));
  CHECK(says(mistake("crash:windows#1@"), "does not say when"));
  CHECK(says(mistake("crash:windows#1,after=5"),
             "'crash:windows#1,after=5' has parameters but no '@' before them: write "
             "crash:windows#1@after=5"));
  CHECK(says(mistake("kill:random every=1s"), "no '@' before them: write kill:random@every="));
  CHECK(says(mistake("crash:windows#1@after=5k"),
             "'5k' in 'crash:windows#1@after=5k' is not a whole number of records: write digits"));
  CHECK(says(mistake("crash:windows#1@after=99999999999999999999999"), "is too large for records"));
  CHECK(says(mistake("crash:windows#1@after=0"), "after=0 in 'crash:windows#1@after=0' never "
                                                 "fires"));
  CHECK(says(mistake("crash:windows#1@before=5"),
             "a crash has no parameter 'before' (in 'crash:windows#1@before=5'): it takes "
             "after=<records>"));
  CHECK(says(mistake("crash:windows#1@after=5,after=6"), "after is given twice in"));
  CHECK(says(mistake("crash:windows#1@after"),
             "'after' in 'crash:windows#1@after' is not a parameter: write <name>=<value>"));
  // Random kills.
  CHECK(says(mistake("kill:windows#1@every=1s,count=1"),
             "a kill of a named task has no parameter 'every' (in "
             "'kill:windows#1@every=1s,count=1'): it takes at=<duration>, e.g. "
             "kill:windows#1@at=2s"));
  CHECK(says(mistake("kill:windows#1"), "'kill:windows#1' does not say when: add "
                                        "@at=<duration>, e.g. kill:windows#1@at=2s"));
  CHECK(says(mistake("kill:windows@at=soon"), "at=soon in 'kill:windows@at=soon' is not a "
                                              "duration"));
  CHECK(says(mistake("kill:#2@at=1s"), "'kill:#2@at=1s' names no operator"));
  CHECK(says(mistake("kill:random@every=100,count=2"),
             "every=100 in 'kill:random@every=100,count=2' is not a duration: write a whole "
             "number and a unit"));
  CHECK(says(mistake("kill:random@every=0ms,count=2"), "is no interval"));
  CHECK(says(mistake("kill:random@every=1s,count=0"), "count=0 in 'kill:random@every=1s,count=0' "
                                                      "kills nothing"));
  CHECK(says(mistake("kill:random@every=1s,count=two"), "'two' in"));
  CHECK(says(mistake("kill:random@every=1s"), "'kill:random@every=1s' needs count=<n>"));
  CHECK(says(mistake("kill:random@count=3"), "'kill:random@count=3' needs every=<duration>"));
  CHECK(says(mistake("kill:random"), "needs every=<duration> and count=<n>"));
  CHECK(says(mistake("kill:random@every=1s,count=1,often=yes"),
             "kill:random has no parameter 'often'"));
  CHECK(says(mistake("kill:random@every=1s,count=1; kill:random@every=2s,count=1"),
             "random kills are given twice"));
  // Snapshot faults.
  CHECK(says(mistake("fail"), "'fail' says no more: write fail:snapshot@checkpoint=<id>"));
  CHECK(says(mistake("corrupt:windows#1"),
             "'corrupt:windows#1': corrupt applies to snapshot files: write corrupt:snapshot"));
  CHECK(says(mistake("fail:snapshot"), "'fail:snapshot' does not say which checkpoint: write "
                                       "fail:snapshot@checkpoint=<id>"));
  CHECK(says(mistake("fail:snapshot@checkpoint=0"), "names no checkpoint"));
  CHECK(says(mistake("fail:snapshot@after=5"), "fail:snapshot has no parameter 'after'"));
  CHECK(says(mistake("truncate:snapshot@checkpoint=2"),
             "truncate:snapshot has no parameter 'checkpoint'"));
  CHECK(says(mistake("fail:snapshot,checkpoint=2"),
             "no '@' before them: write fail:snapshot@checkpoint=2"));
  // The seed.
  CHECK(says(mistake("seed=abc"), "'abc' in 'seed=abc' is not a whole number: write digits"));
  CHECK(says(mistake("seed=1; seed=2"), "the seed is given twice ('seed=2')"));
  // Every sentence says where it comes from.
  CHECK(says(mistake("seed="), "fault plan: "));
}

SCENARIO("a fault plan written with to_string reads back the same") {
  fault_plan plan;
  CHECK(to_string(plan).empty());
  plan.crashes.push_back({"windows", 1, 50'000});
  plan.crashes.push_back({"source-0", 0, 7});
  CHECK(to_string(plan) == "crash:windows#1@after=50000; crash:source-0#0@after=7");
  plan.kill_every = 1500ms;
  plan.kill_count = 20;
  plan.seed = 42;
  CHECK(to_string(plan) == "crash:windows#1@after=50000; crash:source-0#0@after=7; "
                           "kill:random@every=1500ms,count=20; seed=42");
  for (auto every :
       {caf::timespan{3ns}, caf::timespan{4us}, caf::timespan{200ms}, caf::timespan{2s},
        caf::timespan{5min}, caf::timespan{2h}, caf::timespan{90s}}) {
    plan.kill_every = every;
    auto back = parse_fault_plan(to_string(plan));
    REQUIRE(back);
    CHECK(*back == plan);
  }
  // And text that was read writes back in the canonical form.
  auto read = parse_fault_plan("kill:random@count=5,every=1000ms , crash:m@after=3");
  REQUIRE(read);
  CHECK(to_string(*read) == "crash:m#0@after=3; kill:random@every=1s,count=5");
}
