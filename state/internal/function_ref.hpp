// function_ref: a non-owning, non-allocating reference to a callable, for callbacks that cross
// a virtual call (iterating keys or map entries) without std::function.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace eddy::state {

template <class Signature>
class function_ref;

/// References a callable taking `Args...` and returning R; valid while the callable lives.
template <class R, class... Args>
class function_ref<R(Args...)> {
public:
  /// References `f`, which must outlive this object.
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, function_ref> &&
                                              std::is_invocable_r_v<R, F&, Args...>>>
  function_ref(F&& f) noexcept // NOLINT(google-explicit-constructor): used like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f))))
      , call_([](void* obj, Args... args) -> R {
        return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<Args>(args)...);
      }) {}

  /// Calls the referenced callable.
  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }

private:
  /// The callable.
  void* obj_;
  /// Calls the callable with its real type.
  R (*call_)(void*, Args...);
};

} // namespace eddy::state
