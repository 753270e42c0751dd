// Visits the fields of a record in the order of its `inspect` overload, so one overload serves
// CAF's serialization (edges across processes) and the text formats (CSV in and out).
//
//   struct reading { int mote; double temperature; };
//   template <class F> auto inspect(F& f, reading& x) { return f(x.mote, x.temperature); }
//
//   reading r{3, 21.5};
//   eddy::for_each_field(r, [](auto& field) { std::cout << field << ','; });   // "3,21.5,"
//
// Supported fields: arithmetic types, std::string, and nested records with their own inspect.
#pragma once

#include <caf/meta/annotation.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace eddy {

namespace internal {

template <class F>
class field_visitor {
public:
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = true;

  explicit field_visitor(F& f)
      : f_(f) {}

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (visit(std::forward<Ts>(xs)), ...);
  }

private:
  template <class T>
  void visit(T&& x) {
    using value_t = std::decay_t<T>;
    if constexpr (caf::meta::is_annotation<value_t>::value) {
      // type names and other annotations are not fields
    } else if constexpr (std::is_arithmetic_v<value_t> || std::is_same_v<value_t, std::string>) {
      f_(x);
    } else {
      inspect(*this, x);
    }
  }

  F& f_;
};

} // namespace internal

/// Calls `f(field)` for every field of `x`, in inspect order.
template <class T, class F>
void for_each_field(T& x, F&& f) {
  internal::field_visitor<std::remove_reference_t<F>> v{f};
  v(x); // a record with inspect, or a plain value (a stream of ints has one field)
}

/// The number of fields of `T`.
template <class T>
size_t field_count() {
  T x{};
  size_t n = 0;
  for_each_field(x, [&n](auto&) { ++n; });
  return n;
}

} // namespace eddy
