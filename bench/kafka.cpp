// Kafka -> map -> Kafka through the embedded cluster (librdkafka's mock brokers), in events/s:
// eddy at-least-once and exactly-once against librdkafka alone doing the same work on the same
// cluster in the same run.
//
// The input: --events records of --value-bytes bytes on --partitions partitions of topic "in".
// The work: each record's value hashed (FNV-1a), the hash written as 16 hex digits with the
// record's key to an output topic. The baseline has the shape of eddy's job: --parallelism
// threads, each with one librdkafka consumer (partitions p with p % parallelism == its index,
// batch consumption) and one idempotent producer, then a flush. eddy runs --parallelism source,
// map and sink instances on --threads threads, at-least-once (a producer per sink instance) and
// exactly-once (records committed in a Kafka transaction per checkpoint, every
// --checkpoint-interval ms). The baseline's clock runs from the first read (its clients created and
// the topics' metadata known) to the last acknowledgement; eddy's covers job::run() whole,
// creating its clients and checking its topics included, to the last acknowledgement or commit.
// Each side runs --rounds times, interleaved, each into its own output topic, which must hold
// --events records; the median is reported, with the range.
//
//   eddy_bench_kafka [--events 200000] [--value-bytes 100] [--partitions 8] [--parallelism 2]
//                    [--threads 2] [--checkpoint-interval 200] [--rounds 3]

#include "cli.hpp"

#include <eddy/kafka/internal/client.hpp>
#include <eddy/kafka/mock_cluster.hpp>
#include <eddy/kafka/sink.hpp>
#include <eddy/kafka/source.hpp>
#include <eddy/operators/job.hpp>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

struct hashed {
  std::string key;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hashed& x) {
  return f(caf::meta::type_name("hashed"), x.key, x.value);
}

/// The work per record: FNV-1a of the value as 16 hex digits.
std::string hash_hex(const char* data, size_t n) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return {out, 16};
}

/// Records in all partitions of `topic` (high - low offsets; includes transaction markers, so
/// for a transactional topic it is an upper bound).
int64_t records_in(const std::string& bootstrap, const std::string& topic) {
  auto c = kafka::internal::consumer::open({{"bootstrap.servers", bootstrap}});
  auto n = c ? c->partitions(topic, 10s) : c.error();
  if (!n)
    return -1;
  int64_t total = 0;
  for (int32_t p = 0; p < *n; ++p) {
    auto r = c->offsets(topic, p, 10s);
    if (!r)
      return -1;
    total += r->high - r->low;
  }
  return total;
}

/// librdkafka alone, one of `instances` threads: consume every record of the partitions p of
/// "in" with p % instances == instance, hash it, produce to `out`, flush. The clock starts when
/// every thread has its clients ready (`ready`). Returns the seconds, or a negative number after
/// printing why it failed.
double raw_librdkafka(const std::string& bootstrap, int partitions, uint64_t all_events,
                      const std::string& out, int instance, int instances,
                      std::atomic<int>& ready) {
  uint64_t events = 0; // in this instance's partitions (record i is on partition i % partitions)
  for (int p = instance; p < partitions; p += instances)
    events += all_events / uint64_t(partitions) + (uint64_t(p) < all_events % partitions ? 1 : 0);
  char err[512];
  auto* cconf = rd_kafka_conf_new();
  rd_kafka_conf_set(cconf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_conf_set(cconf, "group.id", "eddy-bench-raw", err, sizeof(err));
  rd_kafka_conf_set(cconf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_conf_set(cconf, "log_level", "3", err, sizeof(err));
  auto* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof(err));
  auto* pconf = rd_kafka_conf_new();
  rd_kafka_conf_set(pconf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_conf_set(pconf, "enable.idempotence", "true", err, sizeof(err));
  rd_kafka_conf_set(pconf, "log_level", "3", err, sizeof(err));
  auto* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
  if (consumer == nullptr || producer == nullptr) {
    std::fprintf(stderr, "librdkafka: %s\n", err);
    return -1;
  }
  // Both clients know the topics' leaders before the clock starts, as eddy's source and sink do
  // when they open (a producer's first record for a topic it has not asked about waits for its
  // metadata: about a second on the embedded cluster).
  for (auto [client, name] : {std::pair{consumer, std::string{"in"}}, std::pair{producer, out}}) {
    auto* rkt = rd_kafka_topic_new(client, name.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(client, 0, rkt, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR)
      rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
  }
  auto* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = instance; p < partitions; p += instances)
    rd_kafka_topic_partition_list_add(list, "in", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(consumer, list);
  rd_kafka_topic_partition_list_destroy(list);
  auto* queue = rd_kafka_queue_get_consumer(consumer);
  std::vector<rd_kafka_message_t*> msgs(10'000);
  uint64_t done = 0;
  ++ready;
  while (ready < instances)
    std::this_thread::yield();
  auto t0 = std::chrono::steady_clock::now();
  while (done < events) {
    // The call waits until the batch is full or the timeout passed: 1 ms, so that it takes what
    // is there (as eddy's source does) rather than wait for a full batch.
    auto n = rd_kafka_consume_batch_queue(queue, 1, msgs.data(), msgs.size());
    for (ssize_t i = 0; i < n; ++i) {
      auto* m = msgs[size_t(i)];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        auto value = hash_hex(static_cast<const char*>(m->payload), m->len);
        for (;;) {
          auto e = rd_kafka_producev(
              producer, RD_KAFKA_V_TOPIC(out.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
              RD_KAFKA_V_KEY(m->key, m->key_len),
              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
          if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
          rd_kafka_poll(producer, 10);
        }
        ++done;
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_flush(producer, 60'000);
  auto s = bench::seconds_since(t0);
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_destroy(producer);
  return s;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kafka -> map -> Kafka on the embedded cluster: eddy against librdkafka alone"};
  uint64_t events = 200'000;
  uint64_t value_bytes = 100;
  uint64_t partitions = 8;
  uint64_t parallelism = 2;
  uint64_t threads = 2;
  uint64_t interval_ms = 200;
  uint64_t rounds = 3;
  app.add_option("--events", events, "records")
      ->capture_default_str()
      ->check(bench::whole_number(1, 100'000'000));
  app.add_option("--value-bytes", value_bytes, "bytes per record value")
      ->capture_default_str()
      ->check(bench::whole_number(1, 100'000));
  app.add_option("--partitions", partitions, "partitions of the topics")
      ->capture_default_str()
      ->check(bench::whole_number(1, 64));
  app.add_option("--parallelism", parallelism, "eddy's instances per operator")
      ->capture_default_str()
      ->check(bench::whole_number(1, 64));
  app.add_option("--threads", threads, "eddy's scheduler threads")
      ->capture_default_str()
      ->check(bench::whole_number(1, 128));
  app.add_option("--checkpoint-interval", interval_ms, "ms between checkpoints (exactly-once)")
      ->capture_default_str()
      ->check(bench::whole_number(1, 3'600'000));
  app.add_option("--rounds", rounds, "runs of each side, interleaved; the median is reported")
      ->capture_default_str()
      ->check(bench::whole_number(1, 99));
  CLI11_PARSE(app, argc, argv);

  auto cluster = kafka::mock_cluster::start(1);
  if (!cluster) {
    std::fprintf(stderr, "%s\n", describe(cluster.error()).c_str());
    return 1;
  }
  const auto& bootstrap = cluster->bootstrap();
  std::vector<std::string> topics{"in"};
  for (uint64_t r = 0; r < rounds; ++r)
    for (const char* side : {"out-raw-", "out-least-", "out-once-"})
      topics.push_back(side + std::to_string(r));
  for (const auto& t : topics)
    if (auto err = cluster->create_topic(t, int(partitions))) {
      std::fprintf(stderr, "%s\n", describe(err).c_str());
      return 1;
    }
  {
    auto p = kafka::internal::producer::open({{"bootstrap.servers", bootstrap}});
    if (!p) {
      std::fprintf(stderr, "%s\n", describe(p.error()).c_str());
      return 1;
    }
    std::string value(value_bytes, 'x');
    for (uint64_t i = 0; i < events; ++i) {
      auto key = std::to_string(i);
      std::memcpy(value.data(), key.data(), std::min(key.size(), value.size()));
      if (auto err = p->send("in", int32_t(i % partitions), key, value)) {
        std::fprintf(stderr, "%s\n", describe(err).c_str());
        return 1;
      }
    }
    if (auto err = p->flush(120s)) {
      std::fprintf(stderr, "%s\n", describe(err).c_str());
      return 1;
    }
  }
  if (records_in(bootstrap, "in") != int64_t(events)) {
    std::fprintf(stderr,
                 "the embedded cluster kept only %lld of the %llu records: librdkafka's "
                 "mock brokers keep at most 5 MB per partition; use more --partitions or "
                 "fewer --events\n",
                 static_cast<long long>(records_in(bootstrap, "in")),
                 static_cast<unsigned long long>(events));
    return 1;
  }
  std::printf("Kafka -> hash -> Kafka, %llu records of %llu bytes on %llu partitions, one mock "
              "broker in this process\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(value_bytes),
              static_cast<unsigned long long>(partitions));
  auto dir = std::filesystem::temp_directory_path() / "eddy_bench_kafka";
  bool ok = true;
  // Seconds of each side per round: librdkafka alone, eddy at-least-once, eddy exactly-once.
  std::vector<double> times[3];
  for (uint64_t r = 0; r < rounds; ++r) {
    auto round = std::to_string(r);
    // As many threads as eddy has instances, each with its own consumer and producer.
    std::vector<double> secs(parallelism);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads_raw;
    for (uint64_t k = 0; k < parallelism; ++k)
      threads_raw.emplace_back([&, k] {
        secs[k] = raw_librdkafka(bootstrap, int(partitions), events, "out-raw-" + round, int(k),
                                 int(parallelism), ready);
      });
    for (auto& t : threads_raw)
      t.join();
    if (*std::min_element(secs.begin(), secs.end()) < 0)
      return 1;
    times[0].push_back(*std::max_element(secs.begin(), secs.end()));
    ok = ok && records_in(bootstrap, "out-raw-" + round) == int64_t(events);
    for (bool once : {false, true}) {
      std::filesystem::remove_all(dir);
      auto cfg = job_config{}.with_threads(uint32_t(threads));
      if (once)
        cfg = cfg.with_checkpoints(dir, std::chrono::milliseconds{interval_ms});
      auto topic = (once ? "out-once-" : "out-least-") + round;
      auto sink = kafka::to_topic<hashed>(bootstrap, topic)
                      .encode([](const hashed& h) { return h.value; })
                      .key([](const hashed& h) { return h.key; });
      if (once)
        sink = sink.exactly_once("eddy-bench-kafka-" + round);
      job j{cfg};
      j.source(kafka::from_topic<kafka::message>(bootstrap, "in").until_end())
          .parallelism(uint32_t(parallelism))
          .map([](const kafka::message& m) {
            return hashed{m.key, hash_hex(m.value.data(), m.value.size())};
          })
          .parallelism(uint32_t(parallelism))
          .sink(sink)
          .parallelism(uint32_t(parallelism));
      auto run = bench::timed_run(j);
      if (!run)
        return 1;
      times[once ? 2 : 1].push_back(run->second);
      auto out = records_in(bootstrap, topic);
      // A transactional topic also holds one commit marker per partition and transaction.
      ok = ok && (once ? out >= int64_t(events) : out == int64_t(events));
    }
  }
  auto median = [](std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    return xs[xs.size() / 2];
  };
  auto line = [&](const char* what, const std::vector<double>& xs) {
    auto m = median(xs);
    std::printf("  %-64s %7.3f M events/s (median of %zu; %.3f to %.3f)", what, events / m / 1e6,
                xs.size(), events / *std::max_element(xs.begin(), xs.end()) / 1e6,
                events / *std::min_element(xs.begin(), xs.end()) / 1e6);
    if (&xs != &times[0])
      std::printf(", ratio to librdkafka alone %.2f", median(times[0]) / m);
    std::printf("\n");
  };
  auto p = std::to_string(parallelism) + ", " + std::to_string(threads) + " threads";
  line(("librdkafka alone (" + std::to_string(parallelism) +
        " threads, a consumer and a producer each):")
           .c_str(),
       times[0]);
  line(("eddy at-least-once (parallelism " + p + "):").c_str(), times[1]);
  line(("eddy exactly-once (parallelism " + p + ", checkpoints every " +
        std::to_string(interval_ms) + " ms):")
           .c_str(),
       times[2]);
  std::printf("  %s\n", ok ? "every output topic holds every record" : "records MISSING");
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
