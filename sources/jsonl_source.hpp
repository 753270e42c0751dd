// A source reading a JSON-lines file (one JSON object per line) into a user record, through
// nlohmann::json and the record's `from_json`.
//
//   struct trade { std::string symbol; double price; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(trade, symbol, price)   // defines from_json / to_json
//   auto trades = job.source(eddy::jsonl_source<trade>("trades.jsonl"));
//
// Broken JSON, or an object that does not fit the record (a missing field, a string where a
// number belongs), goes to the dead-letter output with file, line number and reason; reading
// goes on. A missing or unreadable file is an error before the job starts.
#pragma once

#include <eddy/operators/source.hpp>
#include <eddy/sources/internal/line_source.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace eddy {

/// Reads records of type `T` from a JSON-lines file.
template <class T>
class jsonl_source : public internal::line_source<jsonl_source<T>, T> {
public:
  explicit jsonl_source(std::string path)
      : internal::line_source<jsonl_source<T>, T>(std::move(path)) {}

  /// Parses one line into `x`; returns why it failed, or an empty string.
  std::string parse(const std::string& line, T& x) const {
    auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded())
      return "broken JSON";
    try {
      json.get_to(x);
    } catch (const nlohmann::json::exception& e) {
      return std::string{"JSON does not fit the record: "} + e.what();
    }
    return {};
  }
};

} // namespace eddy
