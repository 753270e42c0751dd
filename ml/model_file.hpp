// Model files: a learner or transformer saved to disk in a verified frame, so that a damaged,
// truncated or foreign file is refused instead of loaded.
//
//   if (auto err = eddy::ml::save_model("model.eddy", model)) ...       // errc::io_error
//   eddy::ml::logistic_regression restored;
//   if (auto err = eddy::ml::load_model("model.eddy", restored)) ...
//     // errc::corrupt_file, errc::unsupported_version, errc::invalid_argument (other kind)
//
// Layout (integers little-endian):
//   header:  "EDDYMODL" | format version u32 | header length u32 | kind length u32 | kind bytes
//            | payload length u64 | payload CRC-32C u32 | header CRC-32C u32 (over the bytes
//            before it)
//   payload: a Boost binary archive of the model (Model::serialize; same architecture only)
// Every version keeps magic, version, header length and the trailing header CRC where they are,
// so a reader can tell a newer file (errc::unsupported_version) from a damaged one. Files of
// the current and older versions load. Saving writes a temporary file next to the target,
// fsyncs it, renames it over the target and fsyncs the directory: a crash leaves the old file
// or the new one, never a mix. Nothing throws: Boost archive exceptions become error values.
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/internal/crc32c.hpp>
#include <eddy/ml/serialization.hpp>

#include <caf/expected.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <utility>

namespace eddy::ml {

/// The frame format version this build writes; it reads this one and older ones.
inline constexpr uint32_t model_file_version = 1;

/// The eight bytes every model file starts with.
inline constexpr char model_file_magic[8] = {'E', 'D', 'D', 'Y', 'M', 'O', 'D', 'L'};

/// What a frame says about its payload.
struct model_frame {
  /// The format version the frame was written with.
  uint32_t version = 0;
  /// The kind of model, e.g. "eddy.ml.logistic_regression".
  std::string kind;
  /// The serialized model.
  std::string payload;
};

namespace detail {

inline void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

inline uint64_t get_le(const std::string& in, std::size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return value;
}

inline caf::error corrupt(const std::string& what) {
  return make_error(errc::corrupt_file, "model file: " + what);
}

} // namespace detail

/// Frames `payload` as a model file of kind `kind` in the current format version.
[[nodiscard]] inline std::string encode_model_frame(const std::string& kind,
                                                    const std::string& payload) {
  std::string out(model_file_magic, sizeof(model_file_magic));
  detail::put_le(out, model_file_version, 4);
  detail::put_le(out, 8 + 4 + 4 + 4 + kind.size() + 8 + 4 + 4, 4);
  detail::put_le(out, kind.size(), 4);
  out += kind;
  detail::put_le(out, payload.size(), 8);
  detail::put_le(out, internal::crc32c(payload.data(), payload.size()), 4);
  detail::put_le(out, internal::crc32c(out.data(), out.size()), 4);
  out += payload;
  return out;
}

/// Checks and unpacks a model file's bytes: errc::corrupt_file when magic, lengths or either
/// CRC do not verify, errc::unsupported_version for a frame newer than this build.
[[nodiscard]] inline caf::expected<model_frame> decode_model_frame(const std::string& bytes) {
  constexpr std::size_t fixed = 8 + 4 + 4;
  if (bytes.size() < fixed + 4 || std::memcmp(bytes.data(), model_file_magic, 8) != 0)
    return detail::corrupt("not an eddy model file (bad magic or shorter than a header)");
  auto version = static_cast<uint32_t>(detail::get_le(bytes, 8, 4));
  auto header_size = static_cast<std::size_t>(detail::get_le(bytes, 12, 4));
  if (header_size < fixed + 4 || header_size > bytes.size())
    return detail::corrupt("the header length is impossible (damaged or truncated file)");
  auto header_crc = static_cast<uint32_t>(detail::get_le(bytes, header_size - 4, 4));
  if (internal::crc32c(bytes.data(), header_size - 4) != header_crc)
    return detail::corrupt("the header CRC-32C does not match (damaged file)");
  if (version > model_file_version)
    return make_error(errc::unsupported_version,
                      "model file: format version " + std::to_string(version) +
                          " is newer than this build reads (" + std::to_string(model_file_version) +
                          "); upgrade eddy");
  if (version == 0 || header_size < fixed + 4 + 8 + 4 + 4)
    return detail::corrupt("the header is malformed");
  auto kind_size = static_cast<std::size_t>(detail::get_le(bytes, fixed, 4));
  if (fixed + 4 + kind_size + 8 + 4 + 4 != header_size)
    return detail::corrupt("the kind length does not fit the header");
  model_frame frame;
  frame.version = version;
  frame.kind = bytes.substr(fixed + 4, kind_size);
  auto payload_size = detail::get_le(bytes, fixed + 4 + kind_size, 8);
  auto payload_crc = static_cast<uint32_t>(detail::get_le(bytes, fixed + 4 + kind_size + 8, 4));
  if (payload_size != bytes.size() - header_size)
    return detail::corrupt("the payload has " + std::to_string(bytes.size() - header_size) +
                           " bytes, the header says " + std::to_string(payload_size) +
                           " (truncated file?)");
  frame.payload = bytes.substr(header_size);
  if (internal::crc32c(frame.payload.data(), frame.payload.size()) != payload_crc)
    return detail::corrupt("the payload CRC-32C does not match (damaged file)");
  return frame;
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
[[nodiscard]] inline caf::error write_file_atomically(const std::string& path,
                                                      const std::string& bytes) {
  auto fail = [&](const std::string& what) {
    return make_error(errc::io_error,
                      "model file: cannot " + what + " " + path + ": " + std::strerror(errno));
  };
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail("create a temporary file for");
  for (std::size_t done = 0; done < bytes.size();) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      auto err = fail("write");
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    auto err = fail("fsync");
    ::unlink(tmp.c_str());
    return err;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = fail("rename the temporary file to");
    ::unlink(tmp.c_str());
    return err;
  }
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd); // best effort: the rename is durable once the directory is
    ::close(dfd);
  }
  return caf::error{};
}

/// Reads a whole model file and checks its frame.
[[nodiscard]] inline caf::expected<model_frame> read_model_frame(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(errc::io_error, "model file: cannot open " + path);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad())
    return make_error(errc::io_error, "model file: cannot read " + path);
  return decode_model_frame(bytes);
}

/// Saves `model` (kind Model::model_kind) to `path`; errc::io_error when writing fails.
template <class Model>
[[nodiscard]] caf::error save_model(const std::string& path, const Model& model) {
  std::string payload;
  try {
    payload = to_binary(model);
  } catch (const std::exception& ex) {
    return make_error(errc::io_error, std::string{"model file: cannot serialize: "} + ex.what());
  }
  return write_file_atomically(path, encode_model_frame(Model::model_kind, payload));
}

/// Loads `model` from `path`, leaving it unchanged on any error: errc::io_error, corrupt_file,
/// unsupported_version, or invalid_argument when the file holds another kind of model.
template <class Model>
[[nodiscard]] caf::error load_model(const std::string& path, Model& model) {
  auto frame = read_model_frame(path);
  if (!frame)
    return std::move(frame.error());
  if (frame->kind != Model::model_kind)
    return make_error(errc::invalid_argument, "model file: " + path + " holds a " + frame->kind +
                                                  ", not a " + Model::model_kind);
  return from_binary(frame->payload, model);
}

} // namespace eddy::ml
