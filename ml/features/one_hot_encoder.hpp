// Online one-hot encoding of categorical columns into a vector of fixed width: categories get
// a slot in the order they first appear, up to a capacity per column; categories seen later
// than that, or never learned, go to an "other" slot, are ignored, or are refused.
//
//   eddy::ml::one_hot_encoder_config cfg;
//   cfg.max_categories = 8;                                   // per column
//   auto enc = eddy::ml::one_hot_encoder::make(2, cfg);       // two columns
//   eddy::ml::vector x;
//   enc->learn_transform({"indoor", "mote-3"}, x);            // x.size() == enc->n_outputs()
//
// The width never changes, so a downstream model keeps its number of features.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <caf/expected.hpp>

#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace eddy::ml {

/// What an encoder does with a category that has no slot of its own.
enum class unknown_category : uint8_t {
  /// Set the column's extra "other" slot.
  other,
  /// Leave the column's slots all 0.
  ignore,
  /// Refuse the record with errc::bad_input.
  error,
};

/// The settings of a one_hot_encoder.
struct one_hot_encoder_config {
  /// Slots per column for categories learned online. Default: 32.
  std::size_t max_categories = 32;
  /// What to do with categories that have no slot. Default: unknown_category::other.
  unknown_category unknown = unknown_category::other;

  /// Saves or loads every setting.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& max_categories& unknown;
  }
};

/// Online one-hot encoder over a fixed number of categorical columns.
class one_hot_encoder {
public:
  /// Names this transformer in model files.
  static constexpr const char* model_kind = "eddy.ml.one_hot_encoder";

  /// An encoder with no columns, to be filled by deserialization.
  one_hot_encoder() = default;

  /// The largest width of an encoding, n_columns * (max_categories + 1 for the "other" slot).
  static constexpr std::size_t max_outputs = std::size_t{1} << 32;

  /// Makes an encoder for `n_columns` categorical columns.
  [[nodiscard]] static caf::expected<one_hot_encoder> make(std::size_t n_columns,
                                                           one_hot_encoder_config cfg = {}) {
    if (n_columns == 0)
      return make_error(errc::invalid_argument, "one_hot_encoder: needs at least one column");
    if (auto err = validate(n_columns, cfg))
      return err;
    one_hot_encoder result;
    result.cfg_ = cfg;
    result.columns_.resize(n_columns);
    return result;
  }

  /// The error `make` returns for these settings, or none: at least one category per column, a
  /// known unknown_category, and encodings at most max_outputs wide.
  [[nodiscard]] static caf::error validate(std::size_t n_columns,
                                           const one_hot_encoder_config& cfg) {
    auto bad = [](const std::string& what) {
      return make_error(errc::invalid_argument, "one_hot_encoder: " + what);
    };
    if (cfg.max_categories == 0)
      return bad("needs at least one category per column");
    if (cfg.unknown != unknown_category::other && cfg.unknown != unknown_category::ignore &&
        cfg.unknown != unknown_category::error)
      return bad("unknown must be other, ignore or error");
    if (cfg.max_categories >= max_outputs ||
        (n_columns > 0 && slots_per_column(cfg) > max_outputs / n_columns))
      return bad(std::to_string(n_columns) + " columns of " + std::to_string(cfg.max_categories) +
                 " categories make encodings wider than 2^32");
    return caf::error{};
  }

  /// Gives slots to the categories of `record` that have none yet, while there is room; with
  /// unknown_category::error a category beyond the capacity is refused (nothing learned).
  caf::error learn(const std::vector<std::string>& record) {
    if (auto err = check_size(record, "learn"))
      return err;
    if (cfg_.unknown == unknown_category::error)
      for (std::size_t c = 0; c < record.size(); ++c)
        if (!columns_[c].count(record[c]) && columns_[c].size() >= cfg_.max_categories)
          return make_error(errc::bad_input, "one_hot_encoder::learn: column " + std::to_string(c) +
                                                 " already has " +
                                                 std::to_string(cfg_.max_categories) +
                                                 " categories, no slot for '" + record[c] + "'");
    for (std::size_t c = 0; c < record.size(); ++c)
      if (columns_[c].size() < cfg_.max_categories)
        columns_[c].try_emplace(record[c], columns_[c].size());
    return caf::error{};
  }

  /// Writes the encoding of `record` into `out` (size n_outputs()).
  caf::error transform(const std::vector<std::string>& record, vector& out) const {
    if (auto err = check_size(record, "transform"))
      return err;
    out.setZero(static_cast<Eigen::Index>(n_outputs()));
    for (std::size_t c = 0; c < record.size(); ++c) {
      auto base = c * slots_per_column();
      if (auto i = columns_[c].find(record[c]); i != columns_[c].end()) {
        out[static_cast<Eigen::Index>(base + i->second)] = 1.0;
      } else if (cfg_.unknown == unknown_category::other) {
        out[static_cast<Eigen::Index>(base + cfg_.max_categories)] = 1.0;
      } else if (cfg_.unknown == unknown_category::error) {
        return make_error(errc::bad_input, "one_hot_encoder::transform: column " +
                                               std::to_string(c) + " has the unseen category '" +
                                               record[c] + "'");
      }
    }
    return caf::error{};
  }

  /// Returns the encoding of `record`, or an empty vector when it cannot be encoded.
  [[nodiscard]] vector transform(const std::vector<std::string>& record) const {
    vector out;
    if (transform(record, out))
      return vector{};
    return out;
  }

  /// Learns `record`, then writes its encoding into `out`.
  caf::error learn_transform(const std::vector<std::string>& record, vector& out) {
    if (auto err = learn(record))
      return err;
    return transform(record, out);
  }

  /// The number of categorical columns.
  [[nodiscard]] std::size_t n_columns() const noexcept { return columns_.size(); }

  /// The width of every encoding.
  [[nodiscard]] std::size_t n_outputs() const noexcept {
    return columns_.size() * slots_per_column();
  }

  /// The slot of `category` in column `column` (0-based within the column), if it has one.
  [[nodiscard]] std::optional<std::size_t> slot(std::size_t column,
                                                const std::string& category) const {
    if (column >= columns_.size())
      return std::nullopt;
    auto i = columns_[column].find(category);
    if (i == columns_[column].end())
      return std::nullopt;
    return i->second;
  }

  /// Saves or loads all state. A loaded state with settings out of range, more categories in a
  /// column than its slots, or slots that are not 0, 1, ... in each column throws
  /// (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& columns_;
    if constexpr (Archive::is_loading::value)
      check_loaded();
  }

private:
  static std::size_t slots_per_column(const one_hot_encoder_config& cfg) noexcept {
    return cfg.max_categories + (cfg.unknown == unknown_category::other ? 1 : 0);
  }

  std::size_t slots_per_column() const noexcept { return slots_per_column(cfg_); }

  /// Refuses a loaded state whose slots would write out of bounds or share a position.
  void check_loaded() const {
    if (auto err = validate(columns_.size(), cfg_))
      throw_corrupt_archive(eddy::describe(err));
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const auto& column = columns_[c];
      if (column.size() > cfg_.max_categories)
        throw_corrupt_archive("one_hot_encoder: column " + std::to_string(c) + " has " +
                              std::to_string(column.size()) + " categories for " +
                              std::to_string(cfg_.max_categories) + " slots");
      std::vector<bool> taken(column.size(), false);
      for (const auto& [category, slot] : column) {
        if (slot >= column.size() || taken[slot])
          throw_corrupt_archive("one_hot_encoder: column " + std::to_string(c) +
                                " gives the category '" + category + "' the slot " +
                                std::to_string(slot) + ", out of range or taken");
        taken[slot] = true;
      }
    }
  }

  caf::error check_size(const std::vector<std::string>& record, const char* what) const {
    if (record.size() == columns_.size())
      return caf::error{};
    return make_error(errc::shape_mismatch,
                      std::string{"one_hot_encoder::"} + what + ": the record has " +
                          std::to_string(record.size()) + " columns, expected " +
                          std::to_string(columns_.size()));
  }

  /// The settings.
  one_hot_encoder_config cfg_;
  /// Per column: the slot of each learned category.
  std::vector<std::map<std::string, std::size_t>> columns_;
};

} // namespace eddy::ml
