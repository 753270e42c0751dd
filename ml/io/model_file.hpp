// Model files: a learner or transformer saved to disk in a verified frame, so that a damaged,
// truncated or foreign file is refused instead of loaded.
//
//   if (auto err = eddy::ml::save_model("model.eddy", model)) ...       // errc::io_error
//   eddy::ml::logistic_regression restored;
//   if (auto err = eddy::ml::load_model("model.eddy", restored)) ...
//     // errc::corrupt_file, errc::unsupported_version, errc::invalid_argument (other kind)
//
// Layout of format version 2, the one this build writes (integers little-endian):
//   header:  "EDDYMODL" | format version u32 | header length u32 | flags u32 | kind length u32
//            | kind bytes | payload length u64 | payload CRC-32C u32 | header CRC-32C u32 (over
//            the bytes before it)
//   payload: a Boost binary archive of the model (Model::serialize; same architecture only)
// Version 1 is the same without the flags field. Flags are reserved for payload options
// (compression, another encoding) and written as 0; a reader refuses a flag it does not know
// as errc::unsupported_version, never guesses.
//
// Versioning rule. Every version keeps the magic (offset 0), the version (offset 8), the header
// length (offset 12) and the header CRC (the last 4 bytes of the header) where they are, so any
// reader verifies any header and tells a newer file (errc::unsupported_version) from a damaged
// one (errc::corrupt_file). Any other change to the layout, or to what the payload means, bumps
// model_file_version. The writer writes only the current version; the reader keeps a decoder
// for every older version (decode_v1 below), each with a test that builds such a frame byte by
// byte (tests/ml/io/model_file_test.cpp), so files of the current and older versions load.
//
// Saving writes a temporary file next to the target (a fresh name, created with O_EXCL), fsyncs
// it, renames it over the target and fsyncs the directory: a crash leaves the old file or the
// new one, never a mix, and concurrent saves never write into each other's temporary file.
// Nothing throws: Boost archive exceptions become error values.
//
// The frame proves that the bytes are the ones written, not that they make a model: a payload
// whose contents disagree with each other (sizes, class counts, slots, a flag that is not 0 or 1)
// is refused by the model's own `serialize`, which checks the loaded state against its shape, as
// errc::corrupt_file with a sentence saying what disagrees
// (tests/ml/io/model_file_contents_test.cpp crafts such files, with a valid frame and CRC, for
// every kind of model file).
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/io/crc32c.hpp>
#include <eddy/ml/io/serialization.hpp>

#include <caf/expected.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
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
inline constexpr uint32_t model_file_version = 2;

/// The eight bytes every model file starts with.
inline constexpr char model_file_magic[8] = {'E', 'D', 'D', 'Y', 'M', 'O', 'D', 'L'};

/// What a frame says about its payload.
struct model_frame {
  /// The format version the frame was written with.
  uint32_t version = 0;
  /// The frame's flags (0 for version 1 frames and for every frame this build writes).
  uint32_t flags = 0;
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

/// The bytes every version starts with: magic, version, header length.
inline constexpr std::size_t frame_prefix = 8 + 4 + 4;

/// Reads what follows the version-specific fields of a verified header: kind length at
/// `kind_at`, kind, payload length, payload CRC; then checks the payload.
inline caf::error decode_tail(const std::string& bytes, std::size_t header_size,
                              std::size_t kind_at, model_frame& frame) {
  if (header_size < kind_at + 4 + 8 + 4 + 4)
    return corrupt("the header is malformed");
  auto kind_size = static_cast<std::size_t>(get_le(bytes, kind_at, 4));
  if (kind_at + 4 + kind_size + 8 + 4 + 4 != header_size)
    return corrupt("the kind length does not fit the header");
  frame.kind = bytes.substr(kind_at + 4, kind_size);
  auto payload_size = get_le(bytes, kind_at + 4 + kind_size, 8);
  auto payload_crc = static_cast<uint32_t>(get_le(bytes, kind_at + 4 + kind_size + 8, 4));
  if (payload_size != bytes.size() - header_size)
    return corrupt("the payload has " + std::to_string(bytes.size() - header_size) +
                   " bytes, the header says " + std::to_string(payload_size) +
                   " (truncated file?)");
  frame.payload = bytes.substr(header_size);
  if (crc32c(frame.payload.data(), frame.payload.size()) != payload_crc)
    return corrupt("the payload CRC-32C does not match (damaged file)");
  return caf::error{};
}

/// Version 1: prefix | kind length u32 | kind | payload length u64 | payload CRC | header CRC.
inline caf::error decode_v1(const std::string& bytes, std::size_t header_size, model_frame& frame) {
  frame.flags = 0;
  return decode_tail(bytes, header_size, frame_prefix, frame);
}

/// Version 2: prefix | flags u32 | then as version 1.
inline caf::error decode_v2(const std::string& bytes, std::size_t header_size, model_frame& frame) {
  if (header_size < frame_prefix + 4 + 4)
    return corrupt("the header is malformed");
  frame.flags = static_cast<uint32_t>(get_le(bytes, frame_prefix, 4));
  if (frame.flags != 0)
    return make_error(errc::unsupported_version,
                      "model file: the frame uses flags " + std::to_string(frame.flags) +
                          " that this build does not know; upgrade eddy");
  return decode_tail(bytes, header_size, frame_prefix + 4, frame);
}

} // namespace detail

/// Frames `payload` as a model file of kind `kind` in the current format version.
[[nodiscard]] inline std::string encode_model_frame(const std::string& kind,
                                                    const std::string& payload) {
  std::string out(model_file_magic, sizeof(model_file_magic));
  detail::put_le(out, model_file_version, 4);
  detail::put_le(out, detail::frame_prefix + 4 + 4 + kind.size() + 8 + 4 + 4, 4);
  detail::put_le(out, 0, 4); // flags
  detail::put_le(out, kind.size(), 4);
  out += kind;
  detail::put_le(out, payload.size(), 8);
  detail::put_le(out, crc32c(payload.data(), payload.size()), 4);
  detail::put_le(out, crc32c(out.data(), out.size()), 4);
  out += payload;
  return out;
}

/// Checks and unpacks a model file's bytes of any version up to the current one:
/// errc::corrupt_file when magic, lengths or either CRC do not verify, errc::unsupported_version
/// for a frame newer than this build (or with flags it does not know).
[[nodiscard]] inline caf::expected<model_frame> decode_model_frame(const std::string& bytes) {
  constexpr std::size_t fixed = detail::frame_prefix;
  if (bytes.size() < fixed + 4 || std::memcmp(bytes.data(), model_file_magic, 8) != 0)
    return detail::corrupt("not an eddy model file (bad magic or shorter than a header)");
  auto version = static_cast<uint32_t>(detail::get_le(bytes, 8, 4));
  auto header_size = static_cast<std::size_t>(detail::get_le(bytes, 12, 4));
  if (header_size < fixed + 4 || header_size > bytes.size())
    return detail::corrupt("the header length is impossible (damaged or truncated file)");
  auto header_crc = static_cast<uint32_t>(detail::get_le(bytes, header_size - 4, 4));
  if (crc32c(bytes.data(), header_size - 4) != header_crc)
    return detail::corrupt("the header CRC-32C does not match (damaged file)");
  if (version > model_file_version)
    return make_error(errc::unsupported_version,
                      "model file: format version " + std::to_string(version) +
                          " is newer than this build reads (" + std::to_string(model_file_version) +
                          "); upgrade eddy");
  model_frame frame;
  frame.version = version;
  caf::error err;
  switch (version) {
  case 1:
    err = detail::decode_v1(bytes, header_size, frame);
    break;
  case 2:
    err = detail::decode_v2(bytes, header_size, frame);
    break;
  default:
    err = detail::corrupt("format version 0 does not exist");
  }
  if (err)
    return err;
  return frame;
}

namespace detail {

/// Creates a new file next to `path` under a name no other file has (O_EXCL, retried on a
/// clash) and returns its descriptor, or -1 with errno set; `tmp` receives the name.
inline int create_temporary(const std::string& path, std::string& tmp) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 64; ++attempt) {
    // pid, a per-process counter and the clock: unique across threads and processes, and
    // O_EXCL makes a clash with a leftover file a retry instead of a shared file
    auto now = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    uint64_t salt = (now * 0x9E3779B97F4A7C15u) ^ counter.fetch_add(1, std::memory_order_relaxed);
    char suffix[64];
    std::snprintf(suffix, sizeof(suffix), ".tmp.%ld.%016llx", static_cast<long>(::getpid()),
                  static_cast<unsigned long long>(salt));
    tmp = path + suffix;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  errno = EEXIST;
  return -1;
}

} // namespace detail

/// Writes `bytes` to `path` atomically: a fresh temporary file (O_EXCL), fsync, rename, fsync
/// of the directory. On failure the temporary file is closed and removed and `path` is
/// untouched.
[[nodiscard]] inline caf::error write_file_atomically(const std::string& path,
                                                      const std::string& bytes) {
  auto fail = [&](const std::string& what, int code) {
    return make_error(errc::io_error,
                      "model file: cannot " + what + " " + path + ": " + std::strerror(code));
  };
  std::string tmp;
  int fd = detail::create_temporary(path, tmp);
  if (fd < 0)
    return fail("create a temporary file for", errno);
  for (std::size_t done = 0; done < bytes.size();) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      auto err = fail("write", n < 0 ? errno : EIO);
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    done += static_cast<std::size_t>(n);
  }
  // fsync and close both run, whatever the first one returns: the descriptor never leaks
  int sync_errno = ::fsync(fd) == 0 ? 0 : errno;
  int close_errno = ::close(fd) == 0 ? 0 : errno;
  if (sync_errno != 0 || close_errno != 0) {
    auto err = sync_errno != 0 ? fail("fsync", sync_errno) : fail("close", close_errno);
    ::unlink(tmp.c_str());
    return err;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = fail("rename the temporary file to", errno);
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

/// Loads `model` from `path` (any format version up to model_file_version), leaving it
/// unchanged on any error: errc::io_error, corrupt_file, unsupported_version, or
/// invalid_argument when the file holds another kind of model.
template <class Model>
[[nodiscard]] caf::error load_model(const std::string& path, Model& model) {
  auto frame = read_model_frame(path);
  if (!frame)
    return std::move(frame.error());
  if (frame->kind != Model::model_kind)
    return make_error(errc::invalid_argument, "model file: " + path + " holds a " + frame->kind +
                                                  ", not a " + Model::model_kind);
  // Versions 1 and 2 carry the same payload (a Boost binary archive, no flags set); a version
  // whose payload differs decodes it here, by frame->version.
  return from_binary(frame->payload, model);
}

} // namespace eddy::ml
