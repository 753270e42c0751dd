// Forward declarations of eddy/state's public types, for headers that only name them.
//
//   #include <eddy/state/fwd.hpp>
//   struct my_operator_state { eddy::state::value_state<int64_t>* count; };
#pragma once

#include <cstdint>

namespace eddy::state {

enum class errc : uint8_t;
enum class backend_kind : uint8_t;
enum class state_kind : uint8_t;
struct backend_config;
struct key_group_range;
struct state_ttl;
template <class T>
struct codec;
template <class K>
class keyed_state_store;
template <class V>
class value_state;
template <class V>
class list_state;
template <class UK, class UV>
class map_state;
template <class V>
class reducing_state;
template <class In, class Acc, class Out>
class aggregating_state;

} // namespace eddy::state
