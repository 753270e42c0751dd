#include <eddy/checkpoint/internal/files.hpp>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace eddy::checkpoint::internal {

namespace {

/// Closes a file descriptor when the scope ends.
class fd_guard {
public:
  explicit fd_guard(int fd) noexcept
      : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;

  /// The descriptor.
  [[nodiscard]] int get() const noexcept { return fd_; }

  /// Closes now; the errno of a failed close, 0 otherwise.
  int close() noexcept {
    auto fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0 ? 0 : errno;
  }

private:
  /// The descriptor, -1 once closed.
  int fd_;
};

} // namespace

std::string reason(int err) {
  return std::error_code{err, std::generic_category()}.message();
}

caf::error io_error(const std::string& what) {
  return make_error(errc::io_failure, what);
}

caf::error sync_dir(const fs::path& dir) {
  fd_guard fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.get() < 0 || ::fsync(fd.get()) != 0)
    return io_error("cannot sync checkpoint directory " + dir.string() + ": " + reason(errno));
  return caf::none;
}

caf::error write_atomically(const fs::path& target, std::string_view bytes) {
  auto tmp = target;
  tmp += ".tmp";
  auto fail = [&](const char* step, int err) {
    ::unlink(tmp.c_str());
    return io_error("cannot write " + target.string() + " (" + step + "): " + reason(err) +
                    "; check the free space and permissions of the checkpoint directory");
  };
  fd_guard fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (fd.get() < 0)
    return fail("open", errno);
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    auto n = ::write(fd.get(), p, std::min<size_t>(left, size_t{1} << 30));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail("write", errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0)
    return fail("fsync", errno);
  if (auto err = fd.close(); err != 0)
    return fail("close", err);
  if (::rename(tmp.c_str(), target.c_str()) != 0)
    return fail("rename", errno);
  return sync_dir(target.parent_path());
}

caf::expected<std::string> read_file(const fs::path& path) {
  fd_guard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.get() < 0) {
    auto err = errno;
    if (err == ENOENT)
      return make_error(errc::not_found, path.string() + " does not exist");
    return io_error("cannot read " + path.string() + ": " + reason(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return io_error("cannot read " + path.string() + ": " + reason(errno));
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    auto n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return io_error("cannot read " + path.string() + ": " + reason(errno));
    }
    if (n == 0)
      break; // shrank while read: the CRC will say so
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

caf::error ensure_dir(const fs::path& dir) {
  std::error_code ec;
  auto created = fs::create_directories(dir, ec);
  // Another thread may have created it meanwhile: what counts is that it is a directory now.
  if (!fs::is_directory(dir))
    return io_error("cannot create checkpoint directory " + dir.string() + ": " +
                    (ec ? ec.message() : std::string{"a file has its name"}));
  if (created)
    return sync_dir(dir.parent_path());
  return caf::none;
}

} // namespace eddy::checkpoint::internal
