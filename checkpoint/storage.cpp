#include <eddy/checkpoint/storage.hpp>

#include <eddy/checkpoint/internal/files.hpp>
#include <eddy/state/key_group_range.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <exception>
#include <optional>
#include <set>
#include <system_error>

#include <unistd.h>

namespace fs = std::filesystem;

namespace eddy::checkpoint {

using internal::ensure_dir;
using internal::io_error;
using internal::read_file;
using internal::reason;
using internal::write_atomically;

namespace {

/// `op` with every character but letters, digits, '_', '-' and '.' replaced by '_', at most 100.
std::string file_safe(const std::string& op) {
  std::string s = op.substr(0, 100);
  for (auto& c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok)
      c = '_';
  }
  return s.empty() ? "_" : s;
}

/// Why `meta` cannot describe a task's state; empty when it can.
std::string contradiction(const snapshot_meta& m) {
  if (m.checkpoint < 1)
    return "checkpoint id " + std::to_string(m.checkpoint) + " (ids count from 1)";
  if (m.parallelism == 0)
    return "parallelism 0";
  if (m.instance >= m.parallelism)
    return "instance " + std::to_string(m.instance) + " of parallelism " +
           std::to_string(m.parallelism);
  if (m.kg_first > m.kg_end || m.kg_end > m.key_groups)
    return "key groups [" + std::to_string(m.kg_first) + ", " + std::to_string(m.kg_end) + ") of " +
           std::to_string(m.key_groups);
  return {};
}

} // namespace

// -- assembling the state of new instances ------------------------------------------------------

instance_state assemble(const loaded_checkpoint& chk, uint32_t op_index, uint32_t instance,
                        uint32_t parallelism, uint32_t key_groups) {
  instance_state out;
  auto range = state::key_group_range::of(instance, parallelism, key_groups);
  auto first = chk.states.lower_bound({op_index, 0});
  for (auto i = first; i != chk.states.end() && i->first.first == op_index; ++i) {
    if (i->first.second == instance) {
      out.operator_state = i->second.operator_state;
      // The runtime's state (channel sequence numbers) only fits the same instance of the
      // same parallelism: after a rescale every channel starts afresh.
      for (const auto& t : chk.m.tasks)
        if (t.op_index == op_index && t.instance == instance && t.parallelism == parallelism)
          out.runtime = i->second.runtime;
    }
    for (const auto& kg : i->second.key_groups)
      if (range.contains(kg.first))
        out.key_groups.push_back(kg);
  }
  std::stable_sort(out.key_groups.begin(), out.key_groups.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  return out;
}

bool finished(const loaded_checkpoint& chk, uint32_t op_index, uint32_t instance) {
  for (const auto& t : chk.m.tasks)
    if (t.op_index == op_index && t.instance == instance)
      return t.finished;
  return false;
}

// -- storage ------------------------------------------------------------------------------------

storage::storage(fs::path dir, size_t keep_last)
    : dir_(std::move(dir))
    , keep_last_(keep_last)
    , shared_(std::make_unique<shared_state>()) {
  // nop
}

namespace {

/// The id of a checkpoint folder named `name` ("chk-<id>"), if it is one.
std::optional<checkpoint_id> id_of(const std::string& name) {
  if (name.size() < 5 || name.size() > 4 + 19 || name.compare(0, 4, "chk-") != 0)
    return std::nullopt;
  checkpoint_id id = 0;
  const auto* b = name.data() + 4;
  const auto* e = name.data() + name.size();
  auto [p, err] = std::from_chars(b, e, id);
  if (err != std::errc{} || p != e || id < 1 || *b == '-' || *b == '+')
    return std::nullopt;
  return id;
}

} // namespace

caf::expected<storage> storage::open(fs::path dir, size_t keep_last) {
  if (keep_last == 0)
    return make_error(errc::invalid_config,
                      "checkpoint storage: keep_last is 0, which would remove every checkpoint "
                      "as soon as it completes; keep at least 1 (default: 3)");
  if (dir.empty())
    return make_error(errc::invalid_config,
                      "checkpoint storage: the directory is empty; choose a directory for "
                      "checkpoints");
  std::error_code ec;
  auto abs = fs::absolute(dir, ec);
  if (!ec)
    dir = abs.lexically_normal();
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    return make_error(errc::invalid_config,
                      "checkpoint directory " + dir.string() + " cannot be created: " +
                          (ec ? ec.message() : std::string{"a file has its name"}) +
                          "; choose a directory this process may create and write");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return make_error(errc::invalid_config, "checkpoint directory " + dir.string() +
                                                " is not writable: " + reason(errno) +
                                                "; choose a directory this process may write");
  return storage{std::move(dir), keep_last};
}

fs::path storage::path_of(checkpoint_id id) const {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "chk-%010lld", static_cast<long long>(id));
  return dir_ / buf;
}

fs::path storage::file_of(checkpoint_id id, uint32_t op_index, const std::string& op,
                          uint32_t instance) const {
  return path_of(id) / (std::to_string(op_index) + "-" + file_safe(op) + "-" +
                        std::to_string(instance) + ".snap");
}

caf::expected<fs::path> storage::damage_snapshot(checkpoint_id id, uint64_t pick,
                                                 bool truncate) const {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path_of(id), ec))
    if (e.path().extension() == ".snap")
      files.push_back(e.path());
  if (files.empty())
    return make_error(errc::not_found,
                      "checkpoint " + std::to_string(id) + " has no snapshot file to damage");
  std::sort(files.begin(), files.end());
  auto file = files[pick % files.size()];
  auto size = fs::file_size(file, ec);
  if (!ec) {
    if (truncate) {
      fs::resize_file(file, size / 2, ec);
    } else if (std::FILE* f = std::fopen(file.c_str(), "r+b")) {
      auto at = static_cast<long>(size / 2);
      int c = std::fseek(f, at, SEEK_SET) == 0 ? std::fgetc(f) : EOF;
      bool ok = c != EOF && std::fseek(f, at, SEEK_SET) == 0 &&
                std::fputc(static_cast<unsigned char>(~c), f) != EOF;
      ok = std::fclose(f) == 0 && ok;
      if (!ok)
        ec = std::error_code{errno == 0 ? EIO : errno, std::generic_category()};
    } else {
      ec = std::error_code{errno, std::generic_category()};
    }
  }
  if (ec)
    return io_error("cannot damage " + file.string() + ": " + ec.message());
  return file;
}

fs::path storage::sink_file_of(checkpoint_id id, uint32_t op_index, const std::string& op) const {
  return path_of(id) / (std::to_string(op_index) + "-" + file_safe(op) + ".commit");
}

namespace {

/// The frame of a sink state file: a snapshot of instance 0 of 1 without key groups.
snapshot_meta sink_meta(checkpoint_id id, uint32_t op_index, const std::string& op) {
  return snapshot_meta{id, op_index, op, 0, 1, 0, 0, 0};
}

/// Frames `st` with `meta` and writes it to `file` atomically; the bytes written.
caf::expected<uint64_t> write_framed(const fs::path& file, const snapshot_meta& meta,
                                     const instance_state& st) {
  std::string bytes;
  try {
    bytes = encode_snapshot(meta, st);
  } catch (const std::exception& e) {
    return io_error("cannot encode " + file.string() + ": " + e.what());
  }
  if (auto err = ensure_dir(file.parent_path()))
    return err;
  if (auto err = write_atomically(file, bytes))
    return err;
  return static_cast<uint64_t>(bytes.size());
}

} // namespace

caf::expected<uint64_t> storage::write_sink_state(checkpoint_id id, uint32_t op_index,
                                                  const std::string& op, const std::string& bytes) {
  instance_state st;
  st.operator_state = bytes;
  return write_framed(sink_file_of(id, op_index, op), sink_meta(id, op_index, op), st);
}

caf::expected<uint64_t> storage::write_snapshot(const snapshot_meta& meta,
                                                const instance_state& st) {
  auto file = file_of(meta.checkpoint, meta.op_index, meta.op, meta.instance);
  auto& failing = shared_->failing_writes;
  for (auto n = failing.load(); n > 0;)
    if (failing.compare_exchange_weak(n, n - 1))
      return io_error("cannot write " + file.string() +
                      ": injected failure (storage::fail_next_writes)");
  if (auto why = contradiction(meta); !why.empty())
    return make_error(errc::invalid_config, "snapshot of operator '" + meta.op + "' instance " +
                                                std::to_string(meta.instance) + " has " + why +
                                                "; the runtime filled snapshot_meta wrongly");
  return write_framed(file, meta, st);
}

std::map<checkpoint_id, fs::path> storage::list_dirs() const {
  std::map<checkpoint_id, fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator i{dir_, ec}, end; !ec && i != end; i.increment(ec)) {
    auto id = id_of(i->path().filename().string());
    std::error_code dec;
    if (id && i->is_directory(dec))
      out.emplace(*id, i->path());
  }
  return out;
}

caf::expected<loaded_checkpoint> storage::load_path(const fs::path& chk_dir) {
  auto dir = chk_dir.lexically_normal();
  if (!dir.empty() && dir.filename().empty())
    dir = dir.parent_path(); // a trailing slash
  auto id = id_of(dir.filename().string());
  if (!id)
    return make_error(errc::invalid_config,
                      dir.string() + " is not a checkpoint or savepoint folder: those are named "
                                     "chk-<id> (e.g. /var/lib/app/checkpoints/chk-0000000012); "
                                     "give the folder a run reported");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return make_error(errc::not_found,
                      "the checkpoint or savepoint folder " + dir.string() + " does not exist");
  auto parent = dir.parent_path();
  return storage{parent.empty() ? fs::path{"."} : parent, 1}.load(*id);
}

caf::expected<manifest> storage::read_manifest(checkpoint_id id) const {
  auto path = path_of(id) / manifest_file_name;
  auto bytes = read_file(path);
  if (!bytes)
    return std::move(bytes.error());
  auto m = decode_manifest(*bytes, path.string());
  if (m && m->id != id)
    return make_error(errc::corrupt_snapshot,
                      "manifest " + path.string() + " names checkpoint " + std::to_string(m->id) +
                          " instead of " + std::to_string(id) + ": the checkpoint is damaged");
  return m;
}

std::vector<checkpoint_id> storage::completed() const {
  std::vector<checkpoint_id> out;
  for (const auto& d : list_dirs())
    if (read_manifest(d.first))
      out.push_back(d.first);
  return out;
}

caf::error storage::complete(const manifest& m, std::vector<std::string>* notes) {
  if (m.id < 1)
    return make_error(errc::invalid_config, "checkpoint storage: complete() for checkpoint " +
                                                std::to_string(m.id) + " (ids count from 1)");
  for (const auto& t : m.tasks)
    if (t.parallelism == 0 || t.instance >= t.parallelism)
      return make_error(errc::invalid_config, "checkpoint storage: the manifest of checkpoint " +
                                                  std::to_string(m.id) + " lists operator '" +
                                                  t.op + "' instance " +
                                                  std::to_string(t.instance) + " of parallelism " +
                                                  std::to_string(t.parallelism));
  // A manifest never lists a file that is not there: that checkpoint could never be loaded.
  for (const auto& t : m.tasks) {
    if (t.finished)
      continue;
    auto file = file_of(m.id, t.op_index, t.op, t.instance);
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    if (!ec && (t.bytes == 0 || size == t.bytes))
      continue;
    auto why = ec ? "is missing (" + ec.message() + ")"
                  : "has " + std::to_string(size) + " bytes where the manifest says " +
                        std::to_string(t.bytes);
    return make_error(errc::not_found, "checkpoint " + std::to_string(m.id) +
                                           " cannot complete: the snapshot file " + file.string() +
                                           " of operator '" + t.op + "' instance " +
                                           std::to_string(t.instance) + " " + why +
                                           "; complete a checkpoint only after every task's "
                                           "write succeeded");
  }
  for (const auto& k : m.sinks) {
    auto file = sink_file_of(m.id, k.op_index, k.op);
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    if (!ec && size == k.bytes)
      continue;
    return make_error(errc::not_found,
                      "checkpoint " + std::to_string(m.id) + " cannot complete: the state file " +
                          file.string() + " of sink '" + k.op + "' " +
                          (ec ? "is missing (" + ec.message() + ")"
                              : "has " + std::to_string(size) + " bytes where the manifest says " +
                                    std::to_string(k.bytes)));
  }
  std::lock_guard<std::mutex> guard{shared_->mtx};
  std::string bytes;
  try {
    bytes = encode_manifest(m);
  } catch (const std::exception& e) {
    return io_error("cannot encode the manifest of checkpoint " + std::to_string(m.id) + ": " +
                    e.what());
  }
  auto dir = path_of(m.id);
  if (auto err = ensure_dir(dir))
    return err;
  if (auto err = write_atomically(dir / manifest_file_name, bytes))
    return err;
  // Prune: completed checkpoints past the newest keep_last (savepoints stay), and incomplete
  // directories older than this one. A manifest of a newer format or one that cannot be read
  // marks a directory to leave alone.
  std::vector<std::pair<checkpoint_id, fs::path>> victims;
  std::vector<checkpoint_id> regular;
  auto all = list_dirs();
  for (const auto& [id, path] : all) {
    auto mf = read_manifest(id);
    if (mf) {
      if (!mf->savepoint)
        regular.push_back(id);
    } else if (id < m.id &&
               (is(mf.error(), errc::not_found) || is(mf.error(), errc::corrupt_snapshot))) {
      victims.emplace_back(id, path);
    }
  }
  if (regular.size() > keep_last_)
    for (size_t i = 0; i < regular.size() - keep_last_; ++i)
      victims.emplace_back(regular[i], all[regular[i]]);
  for (const auto& v : victims) {
    std::error_code ec;
    fs::remove_all(v.second, ec);
    if (ec && notes)
      notes->push_back("could not remove " + v.second.string() + " while pruning: " + ec.message() +
                       "; it is tried again when the next checkpoint completes");
  }
  return caf::none;
}

caf::error storage::remove_incomplete() {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  caf::error first;
  for (const auto& [id, path] : list_dirs()) {
    auto mf = read_manifest(id);
    if (mf || !(is(mf.error(), errc::not_found) || is(mf.error(), errc::corrupt_snapshot)))
      continue;
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec && !first)
      first = io_error("cannot remove the incomplete checkpoint directory " + path.string() + ": " +
                       ec.message());
  }
  return first;
}

caf::expected<loaded_checkpoint> storage::load(checkpoint_id id) const {
  auto dir = path_of(id);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return make_error(errc::not_found,
                      "checkpoint " + std::to_string(id) + " does not exist in " + dir_.string());
  auto mf = read_manifest(id);
  if (!mf) {
    if (is(mf.error(), errc::not_found))
      return make_error(errc::not_found, "checkpoint " + std::to_string(id) + " never completed: " +
                                             dir.string() + " has no manifest");
    return std::move(mf.error());
  }
  loaded_checkpoint out;
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (const auto& t : mf->tasks) {
    auto key = std::make_pair(t.op_index, t.instance);
    auto whose = "operator '" + t.op + "' instance " + std::to_string(t.instance);
    if (!seen.insert(key).second)
      return make_error(errc::corrupt_snapshot, "manifest of checkpoint " + std::to_string(id) +
                                                    " lists " + whose +
                                                    " twice: the checkpoint is damaged");
    if (t.finished)
      continue;
    auto file = file_of(id, t.op_index, t.op, t.instance);
    auto bytes = read_file(file);
    if (!bytes) {
      if (is(bytes.error(), errc::not_found))
        return make_error(errc::corrupt_snapshot, "snapshot file " + file.string() + " of " +
                                                      whose + " is missing from checkpoint " +
                                                      std::to_string(id));
      return std::move(bytes.error());
    }
    if (t.bytes != 0 && t.bytes != bytes->size())
      return make_error(errc::corrupt_snapshot,
                        "snapshot file " + file.string() + " has " + std::to_string(bytes->size()) +
                            " bytes where the manifest says " + std::to_string(t.bytes) +
                            ": it is truncated or damaged");
    auto decoded = decode_snapshot(*bytes, file.string());
    if (!decoded)
      return std::move(decoded.error());
    const auto& meta = decoded->first;
    if (meta.checkpoint != id || meta.op_index != t.op_index || meta.op != t.op ||
        meta.instance != t.instance || meta.parallelism != t.parallelism)
      return make_error(errc::corrupt_snapshot,
                        "snapshot file " + file.string() + " holds operator '" + meta.op + "' (#" +
                            std::to_string(meta.op_index) + ") instance " +
                            std::to_string(meta.instance) + " of " +
                            std::to_string(meta.parallelism) + " at checkpoint " +
                            std::to_string(meta.checkpoint) + " where the manifest expects " +
                            whose + " (#" + std::to_string(t.op_index) + ") of " +
                            std::to_string(t.parallelism) + " at checkpoint " + std::to_string(id));
    out.states.emplace(key, std::move(decoded->second));
  }
  for (const auto& k : mf->sinks) {
    auto file = sink_file_of(id, k.op_index, k.op);
    auto bytes = read_file(file);
    if (!bytes) {
      if (is(bytes.error(), errc::not_found))
        return make_error(errc::corrupt_snapshot, "the state file " + file.string() + " of sink '" +
                                                      k.op + "' is missing from checkpoint " +
                                                      std::to_string(id));
      return std::move(bytes.error());
    }
    if (k.bytes != bytes->size())
      return make_error(errc::corrupt_snapshot,
                        "the state file " + file.string() + " has " +
                            std::to_string(bytes->size()) + " bytes where the manifest says " +
                            std::to_string(k.bytes) + ": it is truncated or damaged");
    auto decoded = decode_snapshot(*bytes, file.string());
    if (!decoded)
      return std::move(decoded.error());
    if (!(decoded->first == sink_meta(id, k.op_index, k.op)))
      return make_error(errc::corrupt_snapshot,
                        "the state file " + file.string() +
                            " holds another sink or checkpoint than sink '" + k.op +
                            "' at checkpoint " + std::to_string(id));
    out.sink_states[k.op_index] = std::move(decoded->second.operator_state);
  }
  out.m = std::move(*mf);
  return out;
}

caf::expected<loaded_checkpoint> storage::load_latest(std::vector<std::string>* notes) const {
  // Every directory with a manifest file is a candidate, so that a damaged manifest gets a note
  // too (completed() leaves such a checkpoint out silently).
  std::vector<checkpoint_id> candidates;
  for (const auto& [id, path] : list_dirs()) {
    std::error_code ec;
    if (fs::exists(path / manifest_file_name, ec))
      candidates.push_back(id);
  }
  if (candidates.empty())
    return make_error(errc::not_found, "no completed checkpoint in " + dir_.string() +
                                           ": the job starts without state");
  caf::error first;
  std::string failures;
  for (auto i = candidates.rbegin(); i != candidates.rend(); ++i) {
    auto chk = load(*i);
    if (chk)
      return chk;
    auto what = is(chk.error(), errc::unsupported_version) ? " cannot be used (" : " is damaged (";
    auto sentence = "checkpoint " + std::to_string(*i) + what + describe(chk.error()) + ")";
    if (notes && std::next(i) != candidates.rend())
      notes->push_back(sentence + ": recovering from checkpoint " + std::to_string(*std::next(i)) +
                       " instead");
    failures += (failures.empty() ? "" : "; ") + sentence;
    if (!first)
      first = std::move(chk.error());
  }
  return caf::error{first.code(), first.category(),
                    caf::make_message("no checkpoint in " + dir_.string() + " loads: " + failures)};
}

} // namespace eddy::checkpoint
