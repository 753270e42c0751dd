#include <eddy/checkpoint/snapshot_file.hpp>

#include <eddy/checkpoint/internal/frame.hpp>
#include <eddy/state/crc32c.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/level.hpp>
#include <boost/serialization/split_free.hpp>
#include <boost/serialization/tracking.hpp>

#include <exception>
#include <ios>
#include <stdexcept>
#include <streambuf>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "eddy/checkpoint: Boost's binary archive writes host byte order; eddy's snapshot "
              "files are little-endian");

namespace eddy::checkpoint {

namespace {

// -- Boost streams over strings -----------------------------------------------------------------

/// A streambuf appending to a string (the archive is written straight behind the frame header).
class string_sink final : public std::streambuf {
public:
  explicit string_sink(std::string& out) noexcept
      : out_(out) {}

protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      out_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<size_t>(n));
    return n;
  }

private:
  /// The destination.
  std::string& out_;
};

/// A streambuf reading a byte range, which knows how many bytes remain: `load` checks every
/// length in the archive against it before allocating.
class bounded_source final : public std::streambuf {
public:
  bounded_source(const char* data, size_t n) noexcept {
    auto* p = const_cast<char*>(data);
    setg(p, p, p + n);
  }

  /// Bytes not read yet.
  [[nodiscard]] size_t remaining() const noexcept { return static_cast<size_t>(egptr() - gptr()); }
};

/// The source the archive on this thread reads from (set by decode_snapshot around `ar >> x`).
thread_local const bounded_source* current_source = nullptr;

/// Sets `current_source` for one scope.
class source_scope {
public:
  explicit source_scope(const bounded_source& src) noexcept
      : prev_(current_source) {
    current_source = &src;
  }
  ~source_scope() { current_source = prev_; }
  source_scope(const source_scope&) = delete;
  source_scope& operator=(const source_scope&) = delete;

private:
  /// The source before this scope (none outside decode_snapshot).
  const bounded_source* prev_;
};

/// Thrown by `load` for a length beyond the archive's bytes; becomes corrupt_snapshot.
struct bad_length : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Throws bad_length unless `n` bytes (`n` elements of at least `unit` bytes) remain.
void check_remaining(uint64_t n, uint64_t unit, const char* field) {
  auto left = current_source ? current_source->remaining() : 0;
  if (current_source == nullptr || n > left / unit)
    throw bad_length(std::string{field} + " of " + std::to_string(n) + " where the archive has " +
                     std::to_string(left) + " bytes left");
}

/// Boost archives without header, codecvt or object tracking: values only (the frame has the
/// version).
constexpr unsigned archive_flags =
    boost::archive::no_header | boost::archive::no_codecvt | boost::archive::no_tracking;

} // namespace

} // namespace eddy::checkpoint

// -- non-intrusive Boost serialization of eddy::instance_state (actors/ stays Boost-free) -------
//
// operator_state: length u64 | bytes;  key groups: count u64 | count x (kg u32 | length u64 |
// bytes);  runtime: length u64 | bytes. Lengths are checked against the archive's remaining
// bytes before any allocation.

namespace boost::serialization {

namespace detail {

/// Writes `bytes` as length u64 | bytes.
template <class Archive>
void save_bytes(Archive& ar, const std::string& bytes) {
  uint64_t n = bytes.size();
  ar << n;
  if (n > 0)
    ar.save_binary(bytes.data(), n);
}

/// Reads what `save_bytes` wrote into `bytes`; `what` names the length in the error a length
/// beyond the archive's remaining bytes gives.
template <class Archive>
void load_bytes(Archive& ar, std::string& bytes, const char* what) {
  uint64_t n = 0;
  ar >> n;
  eddy::checkpoint::check_remaining(n, 1, what);
  bytes.resize(static_cast<size_t>(n));
  if (n > 0)
    ar.load_binary(bytes.data(), n);
}

} // namespace detail

template <class Archive>
void save(Archive& ar, const eddy::instance_state& x, unsigned /*version*/) {
  detail::save_bytes(ar, x.operator_state);
  uint64_t count = x.key_groups.size();
  ar << count;
  for (const auto& [kg, bytes] : x.key_groups) {
    uint32_t k = kg;
    ar << k;
    detail::save_bytes(ar, bytes);
  }
  detail::save_bytes(ar, x.runtime);
}

template <class Archive>
void load(Archive& ar, eddy::instance_state& x, unsigned /*version*/) {
  detail::load_bytes(ar, x.operator_state, "operator state length");
  uint64_t count = 0;
  ar >> count;
  // Every entry takes 12 bytes at least (key group and length).
  eddy::checkpoint::check_remaining(count, 12, "key-group count");
  x.key_groups.clear();
  x.key_groups.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t kg = 0;
    ar >> kg;
    auto& e = x.key_groups.emplace_back(kg, std::string{});
    detail::load_bytes(ar, e.second, "key-group length");
  }
  detail::load_bytes(ar, x.runtime, "runtime state length");
}

template <class Archive>
void serialize(Archive& ar, eddy::instance_state& x, unsigned version) {
  split_free(ar, x, version);
}

} // namespace boost::serialization

BOOST_CLASS_IMPLEMENTATION(eddy::instance_state, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(eddy::instance_state, boost::serialization::track_never)

namespace eddy::checkpoint {

namespace {

/// Bytes of a frame with an empty name and an empty payload.
constexpr size_t min_frame_size = 4 + 2 + 2 + 8 + 4 + 4 + 5 * 4 + 8 + 4;

uint32_t checked_u32(size_t n, const char* what) {
  if (n > UINT32_MAX)
    throw std::length_error(std::string{"eddy::checkpoint::encode_snapshot: "} + what +
                            " above 4 GiB");
  return static_cast<uint32_t>(n);
}

/// The header fields of a version-1 frame, read without trusting them.
struct parsed_header {
  snapshot_meta meta;
  uint16_t version = 0;
  uint16_t flags = 0;
  uint64_t payload_len = 0;
  /// Where the payload starts.
  size_t payload_at = 0;
  /// How far the header could be read: none, up to and with the instance, all of it.
  enum { none, named, complete } reached = none;
};

parsed_header parse_header(std::string_view bytes) {
  parsed_header h;
  internal::frame_reader in{bytes};
  std::string_view magic;
  uint32_t name_len = 0;
  std::string_view name;
  if (!in.get_bytes(4, magic) || !in.get(h.version) || !in.get(h.flags) ||
      !in.get(h.meta.checkpoint) || !in.get(h.meta.op_index) || !in.get(name_len) ||
      !in.get_bytes(name_len, name) || !in.get(h.meta.instance))
    return h;
  h.meta.op.assign(name);
  h.reached = parsed_header::named;
  if (!in.get(h.meta.parallelism) || !in.get(h.meta.kg_first) || !in.get(h.meta.kg_end) ||
      !in.get(h.meta.key_groups) || !in.get(h.payload_len))
    return h;
  h.payload_at = in.position();
  h.reached = parsed_header::complete;
  return h;
}

} // namespace

std::string encode_snapshot(const snapshot_meta& meta, const instance_state& state) {
  std::string out;
  out.reserve(min_frame_size + meta.op.size() + state.bytes() + 16 * (state.key_groups.size() + 1));
  internal::frame_writer w{out};
  w.put_bytes(snapshot_magic, sizeof(snapshot_magic));
  w.put(snapshot_format_version);
  w.put(uint16_t{0});
  w.put(meta.checkpoint);
  w.put(meta.op_index);
  w.put(checked_u32(meta.op.size(), "an operator name"));
  w.put_bytes(meta.op.data(), meta.op.size());
  w.put(meta.instance);
  w.put(meta.parallelism);
  w.put(meta.kg_first);
  w.put(meta.kg_end);
  w.put(meta.key_groups);
  auto len_at = w.size();
  w.put(uint64_t{0});
  {
    string_sink sink{out};
    boost::archive::binary_oarchive ar{sink, archive_flags};
    ar << state;
  }
  w.patch_u64(len_at, out.size() - len_at - sizeof(uint64_t));
  w.put(state::crc32c(out.data(), out.size()));
  return out;
}

caf::expected<std::pair<snapshot_meta, instance_state>> decode_snapshot(std::string_view bytes,
                                                                        const std::string& what) {
  auto corrupt = [&](const std::string& why) {
    return make_error(errc::corrupt_snapshot, "snapshot file " + what + " " + why +
                                                  ": the file is damaged; recover from "
                                                  "another checkpoint");
  };
  try {
    if (bytes.size() < 4 || bytes.compare(0, 4, std::string_view{snapshot_magic, 4}) != 0)
      return corrupt("does not start with \"EDSN\" (it has " + std::to_string(bytes.size()) +
                     " bytes)");
    if (bytes.size() < min_frame_size) {
      return corrupt("is truncated: " + std::to_string(bytes.size()) +
                     " bytes, shorter than any snapshot frame (" + std::to_string(min_frame_size) +
                     ")");
    }
    // The header is read from the bytes before the CRC only, so that the payload, wherever the
    // header says it starts, ends before the CRC.
    auto body = bytes.substr(0, bytes.size() - 4);
    auto h = parse_header(body);
    // Every version ends in the CRC-32C of every byte before it: verified before anything else.
    auto stored = internal::trailer_u32(bytes);
    auto computed = state::crc32c(body.data(), body.size());
    if (stored != computed) {
      if (h.version == snapshot_format_version && h.reached == parsed_header::complete &&
          h.payload_len != body.size() - h.payload_at) {
        auto announced = static_cast<unsigned long long>(h.payload_at) + h.payload_len + 4;
        return corrupt("is truncated or damaged: it has " + std::to_string(bytes.size()) +
                       " bytes where its header announces " + std::to_string(announced) +
                       ", and its CRC-32C does not match");
      }
      return corrupt("fails its CRC-32C check (stored " + internal::hex32(stored) + ", computed " +
                     internal::hex32(computed) + ")");
    }
    if (h.version == 0)
      return corrupt("has format version 0, which no eddy writes");
    if (h.version > snapshot_format_version) {
      auto whose = h.reached != parsed_header::none
                       ? "snapshot of operator '" + h.meta.op + "' instance " +
                             std::to_string(h.meta.instance) + " in "
                       : std::string{"snapshot in "};
      return make_error(errc::unsupported_version,
                        whose + what + " has format version " + std::to_string(h.version) +
                            "; this eddy reads up to " + std::to_string(snapshot_format_version) +
                            ": it was written by a newer eddy; recover with that version, or "
                            "start the job without this checkpoint");
    }
    if (h.reached != parsed_header::complete)
      return corrupt("ends inside its header");
    if (h.flags != 0)
      return make_error(errc::unsupported_version,
                        "snapshot of operator '" + h.meta.op + "' instance " +
                            std::to_string(h.meta.instance) + " in " + what + " sets flags " +
                            internal::hex32(h.flags) +
                            " this eddy does not know: it was written by a newer eddy");
    if (h.payload_len != body.size() - h.payload_at)
      return corrupt("announces a payload of " + std::to_string(h.payload_len) + " bytes where " +
                     std::to_string(body.size() - h.payload_at) + " remain");
    const auto& m = h.meta;
    if (m.checkpoint < 1 || m.parallelism == 0 || m.instance >= m.parallelism ||
        m.kg_first > m.kg_end || m.kg_end > m.key_groups)
      return corrupt("has a header that contradicts itself (checkpoint " +
                     std::to_string(m.checkpoint) + ", instance " + std::to_string(m.instance) +
                     " of " + std::to_string(m.parallelism) + ", key groups [" +
                     std::to_string(m.kg_first) + ", " + std::to_string(m.kg_end) + ") of " +
                     std::to_string(m.key_groups) + ")");
    std::pair<snapshot_meta, instance_state> result{h.meta, instance_state{}};
    bounded_source src{bytes.data() + h.payload_at, static_cast<size_t>(h.payload_len)};
    {
      source_scope scope{src};
      boost::archive::binary_iarchive ar{src, archive_flags};
      ar >> result.second;
    }
    if (src.remaining() != 0)
      return corrupt("has " + std::to_string(src.remaining()) +
                     " bytes after its archive of operator '" + m.op + "' instance " +
                     std::to_string(m.instance));
    return result;
  } catch (const std::exception& e) {
    return corrupt(std::string{"holds an archive that does not read back ("} + e.what() + ")");
  }
}

} // namespace eddy::checkpoint
