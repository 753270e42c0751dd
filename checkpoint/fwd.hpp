// Forward declarations of eddy/checkpoint's public types, for headers that only name them.
//
//   #include <eddy/checkpoint/fwd.hpp>
//   struct coordinator { eddy::checkpoint::storage* storage_; };
#pragma once

#include <cstdint>

namespace eddy::checkpoint {

enum class errc : uint8_t;
struct snapshot_meta;
struct task_entry;
struct manifest;
struct loaded_checkpoint;
class storage;

} // namespace eddy::checkpoint
