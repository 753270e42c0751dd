// Error codes of eddy/state, reported as caf::error values whose sentence says what was wrong and
// how to fix it.
//
//   auto store = eddy::state::make_keyed_state_store<uint64_t>(cfg, range, 128);
//   if (!store && eddy::state::is(store.error(), eddy::state::errc::invalid_config))
//     std::cerr << eddy::describe(store.error()) << '\n';   // "backend_config: ... set ..."
//
//   cfg.add_error_category(eddy::state::error_category, eddy::state::render);  // sys.render(err)
#pragma once

#include <eddy/actors/error.hpp>

#include <cstdint>
#include <string>

namespace eddy::state {

/// What went wrong in eddy/state.
enum class errc : uint8_t {
  /// A backend_config mistake: RocksDB without a directory, an unwritable directory, a zero size.
  invalid_config = 1,
  /// An argument is out of its range (a key group outside the store's range, a TTL of zero).
  invalid_argument,
  /// A state is declared, or restored, with another kind or other types than it has.
  type_mismatch,
  /// Key-group bytes do not verify (magic, version, key group, lengths or CRC-32C).
  corrupt_key_group,
  /// The state backend failed (a RocksDB I/O error, a full disk).
  backend_failure,
};

/// The name of an error code, for CAF's error renderer.
[[nodiscard]] inline std::string to_string(errc x) {
  switch (x) {
  case errc::invalid_config:
    return "invalid_config";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::type_mismatch:
    return "type_mismatch";
  case errc::corrupt_key_group:
    return "corrupt_key_group";
  case errc::backend_failure:
    return "backend_failure";
  }
  return "unknown";
}

/// The category atom of eddy/state errors.
inline constexpr caf::atom_value error_category = caf::atom("eddy_state");

/// Makes an eddy/state error carrying the sentence `what`.
[[nodiscard]] inline caf::error make_error(errc code, std::string what) {
  return eddy::make_error(code, error_category, std::move(what));
}

/// True when `err` is the eddy/state error `code`.
[[nodiscard]] inline bool is(const caf::error& err, errc code) {
  return eddy::is(err, code, error_category);
}

/// Renders an eddy/state error for CAF (`actor_system_config::add_error_category`), as
/// "eddy_state: <code> (<sentence>)".
[[nodiscard]] inline std::string render(uint8_t code, caf::atom_value, const caf::message& ctx) {
  auto s = "eddy_state: " + to_string(static_cast<errc>(code));
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    s += " (" + ctx.get_as<std::string>(0) + ")";
  return s;
}

} // namespace eddy::state
