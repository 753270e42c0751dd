#include <eddy/kafka/errc.hpp>
#include <eddy/kafka/internal/client.hpp>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace eddy::kafka::internal {

namespace {

/// A librdkafka configuration from `props`, or the sentence of the first bad setting.
caf::expected<rd_kafka_conf_t*> make_conf(const properties& props, const char* who) {
  auto* conf = rd_kafka_conf_new();
  char err[512] = {};
  for (const auto& [k, v] : props)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return make_error(errc::invalid_config, std::string{who} + ": setting " + k + "=" + v +
                                                  " is refused by librdkafka: " + err);
    }
  return conf;
}

int timeout_ms(std::chrono::milliseconds t) {
  return static_cast<int>(t.count());
}

} // namespace

// -- consumer -------------------------------------------------------------------------------------

struct consumer::impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* queue = nullptr;
  std::vector<rd_kafka_message_t*> msgs;
  statistics_fn on_statistics;

  /// librdkafka's background thread: statistics reports (other events are dropped).
  static void on_event(rd_kafka_t*, rd_kafka_event_t* ev, void* opaque) {
    auto* self = static_cast<impl*>(opaque);
    if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_STATS && self->on_statistics) {
      try {
        self->on_statistics(rd_kafka_event_stats(ev));
      } catch (...) {
        // a throwing observer loses its report, nothing else
      }
    }
    rd_kafka_event_destroy(ev);
  }

  ~impl() {
    if (queue != nullptr)
      rd_kafka_queue_destroy(queue);
    if (rk != nullptr) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }
};

caf::expected<consumer> consumer::open(const properties& props, statistics_fn on_statistics) {
  auto all = props;
  // Offsets come from eddy's checkpoints: nothing is committed or stored automatically.
  all.emplace("enable.auto.commit", "false");
  all.emplace("enable.auto.offset.store", "false");
  // Ends of partitions are reported (a bounded read knows when it is done, also when the last
  // offsets hold transaction markers); an offset that retention deleted is an error, not a
  // silent jump to the end (which would lose records).
  all.emplace("enable.partition.eof", "true");
  all.emplace("auto.offset.reset", "error");
  all.emplace("group.id", "eddy");
  all.emplace("log_level", "3");
  // What librdkafka fetches ahead of the job, at most (its default, 64 MiB, is per consumer: a
  // source under backpressure holds this much per instance).
  all.emplace("queued.max.messages.kbytes", "16384");
  auto conf = make_conf(all, "kafka consumer");
  if (!conf)
    return conf.error();
  char err[512] = {};
  auto x = std::make_unique<impl>();
  x->on_statistics = std::move(on_statistics);
  if (x->on_statistics) {
    rd_kafka_conf_set_events(*conf, RD_KAFKA_EVENT_STATS);
    rd_kafka_conf_set_background_event_cb(*conf, &impl::on_event);
    rd_kafka_conf_set_opaque(*conf, x.get());
  }
  x->rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, err, sizeof(err));
  if (x->rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return make_error(errc::invalid_config, std::string{"kafka consumer: "} + err);
  }
  if (x->on_statistics) {
    // Reports and client events go to the background thread, not the records' queue, so they
    // come while the source waits.
    auto* main = rd_kafka_queue_get_main(x->rk);
    auto* background = rd_kafka_queue_get_background(x->rk);
    rd_kafka_queue_forward(main, background);
    rd_kafka_queue_destroy(background);
    rd_kafka_queue_destroy(main);
  } else {
    rd_kafka_poll_set_consumer(x->rk);
  }
  x->queue = rd_kafka_queue_get_consumer(x->rk);
  return consumer{std::move(x)};
}

consumer::consumer(std::unique_ptr<impl> x) noexcept
    : impl_(std::move(x)) {}
consumer::consumer(consumer&&) noexcept = default;
consumer& consumer::operator=(consumer&&) noexcept = default;
consumer::~consumer() = default;

caf::expected<int32_t> consumer::partitions(const std::string& topic,
                                            std::chrono::milliseconds timeout) {
  // The metadata of all topics, searched by name: asking for one topic by name makes a broker
  // with auto.create.topics.enable (Kafka's default, and the mock's) create it, so a misspelt
  // topic would be read as an empty one.
  const rd_kafka_metadata_t* md = nullptr;
  auto e = rd_kafka_metadata(impl_->rk, 1, nullptr, &md, timeout_ms(timeout));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(errc::unavailable, "kafka: no metadata for topic '" + topic + "' within " +
                                             std::to_string(timeout.count()) +
                                             " ms: " + rd_kafka_err2str(e) +
                                             "; is bootstrap.servers right and the cluster up?");
  caf::expected<int32_t> result = make_error(
      errc::invalid_config, "kafka: topic '" + topic +
                                "' does not exist; create it first (kafka-topics.sh --create, "
                                "eddy-kafka --topic, or mock_cluster::create_topic)");
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic != t.topic)
      continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt == 0)
      result = make_error(errc::invalid_config, "kafka: topic '" + topic +
                                                    "' cannot be read: " + rd_kafka_err2str(t.err));
    else
      result = t.partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return result;
}

caf::expected<offset_range> consumer::offsets(const std::string& topic, int32_t p,
                                              std::chrono::milliseconds timeout) {
  offset_range r;
  auto e = rd_kafka_query_watermark_offsets(impl_->rk, topic.c_str(), p, &r.low, &r.high,
                                            timeout_ms(timeout));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(errc::unavailable, "kafka: cannot read the offsets of " + topic + "/" +
                                             std::to_string(p) + ": " + rd_kafka_err2str(e));
  return r;
}

caf::error consumer::assign(const std::string& topic,
                            const std::vector<std::pair<int32_t, int64_t>>& from) {
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(from.size()));
  for (const auto& [p, offset] : from)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = offset;
  auto e = rd_kafka_assign(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(errc::refused,
                      "kafka: cannot assign partitions of '" + topic + "': " + rd_kafka_err2str(e));
  return {};
}

caf::error consumer::poll(std::vector<message>& out, std::vector<std::pair<int32_t, int64_t>>& ends,
                          size_t max, std::chrono::milliseconds wait) {
  auto& msgs = impl_->msgs;
  msgs.resize(max);
  auto n = rd_kafka_consume_batch_queue(impl_->queue, timeout_ms(wait), msgs.data(), max);
  if (n < 0)
    return make_error(errc::unavailable, std::string{"kafka: polling failed: "} +
                                             rd_kafka_err2str(rd_kafka_last_error()));
  caf::error fatal;
  for (ssize_t i = 0; i < n; ++i) {
    auto* m = msgs[static_cast<size_t>(i)];
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      message x;
      x.topic = rd_kafka_topic_name(m->rkt);
      x.partition = m->partition;
      x.offset = m->offset;
      rd_kafka_timestamp_type_t type;
      x.timestamp = rd_kafka_message_timestamp(m, &type);
      if (m->key != nullptr)
        x.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr)
        x.value.assign(static_cast<const char*>(m->payload), m->len);
      out.push_back(std::move(x));
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ends.emplace_back(m->partition, m->offset);
    } else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && !fatal) {
      fatal = make_error(errc::refused,
                         std::string{"kafka: the offset to read from is gone ("} +
                             rd_kafka_message_errstr(m) +
                             "): retention deleted records the checkpoint had not read yet; "
                             "restore from a newer checkpoint, or keep records longer "
                             "(retention.ms) than checkpoints may be apart");
    } else if (!fatal) {
      // Errors on the queue that librdkafka does not retry by itself: the consumer cannot go on
      // (a topic deleted, an offset out of range with no reset policy, authorization).
      char err[512] = {};
      if (rd_kafka_fatal_error(impl_->rk, err, sizeof(err)) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
          m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
          m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        fatal = make_error(errc::refused,
                           std::string{"kafka: reading failed: "} + rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  return fatal;
}

caf::error consumer::commit(const std::string& topic,
                            const std::vector<std::pair<int32_t, int64_t>>& next) {
  if (next.empty())
    return {};
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
  for (const auto& [p, offset] : next)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = offset;
  auto e = rd_kafka_commit(impl_->rk, list, 1);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(errc::refused,
                      "kafka: cannot commit offsets of '" + topic + "': " + rd_kafka_err2str(e));
  return {};
}

caf::expected<std::vector<int64_t>> consumer::committed(const std::string& topic,
                                                        const std::vector<int32_t>& partitions,
                                                        std::chrono::milliseconds timeout) {
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (auto p : partitions)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  auto e = rd_kafka_committed(impl_->rk, list, timeout_ms(timeout));
  std::vector<int64_t> out;
  for (int i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; ++i)
    out.push_back(list->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR ? list->elems[i].offset : -1);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(errc::unavailable, "kafka: cannot read the committed offsets of '" + topic +
                                             "': " + rd_kafka_err2str(e));
  for (auto& x : out)
    if (x < 0)
      x = -1; // RD_KAFKA_OFFSET_INVALID: nothing committed
  return out;
}

// -- producer -------------------------------------------------------------------------------------

struct producer::impl {
  rd_kafka_t* rk = nullptr;
  /// The first delivery error since the last flush.
  std::mutex mtx;
  std::string failure;

  ~impl() {
    if (rk != nullptr)
      rd_kafka_destroy(rk);
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
      return;
    auto* self = static_cast<impl*>(opaque);
    std::lock_guard<std::mutex> guard{self->mtx};
    if (self->failure.empty())
      self->failure = rd_kafka_err2str(m->err);
  }
};

caf::expected<producer> producer::open(const properties& props) {
  auto all = props;
  all.emplace("enable.idempotence", "true");
  all.emplace("partitioner", "murmur2_random"); // keys land where Java clients put them
  all.emplace("log_level", "3");
  auto conf = make_conf(all, "kafka producer");
  if (!conf)
    return conf.error();
  auto x = std::make_unique<impl>();
  rd_kafka_conf_set_dr_msg_cb(*conf, &impl::on_delivery);
  rd_kafka_conf_set_opaque(*conf, x.get());
  char err[512] = {};
  x->rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof(err));
  if (x->rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return make_error(errc::invalid_config, std::string{"kafka producer: "} + err);
  }
  return producer{std::move(x)};
}

producer::producer(std::unique_ptr<impl> x) noexcept
    : impl_(std::move(x)) {}
producer::producer(producer&&) noexcept = default;
producer& producer::operator=(producer&&) noexcept = default;
producer::~producer() = default;

caf::error producer::send(const std::string& topic, int32_t partition, const std::string& key,
                          const std::string& value, int64_t timestamp) {
  for (;;) {
    auto e = rd_kafka_producev(
        impl_->rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_TIMESTAMP(timestamp < 0 ? 0 : timestamp), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
      return {};
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return make_error(errc::refused,
                        "kafka: cannot send to '" + topic + "': " + rd_kafka_err2str(e));
    rd_kafka_poll(impl_->rk, 10); // a full queue: serve deliveries, then try again
  }
}

caf::error producer::flush(std::chrono::milliseconds timeout) {
  auto e = rd_kafka_flush(impl_->rk, timeout_ms(timeout));
  std::lock_guard<std::mutex> guard{impl_->mtx};
  if (!impl_->failure.empty()) {
    auto what = std::move(impl_->failure);
    impl_->failure.clear();
    return make_error(errc::refused, "kafka: a record was not delivered: " + what);
  }
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(errc::unavailable, "kafka: " + std::to_string(rd_kafka_outq_len(impl_->rk)) +
                                             " records still unacknowledged after " +
                                             std::to_string(timeout.count()) +
                                             " ms: " + rd_kafka_err2str(e));
  return {};
}

caf::expected<int32_t> producer::partitions(const std::string& topic,
                                            std::chrono::milliseconds timeout) {
  auto* rkt = rd_kafka_topic_new(impl_->rk, topic.c_str(), nullptr);
  if (rkt == nullptr)
    return make_error(errc::invalid_config, "kafka: '" + topic + "' is not a valid topic name: " +
                                                rd_kafka_err2str(rd_kafka_last_error()));
  const rd_kafka_metadata_t* md = nullptr;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  caf::expected<int32_t> result = int32_t{0};
  // A topic just created reports no partitions (or LEADER_NOT_AVAILABLE) for a moment.
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto e = rd_kafka_metadata(impl_->rk, 0, rkt, &md,
                               timeout_ms(std::max(left, std::chrono::milliseconds{1})));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = make_error(errc::unavailable,
                          "kafka: no metadata for topic '" + topic + "' within " +
                              std::to_string(timeout.count()) + " ms: " + rd_kafka_err2str(e) +
                              "; is bootstrap.servers right and the cluster up?");
      break;
    }
    auto err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    auto count = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && count > 0) {
      result = count;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      result = make_error(errc::invalid_config,
                          "kafka: topic '" + topic + "' does not exist (" + rd_kafka_err2str(err) +
                              ") and the cluster did not create it; create it first "
                              "(kafka-topics.sh --create --partitions 1)");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  rd_kafka_topic_destroy(rkt);
  return result;
}

namespace {

/// A transactional call's error as an eddy/kafka error (and frees it).
caf::error txn_error(rd_kafka_error_t* e, const char* what) {
  if (e == nullptr)
    return {};
  auto text = std::string{"kafka: "} + what + " failed: " + rd_kafka_error_string(e);
  auto code = rd_kafka_error_is_fatal(e)             ? errc::fatal
              : rd_kafka_error_txn_requires_abort(e) ? errc::transaction_aborted
              : rd_kafka_error_is_retriable(e)       ? errc::unavailable
                                                     : errc::refused;
  if (code == errc::fatal)
    text += " (this producer is fenced or broken: a new one takes over)";
  rd_kafka_error_destroy(e);
  return make_error(code, std::move(text));
}

} // namespace

caf::error producer::init_transactions(std::chrono::milliseconds timeout) {
  return txn_error(rd_kafka_init_transactions(impl_->rk, timeout_ms(timeout)),
                   "initializing transactions");
}

caf::error producer::begin_transaction() {
  return txn_error(rd_kafka_begin_transaction(impl_->rk), "beginning a transaction");
}

caf::error producer::commit_transaction(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto err = txn_error(rd_kafka_commit_transaction(
                             impl_->rk, timeout_ms(std::max(left, std::chrono::milliseconds{1}))),
                         "committing a transaction");
    // A retriable error (a coordinator moving, a timeout) leaves the commit to be called again.
    if (!is(err, errc::unavailable) || std::chrono::steady_clock::now() >= deadline)
      return err;
  }
}

caf::error producer::abort_transaction(std::chrono::milliseconds timeout) {
  auto err = txn_error(rd_kafka_abort_transaction(impl_->rk, timeout_ms(timeout)),
                       "aborting a transaction");
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->failure.clear(); // deliveries that failed in the aborted transaction are moot
  return err;
}

} // namespace eddy::kafka::internal
