// Boost.Serialization support for the types eddy/ml learners keep as state: Eigen dense
// matrices and vectors of any shape, and the random engine std::mt19937_64.
//
//   #include <eddy/ml/io/serialization.hpp>
//
//   std::string bytes = eddy::ml::to_binary(model);           // a snapshot
//   if (auto err = eddy::ml::from_binary(bytes, restored)) ...  // errc::corrupt_file on damage
//
//   class my_learner {
//   public:
//     template <class Archive>
//     void serialize(Archive& ar, unsigned) { ar & weights_ & rng_; }   // all state
//   private:
//     eddy::ml::vector weights_;
//     std::mt19937_64 rng_;
//   };
//
// A restored object continues exactly like the original: doubles are stored bit for bit in
// binary archives, and the engine keeps its full state (written as its text representation).
#pragma once

#include <eddy/ml/errc.hpp>

#include <Eigen/Core>
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/array_wrapper.hpp>
#include <boost/serialization/string.hpp>

#include <cmath>
#include <cstddef>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace eddy::ml {

/// The largest number of coefficients a deserialized matrix may hold; a larger size in an
/// archive means the archive is damaged, and loading it must not try to allocate that much.
inline constexpr Eigen::Index max_serialized_coefficients = Eigen::Index{1} << 32;

/// The exception a learner's `serialize` throws when a loaded state breaks an invariant (an
/// index out of range, sizes that disagree); `from_binary` and `load_model` turn it into
/// errc::corrupt_file with `why` in the sentence.
[[noreturn]] inline void throw_corrupt_archive(const std::string& why) {
  throw std::runtime_error("corrupt archive: " + why);
}

/// Saves or loads a bool as the one byte a binary archive writes for a bool, refusing on load a
/// byte other than 0 or 1 (a bool loaded from such a byte would hold an invalid value); `what`
/// names the flag in the sentence.
template <class Archive>
void serialize_flag(Archive& ar, bool& flag, const char* what) {
  unsigned char byte = flag ? 1 : 0;
  ar& byte;
  if constexpr (Archive::is_loading::value) {
    if (byte > 1)
      throw_corrupt_archive(std::string{what} + " holds the byte " + std::to_string(byte) +
                            ", not 0 or 1");
    flag = byte == 1;
  }
}

/// Whether every value of `values` is finite (for checking loaded states).
[[nodiscard]] inline bool all_finite(const std::vector<double>& values) noexcept {
  for (double v : values)
    if (!std::isfinite(v))
      return false;
  return true;
}

} // namespace eddy::ml

namespace boost::serialization {

/// Saves or loads an Eigen dense matrix: its shape, then its coefficients in storage order.
template <class Archive, class Scalar, int Rows, int Cols, int Options, int MaxRows, int MaxCols>
void serialize(Archive& ar, Eigen::Matrix<Scalar, Rows, Cols, Options, MaxRows, MaxCols>& m,
               const unsigned int) {
  Eigen::Index rows = m.rows();
  Eigen::Index cols = m.cols();
  ar& rows;
  ar& cols;
  if constexpr (Archive::is_loading::value) {
    bool bad = rows < 0 || cols < 0 || (Rows != Eigen::Dynamic && rows != Rows) ||
               (Cols != Eigen::Dynamic && cols != Cols) ||
               (cols > 0 && rows > eddy::ml::max_serialized_coefficients / cols);
    if (bad)
      eddy::ml::throw_corrupt_archive("an Eigen matrix of " + std::to_string(rows) + " x " +
                                      std::to_string(cols) + " coefficients (impossible shape)");
    m.resize(rows, cols);
  }
  if (m.size() > 0)
    ar& boost::serialization::make_array(m.data(), static_cast<std::size_t>(m.size()));
}

/// Saves or loads the full state of a 64-bit Mersenne Twister.
template <class Archive>
void serialize(Archive& ar, std::mt19937_64& rng, const unsigned int) {
  std::string state;
  if constexpr (Archive::is_saving::value) {
    std::ostringstream out;
    out << rng;
    state = out.str();
    ar& state;
  } else {
    ar& state;
    std::istringstream in(state);
    in >> rng;
    if (!in)
      eddy::ml::throw_corrupt_archive("a damaged std::mt19937_64 state");
  }
}

} // namespace boost::serialization

namespace eddy::ml {

/// Returns the state of `object` as a Boost binary archive (same machine architecture only).
template <class T>
[[nodiscard]] std::string to_binary(const T& object) {
  std::ostringstream out(std::ios::binary);
  {
    boost::archive::binary_oarchive archive(out);
    archive << object;
  }
  return std::move(out).str();
}

/// Restores `object` from bytes made by to_binary; on damaged bytes returns errc::corrupt_file
/// and leaves `object` unchanged.
template <class T>
[[nodiscard]] caf::error from_binary(const std::string& bytes, T& object) {
  try {
    std::istringstream in(bytes, std::ios::binary);
    boost::archive::binary_iarchive archive(in);
    T restored = object; // a copy, so that a failure leaves `object` as it was
    archive >> restored;
    object = std::move(restored);
    return caf::error{};
  } catch (const std::exception& ex) {
    return make_error(errc::corrupt_file,
                      std::string{"cannot restore the model from its archive: "} + ex.what());
  }
}

} // namespace eddy::ml
