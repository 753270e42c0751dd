// codec: how keyed state turns keys and values into bytes, for the RocksDB backend and for the
// canonical key-group format that both backends write and read.
//
//   a Boost `serialize`        u32 length, u32 BOOST_CLASS_VERSION of the writer, then a
//                              Boost.Serialization binary archive (no header) of `length` bytes:
//                              versioned, even when the type is trivially copyable
//   trivially copyable types   their bytes (memcpy, host order: little-endian on every target)
//   bool                       one byte, 0 or 1 (anything else is refused)
//   std::string                u32 length, then the bytes
//   std::vector<T>             u32 count, then the elements (one memcpy when T is trivial)
//   std::pair, std::tuple      the elements in order
//   anything else              a Boost archive as above (it needs a `serialize`)
//
// Every encoding is self-delimiting, so a key's bytes followed by a user key's bytes decode
// unambiguously. Reading is bounds-checked: bytes that are too short or hold an impossible
// length make `read` return false, never read past the end.
//
//   std::vector<char> buf;
//   eddy::state::byte_writer out{buf};
//   eddy::state::codec<std::string>::write(out, "hello");
//   eddy::state::byte_reader in{buf.data(), buf.size()};
//   std::string s;
//   bool ok = eddy::state::codec<std::string>::read(in, s);   // true, s == "hello"
//
// A type of your own that is not trivially copyable needs a Boost `serialize` member, or a
// specialization `template <> struct eddy::state::boost_serializable<T> : std::true_type {}`
// when its `serialize` is a free function, or a full specialization of `codec<T>`.
//
// Such a type evolves the Boost way: raise `BOOST_CLASS_VERSION(T, n)` when it gains a field and
// read the field only `if (version >= n)` in `serialize`; snapshots of older versions then load.
// Bytes of a newer version than the program knows make `read` throw `newer_version_error`
// (rather than return false), so restoring them is refused with that sentence. (Boost itself
// no longer refuses them: it would hand `serialize` a version it does not know.)
#pragma once

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/core/demangle.hpp>
#include <boost/serialization/version.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "eddy/state writes trivially copyable values in host order and assumes little-endian"
#endif

namespace eddy::state {

/// A value's bytes were written by a newer version of its type (a higher `BOOST_CLASS_VERSION`)
/// than this program reads.
class newer_version_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// -- byte buffers -------------------------------------------------------------------------------

/// Appends bytes to a vector (reused across calls, so steady-state writes do not allocate).
class byte_writer {
public:
  /// Writes at the end of `buf`.
  explicit byte_writer(std::vector<char>& buf) noexcept
      : buf_(&buf) {}

  /// Appends `n` bytes at `data`.
  void write(const void* data, size_t n) {
    // resize + memcpy rather than insert: GCC 12 warns falsely (stringop-overflow) on the latter.
    auto at = buf_->size();
    buf_->resize(at + n);
    if (n > 0)
      std::memcpy(buf_->data() + at, data, n);
  }

  /// Appends the bytes of a trivially copyable value.
  template <class T>
  void write_raw(const T& x) {
    static_assert(std::is_trivially_copyable_v<T>, "write_raw: T must be trivially copyable");
    write(&x, sizeof(T));
  }

  /// The number of bytes in the buffer.
  [[nodiscard]] size_t size() const noexcept { return buf_->size(); }

  /// The buffer written to.
  [[nodiscard]] std::vector<char>& buffer() noexcept { return *buf_; }

private:
  /// The buffer written to.
  std::vector<char>* buf_;
};

/// Reads bytes from a range, never past its end.
class byte_reader {
public:
  /// Reads the `size` bytes at `data`.
  byte_reader(const char* data, size_t size) noexcept
      : pos_(data)
      , end_(data + size) {}

  /// Copies the next `n` bytes to `out`; false (and nothing read) when fewer remain.
  [[nodiscard]] bool read(void* out, size_t n) noexcept {
    if (n > remaining())
      return false;
    if (n > 0)
      std::memcpy(out, pos_, n);
    pos_ += n;
    return true;
  }

  /// Reads a trivially copyable value.
  template <class T>
  [[nodiscard]] bool read_raw(T& x) noexcept {
    static_assert(std::is_trivially_copyable_v<T>, "read_raw: T must be trivially copyable");
    return read(&x, sizeof(T));
  }

  /// Skips `n` bytes; false when fewer remain.
  [[nodiscard]] bool skip(size_t n) noexcept {
    if (n > remaining())
      return false;
    pos_ += n;
    return true;
  }

  /// The bytes not read yet.
  [[nodiscard]] size_t remaining() const noexcept { return static_cast<size_t>(end_ - pos_); }

  /// The next byte to read.
  [[nodiscard]] const char* position() const noexcept { return pos_; }

  /// True when every byte has been read.
  [[nodiscard]] bool at_end() const noexcept { return pos_ == end_; }

private:
  /// The next byte to read.
  const char* pos_;
  /// One past the last byte.
  const char* end_;
};

// -- traits -------------------------------------------------------------------------------------

/// True for types with a Boost `serialize(Archive&, unsigned)` member; specialize it as
/// std::true_type for types whose `serialize` is a free function.
template <class T, class = void>
struct boost_serializable : std::false_type {};

/// True for types with a Boost `serialize(Archive&, unsigned)` member.
template <class T>
struct boost_serializable<T, std::void_t<decltype(std::declval<T&>().serialize(
                                 std::declval<boost::archive::binary_oarchive&>(), 0u))>>
    : std::true_type {};

/// Writes and reads values of type T (defined below).
template <class T>
struct codec;

namespace detail {

/// True for std::vector.
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

/// True for std::pair.
template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};

/// True for std::tuple.
template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

/// True for std::array.
template <class T>
struct is_std_array : std::false_type {};
template <class T, size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

/// Copied as bytes: trivially copyable, not a pointer, not bool (whose other bit patterns are UB),
/// and without a Boost `serialize` (which asks for versioned bytes that survive a new field).
template <class T>
inline constexpr bool is_raw_v =
    std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && !std::is_same_v<T, bool> &&
    !is_pair<T>::value && !is_tuple<T>::value && !is_std_array<T>::value &&
    !boost_serializable<T>::value;

/// A streambuf appending to a byte vector (for Boost archives).
class vector_sink final : public std::streambuf {
public:
  explicit vector_sink(std::vector<char>& out)
      : out_(out) {}

protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof())
      out_.push_back(static_cast<char>(c));
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.insert(out_.end(), s, s + n);
    return n;
  }

private:
  std::vector<char>& out_;
};

/// A streambuf reading a byte range (for Boost archives).
class range_source final : public std::streambuf {
public:
  range_source(const char* data, size_t n) {
    auto* p = const_cast<char*>(data);
    setg(p, p, p + n);
  }
};

/// Boost archives without header, codecvt or object tracking: values only.
inline constexpr unsigned archive_flags =
    boost::archive::no_header | boost::archive::no_codecvt | boost::archive::no_tracking;

} // namespace detail

// -- the codec ----------------------------------------------------------------------------------

/// Writes and reads values of type T (see the table at the top of this header).
template <class T>
struct codec {
  /// Appends the encoding of `x`.
  static void write(byte_writer& out, const T& x) {
    if constexpr (detail::is_raw_v<T>) {
      out.write_raw(x);
    } else if constexpr (std::is_same_v<T, bool>) {
      out.write_raw(static_cast<uint8_t>(x ? 1 : 0));
    } else if constexpr (std::is_same_v<T, std::string>) {
      out.write_raw(checked_u32(x.size()));
      out.write(x.data(), x.size());
    } else if constexpr (detail::is_vector<T>::value) {
      using elem = typename T::value_type;
      out.write_raw(checked_u32(x.size()));
      if constexpr (detail::is_raw_v<elem>) {
        out.write(x.data(), x.size() * sizeof(elem));
      } else {
        for (const auto& e : x)
          codec<elem>::write(out, e);
      }
    } else if constexpr (detail::is_pair<T>::value) {
      codec<std::decay_t<decltype(x.first)>>::write(out, x.first);
      codec<std::decay_t<decltype(x.second)>>::write(out, x.second);
    } else if constexpr (detail::is_tuple<T>::value || detail::is_std_array<T>::value) {
      std::apply([&](const auto&... e) { (codec<std::decay_t<decltype(e)>>::write(out, e), ...); },
                 x);
    } else {
      static_assert(boost_serializable<T>::value,
                    "eddy::state::codec: this type is not trivially copyable, a string, vector, "
                    "pair or tuple, and has no Boost serialize member; add one, specialize "
                    "eddy::state::boost_serializable<T>, or specialize eddy::state::codec<T>");
      auto& buf = out.buffer();
      auto at = buf.size();
      uint32_t len = 0;
      out.write_raw(len);
      out.write_raw(static_cast<uint32_t>(boost::serialization::version<T>::value));
      {
        detail::vector_sink sink{buf};
        boost::archive::binary_oarchive ar{sink, detail::archive_flags};
        ar << x;
      }
      len = checked_u32(buf.size() - at - 2 * sizeof(len));
      std::memcpy(buf.data() + at, &len, sizeof(len));
    }
  }

  /// Reads a value into `x`; false when the bytes are too short or impossible.
  [[nodiscard]] static bool read(byte_reader& in, T& x) {
    if constexpr (detail::is_raw_v<T>) {
      return in.read_raw(x);
    } else if constexpr (std::is_same_v<T, bool>) {
      uint8_t b = 0;
      if (!in.read_raw(b) || b > 1)
        return false;
      x = b == 1;
      return true;
    } else if constexpr (std::is_same_v<T, std::string>) {
      uint32_t n = 0;
      if (!in.read_raw(n) || n > in.remaining())
        return false;
      x.assign(in.position(), n);
      return in.skip(n);
    } else if constexpr (detail::is_vector<T>::value) {
      using elem = typename T::value_type;
      uint32_t n = 0;
      // Every element takes at least one byte: a count above what remains is a damaged length.
      if (!in.read_raw(n) || n > in.remaining())
        return false;
      if constexpr (detail::is_raw_v<elem>) {
        if (uint64_t{n} * sizeof(elem) > in.remaining())
          return false;
        x.resize(n);
        return in.read(x.data(), size_t{n} * sizeof(elem));
      } else {
        static_assert(std::is_default_constructible_v<elem>,
                      "eddy::state::codec: vector elements must be default-constructible");
        x.clear();
        x.reserve(n);
        for (uint32_t i = 0; i < n; ++i) {
          elem e{};
          if (!codec<elem>::read(in, e))
            return false;
          x.push_back(std::move(e));
        }
        return true;
      }
    } else if constexpr (detail::is_pair<T>::value) {
      return codec<std::decay_t<decltype(x.first)>>::read(in, x.first) &&
             codec<std::decay_t<decltype(x.second)>>::read(in, x.second);
    } else if constexpr (detail::is_tuple<T>::value || detail::is_std_array<T>::value) {
      return std::apply(
          [&](auto&... e) { return (codec<std::decay_t<decltype(e)>>::read(in, e) && ...); }, x);
    } else {
      uint32_t n = 0;
      uint32_t version = 0;
      if (!in.read_raw(n) || !in.read_raw(version) || n > in.remaining())
        return false;
      constexpr unsigned known = boost::serialization::version<T>::value;
      if (version > known)
        throw newer_version_error{"a value of type " + boost::core::demangle(typeid(T).name()) +
                                  " written by version " + std::to_string(version) +
                                  " of that type, newer than this program reads (its "
                                  "BOOST_CLASS_VERSION here is " +
                                  std::to_string(known) + ")"};
      try {
        detail::range_source src{in.position(), n};
        boost::archive::binary_iarchive ar{src, detail::archive_flags};
        ar >> x;
      } catch (const std::exception&) {
        return false;
      }
      return in.skip(n);
    }
  }

private:
  static uint32_t checked_u32(size_t n) {
    if (n > UINT32_MAX)
      throw std::length_error("eddy::state::codec: a string, vector or archive above 4 GiB");
    return static_cast<uint32_t>(n);
  }
};

/// Encodes `x` into a fresh byte vector.
template <class T>
[[nodiscard]] std::vector<char> encode(const T& x) {
  std::vector<char> buf;
  byte_writer out{buf};
  codec<T>::write(out, x);
  return buf;
}

/// Decodes all of `bytes` into `x`; false when they are damaged or hold more than one value.
template <class T>
[[nodiscard]] bool decode(const std::vector<char>& bytes, T& x) {
  byte_reader in{bytes.data(), bytes.size()};
  return codec<T>::read(in, x) && in.at_end();
}

} // namespace eddy::state
