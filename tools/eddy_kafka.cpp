// eddy-kafka: an embedded Kafka cluster (librdkafka's mock brokers) on loopback, for running
// jobs and trying tools (kcat, eddy's Kafka source and sink) without installing a broker.
//
//   eddy-kafka --brokers 3 --topic sensors:4 --topic alerts:1
//   # prints:  bootstrap 127.0.0.1:39411,127.0.0.1:41097,127.0.0.1:35261
//   kcat -b 127.0.0.1:39411 -t sensors -P < readings.jsonl
//
// It runs until it gets SIGINT or SIGTERM (Ctrl-C). What it holds lives in memory only.
#include <eddy/actors/error.hpp>
#include <eddy/kafka/mock_cluster.hpp>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"An embedded Kafka cluster on loopback (librdkafka's mock brokers): prints its "
               "bootstrap address and runs until interrupted"};
  int brokers = 1;
  std::vector<std::string> topics;
  app.add_option("--brokers", brokers, "brokers to start")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--topic", topics, "a topic to create, as name:partitions (repeat the option)");
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals before any thread starts, then wait for one of them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto cluster = eddy::kafka::mock_cluster::start(brokers);
  if (!cluster) {
    std::fprintf(stderr, "eddy-kafka: %s\n", eddy::describe(cluster.error()).c_str());
    return 1;
  }
  for (const auto& t : topics) {
    auto colon = t.rfind(':');
    int partitions = 1;
    std::string name = t;
    if (colon != std::string::npos) {
      name = t.substr(0, colon);
      try {
        partitions = std::stoi(t.substr(colon + 1));
      } catch (const std::exception&) {
        partitions = 0;
      }
    }
    if (auto err = cluster->create_topic(name, partitions)) {
      std::fprintf(stderr, "eddy-kafka: --topic %s: %s (write it as name:partitions)\n", t.c_str(),
                   eddy::describe(err).c_str());
      return 1;
    }
    std::printf("topic %s with %d partition%s\n", name.c_str(), partitions,
                partitions == 1 ? "" : "s");
  }
  std::printf("bootstrap %s\n", cluster->bootstrap().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  std::printf("stopping (signal %d)\n", sig);
  return 0;
}
