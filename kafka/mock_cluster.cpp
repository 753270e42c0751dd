#include <eddy/kafka/errc.hpp>
#include <eddy/kafka/mock_cluster.hpp>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>
#include <utility>

namespace eddy::kafka {

/// The producer handle librdkafka keeps the mock cluster's bookkeeping on, and the cluster.
struct mock_cluster::impl {
  rd_kafka_t* handle = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstrap;
  int brokers = 0;

  ~impl() {
    if (cluster != nullptr)
      rd_kafka_mock_cluster_destroy(cluster); // before the handle it keeps its books on
    if (handle != nullptr)
      rd_kafka_destroy(handle);
  }
};

caf::expected<mock_cluster> mock_cluster::start(int brokers) {
  if (brokers < 1 || brokers > 64)
    return make_error(errc::invalid_config,
                      "mock_cluster::start(" + std::to_string(brokers) + "): give 1 to 64 brokers");
  auto x = std::make_unique<impl>();
  char err[512] = {};
  auto* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster: keep it quiet and from connecting anywhere.
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
  x->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (x->handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return make_error(errc::unavailable,
                      std::string{"mock_cluster::start: librdkafka cannot make a client: "} + err);
  }
  x->cluster = rd_kafka_mock_cluster_new(x->handle, brokers);
  if (x->cluster == nullptr)
    return make_error(errc::unavailable,
                      "mock_cluster::start: librdkafka could not start " + std::to_string(brokers) +
                          " mock brokers (no free loopback port, or too many open files)");
  x->bootstrap = rd_kafka_mock_cluster_bootstraps(x->cluster);
  x->brokers = brokers;
  return mock_cluster{std::move(x)};
}

mock_cluster::mock_cluster(std::unique_ptr<impl> x) noexcept
    : impl_(std::move(x)) {}

mock_cluster::mock_cluster(mock_cluster&&) noexcept = default;
mock_cluster& mock_cluster::operator=(mock_cluster&&) noexcept = default;
mock_cluster::~mock_cluster() = default;

const std::string& mock_cluster::bootstrap() const noexcept {
  return impl_->bootstrap;
}

int mock_cluster::brokers() const noexcept {
  return impl_->brokers;
}

caf::error mock_cluster::create_topic(const std::string& name, int partitions, int replication) {
  if (name.empty() || partitions < 1 || replication < 1 || replication > impl_->brokers)
    return make_error(errc::invalid_config,
                      "create_topic(\"" + name + "\", " + std::to_string(partitions) + ", " +
                          std::to_string(replication) +
                          "): give a name, at least one partition and 1 to " +
                          std::to_string(impl_->brokers) + " replicas (the brokers)");
  auto e = rd_kafka_mock_topic_create(impl_->cluster, name.c_str(), partitions, replication);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(errc::refused, "create_topic(\"" + name + "\"): " + rd_kafka_err2str(e));
  return {};
}

namespace {

caf::error broker_result(rd_kafka_resp_err_t e, const char* what, int32_t id) {
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
    return {};
  return make_error(errc::invalid_config, std::string{what} + "(" + std::to_string(id) +
                                              "): " + rd_kafka_err2str(e) +
                                              " (brokers are numbered from 1)");
}

} // namespace

caf::error mock_cluster::set_broker_down(int32_t id) {
  return broker_result(rd_kafka_mock_broker_set_down(impl_->cluster, id), "set_broker_down", id);
}

caf::error mock_cluster::set_broker_up(int32_t id) {
  return broker_result(rd_kafka_mock_broker_set_up(impl_->cluster, id), "set_broker_up", id);
}

caf::error mock_cluster::set_round_trip_time(int32_t id, std::chrono::milliseconds rtt) {
  return broker_result(
      rd_kafka_mock_broker_set_rtt(impl_->cluster, id, static_cast<int>(rtt.count())),
      "set_round_trip_time", id);
}

void mock_cluster::push_request_errors(request type, const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  codes.reserve(errors.size());
  for (auto e : errors)
    codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, static_cast<int16_t>(type), codes.size(),
                                          codes.data());
}

} // namespace eddy::kafka
