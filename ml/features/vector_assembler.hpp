// Turns a record into a feature vector, dense or sparse: a list of named numeric fields, each
// read from the record by a function (or, for records that are maps, by its name).
//
//   struct reading { double temperature, humidity; };
//   eddy::ml::vector_assembler<reading> assemble;
//   assemble.add("temperature", [](const reading& r) { return r.temperature; })
//           .add("humidity", [](const reading& r) { return r.humidity; });
//   eddy::ml::vector x;
//   if (auto err = assemble(r, x)) ...   // errc::bad_input: a field is missing or not finite
//
//   auto by_name = eddy::ml::assemble_fields({"temperature", "humidity"});  // from a field_map
//
// A missing value is a NaN (or infinity) returned by the field's function; the assembler
// refuses it, or writes it through for an imputer when `allow_missing` is set. A field function
// that throws does not unwind through the caller (which may be a stream operator inside the
// scheduler): the assembler catches it and returns errc::bad_input naming the field.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <Eigen/SparseCore>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace eddy::ml {

/// Assembles records of type `Record` into feature vectors, one named field per feature.
template <class Record>
class vector_assembler {
public:
  /// Names this transformer in model files.
  static constexpr const char* model_kind = "eddy.ml.vector_assembler";

  /// An assembler without fields; `allow_missing` (default false) lets NaN values through.
  explicit vector_assembler(bool allow_missing = false)
      : allow_missing_(allow_missing) {
    // nop
  }

  /// Appends the feature `name`, read from a record by `field`.
  template <class Field>
  vector_assembler& add(std::string name, Field field) {
    static_assert(std::is_invocable_r_v<double, Field, const Record&>,
                  "vector_assembler::add: the field function must take const Record& and "
                  "return a number");
    names_.push_back(std::move(name));
    fields_.emplace_back(std::move(field));
    return *this;
  }

  /// Writes the dense feature vector of `record` into `out` (size size()); errc::bad_input
  /// when a field is missing or its function throws (then `out` holds no meaningful values).
  caf::error operator()(const Record& record, vector& out) const {
    out.resize(size());
    for (Eigen::Index j = 0; j < size(); ++j)
      if (auto err = read(j, record, out[j]))
        return err;
    return caf::error{};
  }

  /// Writes the sparse feature vector of `record` (zeros left out) into `out`; errors as
  /// operator().
  caf::error sparse(const Record& record, Eigen::SparseVector<double>& out) const {
    out.resize(size());
    out.setZero();
    for (Eigen::Index j = 0; j < size(); ++j) {
      double v = 0.0;
      if (auto err = read(j, record, v))
        return err;
      if (v != 0.0)
        out.insertBack(j) = v;
    }
    return caf::error{};
  }

  /// The number of features.
  [[nodiscard]] Eigen::Index size() const noexcept {
    return static_cast<Eigen::Index>(fields_.size());
  }

  /// The feature names, in order.
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }

  /// Saves the field names, or checks on loading that they are this assembler's (the field
  /// functions are code, not state): a snapshot of other fields fails to load.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    std::vector<std::string> names = names_;
    ar& names;
    serialize_flag(ar, allow_missing_, "vector_assembler: allow_missing");
    if (names != names_)
      throw_corrupt_archive("vector_assembler: the snapshot has other fields than this assembler");
  }

private:
  /// Reads feature `j` of `record` into `value`, turning a throwing field function or a
  /// refused missing value into an error.
  caf::error read(Eigen::Index j, const Record& record, double& value) const {
    try {
      value = fields_[static_cast<std::size_t>(j)](record);
    } catch (const std::exception& ex) {
      return threw(j, ex.what());
    } catch (...) {
      return threw(j, "an exception that is not a std::exception");
    }
    if (!allow_missing_ && !std::isfinite(value))
      return missing(j);
    return caf::error{};
  }

  [[gnu::cold]] caf::error threw(Eigen::Index j, const char* what) const {
    return make_error(errc::bad_input, "vector_assembler: the function of field '" +
                                           names_[static_cast<std::size_t>(j)] +
                                           "' threw: " + what);
  }

  caf::error missing(Eigen::Index j) const {
    return make_error(errc::bad_input, "vector_assembler: field '" +
                                           names_[static_cast<std::size_t>(j)] +
                                           "' is missing or not finite");
  }

  /// The feature names.
  std::vector<std::string> names_;
  /// The function reading each feature from a record.
  std::vector<std::function<double(const Record&)>> fields_;
  /// Whether missing values are written through as they are.
  bool allow_missing_;
};

/// A record as a map from field name to value.
using field_map = std::unordered_map<std::string, double>;

/// An assembler of field maps that reads `names` in order; an absent field counts as missing.
[[nodiscard]] inline vector_assembler<field_map> assemble_fields(std::vector<std::string> names,
                                                                 bool allow_missing = false) {
  vector_assembler<field_map> result(allow_missing);
  for (auto& name : names)
    result.add(name, [name](const field_map& record) {
      auto i = record.find(name);
      return i == record.end() ? std::numeric_limits<double>::quiet_NaN() : i->second;
    });
  return result;
}

} // namespace eddy::ml
