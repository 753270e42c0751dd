// Small POSIX file operations the exactly-once file sinks need: fsync a file or directory,
// append one file to another durably, and errors that name the file and the reason.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace eddy::internal {

/// An error naming `what` failed on `path`, with the reason `errno` gives.
[[noreturn]] inline void throw_file_error(const std::string& what, const std::string& path,
                                          int err) {
  throw std::runtime_error(what + " '" + path + "' (" + std::strerror(err) + ")");
}

/// Flushes a file or directory to disk (fsync), throwing when it cannot.
inline void sync_path(const std::string& path, bool directory = false) {
  auto fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0)
    throw_file_error("cannot open for fsync", path, errno);
  auto rc = ::fsync(fd);
  auto err = errno;
  ::close(fd);
  if (rc != 0)
    throw_file_error("cannot fsync", path, err);
}

/// Appends `from` (from byte `skip`) to `to`, which holds `size` bytes, and fsyncs it; on an
/// error truncates `to` back to `size` and throws. Sets `size`.
inline void append_file(const std::string& from, uint64_t skip, const std::string& to,
                        uint64_t& size) {
  auto in = ::open(from.c_str(), O_RDONLY);
  if (in < 0)
    throw_file_error("cannot read the part", from, errno);
  auto out = ::open(to.c_str(), O_WRONLY | O_APPEND);
  if (out < 0) {
    auto err = errno;
    ::close(in);
    throw_file_error("cannot append to", to, err);
  }
  int err = 0;
  uint64_t added = 0;
  if (::lseek(in, static_cast<off_t>(skip), SEEK_SET) < 0)
    err = errno;
  char buf[1 << 16];
  while (err == 0) {
    auto n = ::read(in, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      err = errno;
      break;
    }
    if (n == 0)
      break;
    for (ssize_t done = 0; done < n && err == 0;) {
      auto w = ::write(out, buf + done, static_cast<size_t>(n - done));
      if (w > 0)
        done += w;
      else if (w == 0)
        err = EIO;
      else if (errno != EINTR)
        err = errno;
    }
    added += static_cast<uint64_t>(n);
  }
  if (err == 0 && ::fsync(out) != 0)
    err = errno;
  ::close(in);
  if (err != 0) {
    [[maybe_unused]] auto rc = ::ftruncate(out, static_cast<off_t>(size));
    ::close(out);
    throw_file_error("cannot append the part '" + from + "' to", to, err);
  }
  ::close(out);
  size += added;
}

} // namespace eddy::internal
