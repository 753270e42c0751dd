// Error values shared by every eddy module.
//
// eddy reports mistakes as `caf::error` values (inside `caf::expected<T>` where a function also
// returns a result). Each module has its own `errc` enum and category atom; the error carries a
// sentence that says what went wrong and how to fix it, readable with `eddy::describe`.
//
//   enum class errc : uint8_t { bad_input = 1 };
//   caf::error e = eddy::make_error(errc::bad_input, caf::atom("eddy_ml"), "x has NaN at 3");
//   std::cerr << eddy::describe(e);   // "x has NaN at 3"
#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

namespace eddy {

/// Makes an error of module enum `code` in `category` whose context is the sentence `what`.
template <class Enum>
[[nodiscard]] caf::error make_error(Enum code, caf::atom_value category, std::string what) {
  static_assert(std::is_enum_v<Enum>, "make_error: code must be a module's errc enum");
  return caf::error{static_cast<uint8_t>(code), category, caf::make_message(std::move(what))};
}

/// Returns the sentence carried by `err`, or a generic rendering when it carries none.
[[nodiscard]] inline std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return caf::to_string(err);
}

/// True when `err` is `code` of the module enum `Enum` in `category`.
template <class Enum>
[[nodiscard]] bool is(const caf::error& err, Enum code, caf::atom_value category) {
  return err && err.category() == category && err.code() == static_cast<uint8_t>(code);
}

} // namespace eddy
