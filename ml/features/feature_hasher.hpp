// The hashing trick: maps tokens or named features to a fixed number of columns by a stable
// hash, with a sign from the hash so that collisions cancel out on average; plus a simple
// tokenizer (lower-case runs of letters and digits).
//
//   auto hasher = eddy::ml::feature_hasher::make(1 << 18);
//   Eigen::SparseVector<double> x = hasher->transform("Temperature spike at mote 3");
//   // tokens: "temperature", "spike", "at", "mote", "3"; each adds +-1 to its column
//   auto y = hasher->transform_named({{"mote=3", 1.0}, {"temperature", 21.5}});  // expected<>
//
// The hash is 64-bit FNV-1a with a final mix (the same on every platform and run, unlike
// std::hash), so a model trained on hashed features keeps its meaning after a restart.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <caf/expected.hpp>

#include <Eigen/SparseCore>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eddy::ml {

/// Splits `text` into lower-case ASCII tokens of letters and digits at least `min_length` long;
/// every other character separates tokens.
[[nodiscard]] inline std::vector<std::string> tokenize(std::string_view text,
                                                       std::size_t min_length = 1) {
  std::vector<std::string> tokens;
  std::string token;
  auto flush = [&] {
    if (token.size() >= std::max<std::size_t>(min_length, 1))
      tokens.push_back(token);
    token.clear();
  };
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u))
      token.push_back(static_cast<char>(std::tolower(u)));
    else
      flush();
  }
  flush();
  return tokens;
}

/// Maps tokens or named values to `n_features` columns with a stable signed hash.
class feature_hasher {
public:
  /// Names this transformer in model files.
  static constexpr const char* model_kind = "eddy.ml.feature_hasher";

  /// A hasher with one column; replaced by make() or deserialization.
  feature_hasher() = default;

  /// Makes a hasher onto `n_features` columns; `alternate_sign` (default true) gives each
  /// token a sign from its hash.
  [[nodiscard]] static caf::expected<feature_hasher> make(Eigen::Index n_features,
                                                          bool alternate_sign = true) {
    if (n_features < 1)
      return make_error(errc::invalid_argument, "feature_hasher: n_features must be at least 1");
    feature_hasher result;
    result.n_features_ = n_features;
    result.alternate_sign_ = alternate_sign;
    return result;
  }

  /// The stable 64-bit hash of `key` (FNV-1a, then the murmur3 finalizer).
  [[nodiscard]] static uint64_t hash(std::string_view key) noexcept {
    uint64_t h = 14695981039346656037ull;
    for (char c : key) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  }

  /// The column and sign of `key`.
  [[nodiscard]] std::pair<Eigen::Index, double> locate(std::string_view key) const noexcept {
    uint64_t h = hash(key);
    auto column = static_cast<Eigen::Index>(h % static_cast<uint64_t>(n_features_));
    double sign = alternate_sign_ && (h >> 63) != 0 ? -1.0 : 1.0;
    return {column, sign};
  }

  /// Hashes named values: each adds sign * value to its name's column (0s are left out);
  /// errc::bad_input when a value is NaN or infinite.
  [[nodiscard]] caf::expected<Eigen::SparseVector<double>>
  transform_named(const std::vector<std::pair<std::string, double>>& named) const {
    std::vector<std::pair<Eigen::Index, double>> entries;
    entries.reserve(named.size());
    for (const auto& [name, value] : named) {
      if (!std::isfinite(value))
        return make_error(errc::bad_input,
                          "feature_hasher::transform: the value of '" + name + "' is not finite");
      auto [column, sign] = locate(name);
      entries.emplace_back(column, sign * value);
    }
    return to_sparse(entries);
  }

  /// Hashes tokens: each occurrence adds its sign to its column.
  [[nodiscard]] Eigen::SparseVector<double>
  transform_tokens(const std::vector<std::string>& tokens) const {
    std::vector<std::pair<Eigen::Index, double>> entries;
    entries.reserve(tokens.size());
    for (const auto& token : tokens) {
      auto [column, sign] = locate(token);
      entries.emplace_back(column, sign);
    }
    return to_sparse(entries);
  }

  /// Tokenizes `text` (see tokenize) and hashes the tokens.
  [[nodiscard]] Eigen::SparseVector<double> transform(std::string_view text) const {
    return transform_tokens(tokenize(text));
  }

  /// The number of columns.
  [[nodiscard]] Eigen::Index n_features() const noexcept { return n_features_; }

  /// Saves or loads the settings (a hasher has no other state). A loaded hasher of fewer than
  /// one column throws (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& n_features_;
    serialize_flag(ar, alternate_sign_, "feature_hasher: alternate_sign");
    if constexpr (Archive::is_loading::value)
      if (n_features_ < 1)
        throw_corrupt_archive("feature_hasher: " + std::to_string(n_features_) +
                              " columns; a hasher has at least 1");
  }

private:
  /// Sums entries per column into a sparse vector, dropping the columns that sum to 0.
  Eigen::SparseVector<double>
  to_sparse(std::vector<std::pair<Eigen::Index, double>>& entries) const {
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    Eigen::SparseVector<double> out(n_features_);
    out.reserve(static_cast<Eigen::Index>(entries.size()));
    for (std::size_t i = 0; i < entries.size();) {
      double sum = 0.0;
      std::size_t j = i;
      for (; j < entries.size() && entries[j].first == entries[i].first; ++j)
        sum += entries[j].second;
      if (sum != 0.0)
        out.insertBack(entries[i].first) = sum;
      i = j;
    }
    return out;
  }

  /// The number of columns.
  Eigen::Index n_features_ = 1;
  /// Whether each key gets a sign from its hash.
  bool alternate_sign_ = true;
};

} // namespace eddy::ml
