// Error codes of eddy/ml, reported as caf::error values with a sentence saying what was wrong.
//
//   if (auto err = model.learn(x, 1); err)
//     std::cerr << eddy::describe(err) << '\n';   // e.g. "learn: x has 15 features, expected 16"
//   if (eddy::ml::is(err, eddy::ml::errc::bad_input)) ...
#pragma once

#include <eddy/actors/error.hpp>

#include <cstdint>
#include <string>

namespace eddy::ml {

/// What went wrong in eddy/ml.
enum class errc : uint8_t {
  /// A value is NaN or infinite, or a field is missing.
  bad_input = 1,
  /// A vector or matrix has the wrong number of features or rows.
  shape_mismatch,
  /// A method needs a fitted model (or a known class) and there is none yet.
  not_fitted,
  /// A model file or snapshot does not verify (magic, length or CRC-32C).
  corrupt_file,
  /// A model file was written by a newer format version than this build reads.
  unsupported_version,
  /// A file cannot be opened, read or written.
  io_error,
  /// A parameter is out of its range (the message says which and what is allowed).
  invalid_argument,
};

/// The category atom of eddy/ml errors.
inline constexpr caf::atom_value error_category = caf::atom("eddy_ml");

/// Makes an eddy/ml error carrying the sentence `what`.
[[nodiscard]] inline caf::error make_error(errc code, std::string what) {
  return eddy::make_error(code, error_category, std::move(what));
}

/// True when `err` is the eddy/ml error `code`.
[[nodiscard]] inline bool is(const caf::error& err, errc code) {
  return eddy::is(err, code, error_category);
}

} // namespace eddy::ml
