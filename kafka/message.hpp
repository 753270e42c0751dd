// message: one Kafka record as eddy reads it (a record type like any other: it can be the
// stream's type for raw access, and it is what a source's decoder sees).
//
//   auto raw = job.source(eddy::kafka::from_topic<eddy::kafka::message>(bootstrap, "events"));
//   raw.map([](const eddy::kafka::message& m) { return m.value.size(); });
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace eddy::kafka {

/// A Kafka record: where it is (topic, partition, offset), its timestamp, key and value.
struct message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  /// Milliseconds since the epoch (the producer's create time or the broker's log append time);
  /// -1 when the record has none.
  int64_t timestamp = -1;
  std::string key;
  std::string value;

  /// "topic/partition@offset": where a dead letter came from.
  [[nodiscard]] std::string coordinates() const {
    return topic + "/" + std::to_string(partition) + "@" + std::to_string(offset);
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message& x) {
  return f(caf::meta::type_name("kafka_message"), x.topic, x.partition, x.offset, x.timestamp,
           x.key, x.value);
}

} // namespace eddy::kafka
