// Error codes of eddy/checkpoint, reported as caf::error values whose sentence says what was wrong
// and how to fix it: a damaged or truncated snapshot file names the file and what did not verify.
//
//   auto chk = storage->load_latest(&notes);
//   if (!chk && eddy::checkpoint::is(chk.error(), eddy::checkpoint::errc::not_found))
//     start_from_scratch();                                  // no checkpoint was ever completed
//   else if (!chk)
//     std::cerr << eddy::describe(chk.error()) << '\n';     // "snapshot file ... CRC-32C ..."
//
//   cfg.add_error_category(eddy::checkpoint::error_category, eddy::checkpoint::render);
#pragma once

#include <eddy/actors/error.hpp>

#include <cstdint>
#include <string>

namespace eddy::checkpoint {

/// What went wrong in eddy/checkpoint.
enum class errc : uint8_t {
  /// A snapshot file or manifest does not verify (magic, lengths, CRC-32C, archive contents).
  corrupt_snapshot = 1,
  /// A snapshot file or manifest was written in a format version newer than this eddy reads.
  unsupported_version,
  /// Reading or writing the checkpoint directory failed (a full disk, a permission, an injected
  /// failure).
  io_failure,
  /// The checkpoint asked for does not exist (or no checkpoint was ever completed).
  not_found,
  /// A mistake in what was asked: a directory that cannot be created, keep_last of zero, a
  /// snapshot_meta whose fields contradict each other.
  invalid_config,
};

/// The name of an error code, for CAF's error renderer.
[[nodiscard]] inline std::string to_string(errc x) {
  switch (x) {
  case errc::corrupt_snapshot:
    return "corrupt_snapshot";
  case errc::unsupported_version:
    return "unsupported_version";
  case errc::io_failure:
    return "io_failure";
  case errc::not_found:
    return "not_found";
  case errc::invalid_config:
    return "invalid_config";
  }
  return "unknown";
}

/// The category atom of eddy/checkpoint errors.
inline constexpr caf::atom_value error_category = caf::atom("eddy_chkpt");

/// Makes an eddy/checkpoint error carrying the sentence `what`.
[[nodiscard]] inline caf::error make_error(errc code, std::string what) {
  return eddy::make_error(code, error_category, std::move(what));
}

/// True when `err` is the eddy/checkpoint error `code`.
[[nodiscard]] inline bool is(const caf::error& err, errc code) {
  return eddy::is(err, code, error_category);
}

/// Renders an eddy/checkpoint error for CAF (`actor_system_config::add_error_category`), as
/// "eddy_chkpt: <code> (<sentence>)".
[[nodiscard]] inline std::string render(uint8_t code, caf::atom_value, const caf::message& ctx) {
  auto s = "eddy_chkpt: " + to_string(static_cast<errc>(code));
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    s += " (" + ctx.get_as<std::string>(0) + ")";
  return s;
}

} // namespace eddy::checkpoint
