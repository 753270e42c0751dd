// The file operations of the checkpoint directory: atomic, durable writes (temporary name,
// fsync, rename, fsync of the directory), whole-file reads, directories created durably. Errors
// are eddy/checkpoint errors naming the file and the system's reason. Not part of the public API.
#pragma once

#include <eddy/checkpoint/errc.hpp>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace eddy::checkpoint::internal {

/// The system's message for errno value `err`.
[[nodiscard]] std::string reason(int err);

/// An io_failure error carrying `what`.
[[nodiscard]] caf::error io_error(const std::string& what);

/// fsyncs directory `dir`, so that the names created or renamed in it are durable.
[[nodiscard]] caf::error sync_dir(const std::filesystem::path& dir);

/// Writes `bytes` to `target` so that it exists whole or not at all: `<target>.tmp`, fsync,
/// rename, fsync of the directory. The temporary file is removed when a step fails.
[[nodiscard]] caf::error write_atomically(const std::filesystem::path& target,
                                          std::string_view bytes);

/// Reads the whole file at `path`; not_found when it does not exist, io_failure otherwise.
[[nodiscard]] caf::expected<std::string> read_file(const std::filesystem::path& path);

/// Creates directory `dir` (and its parents) unless it exists, fsyncing its parent when it was
/// created; safe when several threads create the same directory at once.
[[nodiscard]] caf::error ensure_dir(const std::filesystem::path& dir);

} // namespace eddy::checkpoint::internal
