#include <eddy/checkpoint/manifest.hpp>

#include <eddy/checkpoint/internal/frame.hpp>
#include <eddy/state/crc32c.hpp>

#include <exception>
#include <stdexcept>

namespace eddy::checkpoint {

namespace {

/// Bytes of a manifest without tasks.
constexpr size_t min_manifest_size = 4 + 2 + 2 + 8 + 8 + 4 + 4;

/// Bytes of a task entry with an empty name.
constexpr size_t min_entry_size = 4 + 4 + 4 + 4 + 1 + 8;

/// Bytes of a sink entry with an empty name.
constexpr size_t min_sink_entry_size = 4 + 4 + 8;

/// The manifest flag bit of a savepoint.
constexpr uint16_t savepoint_flag = 1;

} // namespace

std::string encode_manifest(const manifest& m) {
  std::string out;
  internal::frame_writer w{out};
  w.put_bytes(manifest_magic, sizeof(manifest_magic));
  w.put(manifest_format_version);
  w.put(uint16_t{m.savepoint ? savepoint_flag : uint16_t{0}});
  w.put(m.id);
  w.put(m.created_ms);
  if (m.tasks.size() > UINT32_MAX)
    throw std::length_error("eddy::checkpoint::encode_manifest: above 2^32 tasks");
  w.put(static_cast<uint32_t>(m.tasks.size()));
  for (const auto& t : m.tasks) {
    if (t.op.size() > UINT32_MAX)
      throw std::length_error("eddy::checkpoint::encode_manifest: an operator name above 4 GiB");
    w.put(t.op_index);
    w.put(static_cast<uint32_t>(t.op.size()));
    w.put_bytes(t.op.data(), t.op.size());
    w.put(t.instance);
    w.put(t.parallelism);
    w.put(uint8_t{t.finished ? uint8_t{1} : uint8_t{0}});
    w.put(t.bytes);
  }
  if (m.sinks.size() > UINT32_MAX)
    throw std::length_error("eddy::checkpoint::encode_manifest: above 2^32 sinks");
  w.put(static_cast<uint32_t>(m.sinks.size()));
  for (const auto& k : m.sinks) {
    if (k.op.size() > UINT32_MAX)
      throw std::length_error("eddy::checkpoint::encode_manifest: a sink name above 4 GiB");
    w.put(k.op_index);
    w.put(static_cast<uint32_t>(k.op.size()));
    w.put_bytes(k.op.data(), k.op.size());
    w.put(k.bytes);
  }
  w.put(state::crc32c(out.data(), out.size()));
  return out;
}

caf::expected<manifest> decode_manifest(std::string_view bytes, const std::string& what) {
  auto corrupt = [&](const std::string& why) {
    return make_error(errc::corrupt_snapshot, "manifest " + what + " " + why +
                                                  ": the checkpoint is damaged; recover from "
                                                  "another checkpoint");
  };
  try {
    if (bytes.size() < 4 || bytes.compare(0, 4, std::string_view{manifest_magic, 4}) != 0)
      return corrupt("does not start with \"EDMF\" (it has " + std::to_string(bytes.size()) +
                     " bytes)");
    if (bytes.size() < min_manifest_size)
      return corrupt("is truncated: " + std::to_string(bytes.size()) +
                     " bytes, shorter than any manifest (" + std::to_string(min_manifest_size) +
                     ")");
    auto stored = internal::trailer_u32(bytes);
    auto computed = state::crc32c(bytes.data(), bytes.size() - 4);
    if (stored != computed)
      return corrupt("fails its CRC-32C check (stored " + internal::hex32(stored) + ", computed " +
                     internal::hex32(computed) + ")");
    internal::frame_reader in{bytes.substr(0, bytes.size() - 4)};
    std::string_view magic;
    uint16_t version = 0;
    uint16_t flags = 0;
    manifest m;
    uint32_t count = 0;
    if (!in.get_bytes(4, magic) || !in.get(version) || !in.get(flags))
      return corrupt("ends inside its header");
    if (version == 0)
      return corrupt("has format version 0, which no eddy writes");
    if (version > manifest_format_version || (flags & ~savepoint_flag) != 0)
      return make_error(errc::unsupported_version,
                        "manifest " + what + " has format version " + std::to_string(version) +
                            " and flags " + internal::hex32(flags) +
                            "; this eddy reads up to version " +
                            std::to_string(manifest_format_version) +
                            ": it was written by a newer eddy; recover with that version, or "
                            "start the job without this checkpoint");
    m.savepoint = (flags & savepoint_flag) != 0;
    if (!in.get(m.id) || !in.get(m.created_ms) || !in.get(count))
      return corrupt("ends inside its header");
    if (count > in.remaining() / min_entry_size)
      return corrupt("announces " + std::to_string(count) + " tasks in " +
                     std::to_string(in.remaining()) + " bytes");
    m.tasks.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      task_entry t;
      uint32_t name_len = 0;
      std::string_view name;
      uint8_t fin = 0;
      if (!in.get(t.op_index) || !in.get(name_len) || !in.get_bytes(name_len, name) ||
          !in.get(t.instance) || !in.get(t.parallelism) || !in.get(fin) || !in.get(t.bytes))
        return corrupt("ends inside task " + std::to_string(i));
      if (fin > 1)
        return corrupt("has a finished flag of " + std::to_string(fin) + " in task " +
                       std::to_string(i));
      t.op.assign(name);
      t.finished = fin == 1;
      m.tasks.push_back(std::move(t));
    }
    if (version >= 2) { // the sink committers' states
      if (!in.get(count))
        return corrupt("ends before its sinks");
      if (count > in.remaining() / min_sink_entry_size)
        return corrupt("announces " + std::to_string(count) + " sinks in " +
                       std::to_string(in.remaining()) + " bytes");
      for (uint32_t i = 0; i < count; ++i) {
        sink_entry k;
        uint32_t name_len = 0;
        std::string_view name;
        if (!in.get(k.op_index) || !in.get(name_len) || !in.get_bytes(name_len, name) ||
            !in.get(k.bytes))
          return corrupt("ends inside sink " + std::to_string(i));
        k.op.assign(name);
        m.sinks.push_back(std::move(k));
      }
    }
    if (in.remaining() != 0)
      return corrupt("has " + std::to_string(in.remaining()) + " bytes after its tasks");
    if (m.id < 1)
      return corrupt("names checkpoint " + std::to_string(m.id) + " (ids count from 1)");
    return m;
  } catch (const std::exception& e) {
    return corrupt(std::string{"cannot be read ("} + e.what() + ")");
  }
}

} // namespace eddy::checkpoint
