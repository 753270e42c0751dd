// A stable name for a C++ type, used to register message types with CAF by name.
//
//   eddy::type_name<std::vector<int>>()   // "std::vector<int, std::allocator<int> >"
//
// The name is the demangled RTTI name: identical in every process built from the same sources,
// which is what lets a batch of a user's record type cross a process boundary without the user
// registering anything.
#pragma once

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>

namespace eddy {

/// The demangled name of `T`.
template <class T>
[[nodiscard]] std::string type_name() {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name{
      abi::__cxa_demangle(typeid(T).name(), nullptr, nullptr, &status), &std::free};
  return status == 0 && name ? std::string{name.get()} : std::string{typeid(T).name()};
}

} // namespace eddy
