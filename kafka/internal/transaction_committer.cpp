#include <eddy/kafka/errc.hpp>
#include <eddy/kafka/internal/transaction_committer.hpp>

#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace eddy::kafka::internal {

namespace {

size_t bytes_of(const std::vector<outgoing>& records) {
  size_t n = 0;
  for (const auto& r : records)
    n += r.key.size() + r.value.size();
  return n;
}

// -- the checkpoint's bytes: blocks of "EKS2" | lineage u64 | checkpoint u64 | instance u32 |
//    count u64 | count x (partition i32 | key length u64 | key | value length u64 | value) ---

constexpr char block_magic[4] = {'E', 'K', 'S', '2'};

template <class X>
void put(std::string& out, X x) {
  out.append(reinterpret_cast<const char*>(&x), sizeof(X));
}

void put_bytes(std::string& out, const std::string& x) {
  put<uint64_t>(out, x.size());
  out += x;
}

/// Reads what `put` wrote, moving `at`; false when the bytes end first.
template <class X>
bool get(const std::string& in, size_t& at, X& x) {
  if (in.size() - at < sizeof(X))
    return false;
  std::memcpy(&x, in.data() + at, sizeof(X));
  at += sizeof(X);
  return true;
}

bool get_bytes(const std::string& in, size_t& at, std::string& x) {
  uint64_t n = 0;
  if (!get(in, at, n) || in.size() - at < n)
    return false;
  x.assign(in, at, n);
  at += n;
  return true;
}

/// One checkpoint's staged records of one instance, as kept in a checkpoint.
struct block {
  uint64_t lineage = 0;
  checkpoint_id id = 0;
  uint32_t instance = 0;
  std::vector<outgoing> records;
};

std::vector<block> decode_blocks(const std::string& in) {
  std::vector<block> out;
  size_t at = 0;
  while (at < in.size()) {
    block b;
    uint64_t count = 0;
    bool ok = in.size() - at >= sizeof(block_magic) &&
              std::memcmp(in.data() + at, block_magic, sizeof(block_magic)) == 0;
    if (ok) {
      at += sizeof(block_magic);
      ok = get(in, at, b.lineage) && get(in, at, b.id) && get(in, at, b.instance) &&
           get(in, at, count);
    }
    for (uint64_t i = 0; ok && i < count; ++i) {
      outgoing r;
      ok = get(in, at, r.partition) && get_bytes(in, at, r.key) && get_bytes(in, at, r.value);
      b.records.push_back(std::move(r));
    }
    if (!ok)
      throw std::runtime_error("the exactly-once Kafka sink's checkpoint state (" +
                               std::to_string(in.size()) + " bytes) does not decode at byte " +
                               std::to_string(at) + ": it was written by another sink or version");
    out.push_back(std::move(b));
  }
  return out;
}

/// The commit log's key for the records of run `lineage` of transactional id `id` (one key per
/// run, so that a compacted log keeps each run's last record).
std::string log_key(const std::string& id, uint64_t lineage) {
  return id + ' ' + std::to_string(lineage);
}

/// The commit log's record for `id` of `lineage`, and back.
std::string log_value(uint64_t lineage, checkpoint_id id) {
  return "eddy-commit " + std::to_string(lineage) + ' ' + std::to_string(id);
}

/// The commit log's key and value of the claim run `lineage` writes before its producer fences
/// its predecessors (a key apart from its commits', so that compaction keeps both).
std::string claim_key(const std::string& id, uint64_t lineage) {
  return log_key(id, lineage) + " claim";
}

std::string claim_value(uint64_t lineage) {
  return "eddy-claim " + std::to_string(lineage);
}

/// The run whose claim of transactional id `id` the log key `key` is; 0: not a claim of `id`.
uint64_t claimed_by(const std::string& id, const std::string& key) {
  constexpr std::string_view suffix = " claim";
  if (key.size() <= id.size() + 1 + suffix.size() || key.compare(0, id.size(), id) != 0 ||
      key[id.size()] != ' ' || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
    return 0;
  std::istringstream in{key.substr(id.size() + 1, key.size() - id.size() - 1 - suffix.size())};
  uint64_t lineage = 0;
  if (!(in >> lineage))
    return 0;
  return key == claim_key(id, lineage) ? lineage : 0; // exactly: "job 1" is not "job"
}

bool parse_log_value(const std::string& v, uint64_t& lineage, checkpoint_id& id) {
  std::istringstream in{v};
  std::string word;
  return static_cast<bool>(in >> word >> lineage >> id) && word == "eddy-commit";
}

} // namespace

transaction_committer::transaction_committer(properties props, std::string topic, std::string id,
                                             std::string commit_log,
                                             std::chrono::milliseconds timeout)
    : props_(std::move(props))
    , topic_(std::move(topic))
    , id_(std::move(id))
    , commit_log_(std::move(commit_log))
    , timeout_(timeout) {
  props_["transactional.id"] = id_;
  std::random_device rd;
  lineage_ = (uint64_t{rd()} << 32) ^ rd();
}

transaction_committer::~transaction_committer() = default;

void transaction_committer::stage(checkpoint_id id, uint32_t instance,
                                  std::vector<outgoing>&& records) {
  if (records.empty())
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  staged_bytes_ += bytes_of(records);
  auto& slot = staged_[{id, instance}];
  if (slot.empty())
    slot = std::move(records);
  else
    slot.insert(slot.end(), std::make_move_iterator(records.begin()),
                std::make_move_iterator(records.end()));
}

std::string transaction_committer::checkpoint_state(checkpoint_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out;
  // What a commit is sending counts: it may yet fail.
  std::map<std::pair<checkpoint_id, uint32_t>, const std::vector<outgoing>*> all;
  for (const auto* m : {&sending_, &staged_})
    for (const auto& [at, records] : *m)
      if (at.first <= id)
        all.emplace(at, &records);
  for (const auto& [at, xs] : all) {
    const auto& records = *xs;
    out.append(block_magic, sizeof(block_magic));
    put<uint64_t>(out, lineage_);
    put<uint64_t>(out, at.first);
    put<uint32_t>(out, at.second);
    put<uint64_t>(out, records.size());
    for (const auto& r : records) {
      put<int32_t>(out, r.partition);
      put_bytes(out, r.key);
      put_bytes(out, r.value);
    }
  }
  return out;
}

caf::error transaction_committer::restore(checkpoint_id, const std::string& bytes) {
  std::vector<block> blocks;
  try {
    blocks = decode_blocks(bytes);
  } catch (const std::exception& e) {
    return make_error(errc::invalid_config, "kafka sink '" + topic_ + "': " + e.what());
  }
  if (blocks.empty())
    return {};
  std::lock_guard<std::mutex> no_commit{send_mtx_}; // and the producer is this thread's
  if (auto err = check_superseded())
    return err;
  // Blocks of this committer's own run are judged by what it committed itself; blocks of an
  // earlier run (a new process) by that run's last record in the commit log, read after fencing
  // its producer (a commit it left under way is finished or aborted by then).
  std::set<uint64_t> unknown;
  for (const auto& b : blocks)
    if (b.lineage != lineage_ && log_through_.count(b.lineage) == 0)
      unknown.insert(b.lineage);
  if (!unknown.empty()) {
    auto found = read_commit_log(unknown);
    if (!found)
      return make_error(errc::unavailable,
                        "kafka sink '" + topic_ +
                            "': cannot tell what was committed: " + describe(found.error()));
    for (auto lineage : unknown)
      log_through_[lineage] = found->count(lineage) != 0 ? found->at(lineage) : 0;
  }
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& b : blocks) {
    auto through = b.lineage == lineage_ ? committed_through_ : log_through_[b.lineage];
    if (b.id <= through || staged_.count({b.id, b.instance}) != 0 ||
        sending_.count({b.id, b.instance}) != 0)
      continue;
    // Filed again under this run's lineage: its commit log record says when it is committed.
    staged_bytes_ += bytes_of(b.records);
    staged_[{b.id, b.instance}] = std::move(b.records);
  }
  return {};
}

caf::error transaction_committer::scan_log(
    const std::function<bool(const std::string&, const std::string&)>& visit) {
  auto props = props_;
  props.erase("transactional.id");             // a producer's setting
  props["isolation.level"] = "read_committed"; // a record of an aborted commit says nothing
  auto c = consumer::open(props);
  if (!c)
    return c.error();
  auto range = c->offsets(commit_log_, 0, timeout_);
  if (!range)
    return range.error();
  // The log's newest records are read first, then further back (runs and jobs sharing a log
  // interleave their records).
  for (int64_t back = 64, seen_from = range->high;; back *= 4) {
    auto from = std::max(range->low, range->high - back);
    if (from >= seen_from)
      return {};
    if (auto err = c->assign(commit_log_, {{0, from}}))
      return err;
    std::vector<message> got;
    std::vector<std::pair<int32_t, int64_t>> ends;
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    bool done = false;
    while (!done) {
      if (std::chrono::steady_clock::now() > deadline)
        return make_error(errc::unavailable, "kafka: the commit log '" + commit_log_ +
                                                 "' could not be read to its end within " +
                                                 std::to_string(timeout_.count()) + " ms");
      ends.clear();
      if (auto err = c->poll(got, ends, 1'000, std::chrono::milliseconds{10}))
        return err;
      for (const auto& e : ends)
        done = done || e.second >= seen_from;
    }
    for (auto m = got.rbegin(); m != got.rend(); ++m)
      if (m->offset < seen_from && m->offset >= from && visit(m->key, m->value))
        return {};
    seen_from = from;
    if (from == range->low)
      return {};
  }
}

caf::expected<std::map<uint64_t, checkpoint_id>>
transaction_committer::read_commit_log(const std::set<uint64_t>& lineages) {
  if (auto err = ensure_producer())
    return err;
  std::map<uint64_t, checkpoint_id> found;
  auto err = scan_log([&](const std::string& key, const std::string& value) {
    uint64_t lineage = 0;
    checkpoint_id id = 0;
    if (parse_log_value(value, lineage, id) && key == log_key(id_, lineage) &&
        lineages.count(lineage) != 0)
      found.emplace(lineage, id); // the newest one stays
    return found.size() == lineages.size();
  });
  if (err)
    return err;
  return found;
}

caf::error transaction_committer::check_superseded() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (superseded_.empty())
    return {};
  return make_error(errc::fatal, superseded_);
}

caf::error transaction_committer::check_taken_over() {
  // When another job claimed the id after this one's own claim, this one is a zombie (its
  // process was given up for dead and a job took over from its checkpoint): its producer must
  // not come back, it would fence the live one. Only claims count: every job claims before it
  // fences, and a record of a commit (an aborted one is visible where aborted records are not
  // hidden, as on the mock) says nothing about who holds the id now.
  uint64_t other = 0;
  auto scanned = scan_log([&](const std::string& key, const std::string&) {
    auto lineage = claimed_by(id_, key);
    if (lineage != 0 && lineage != lineage_)
      other = lineage;
    return other != 0 || lineage == lineage_;
  });
  if (scanned)
    return scanned;
  if (other == 0)
    return {};
  std::lock_guard<std::mutex> guard{mtx_};
  superseded_ = "kafka sink '" + topic_ + "': another job took over transactional id '" + id_ +
                "' (its run " + std::to_string(other) +
                " claimed it after this one did): this job's records after checkpoint " +
                std::to_string(committed_through_) +
                " are not committed here; the job that took over writes them. Stop this job "
                "(give each job its own id with .exactly_once(id))";
  return make_error(errc::fatal, superseded_);
}

caf::error transaction_committer::write_claim() {
  auto props = props_;
  props.erase("transactional.id"); // a plain producer, before the transactional one fences
  auto p = producer::open(props);
  if (!p)
    return p.error();
  if (auto n = p->partitions(commit_log_, timeout_); !n)
    return n.error();
  if (auto err = p->send(commit_log_, 0, claim_key(id_, lineage_), claim_value(lineage_)))
    return err;
  return p->flush(timeout_);
}

caf::error transaction_committer::take_over() {
  std::lock_guard<std::mutex> one_at_a_time{send_mtx_};
  if (auto err = check_superseded())
    return err;
  // A new run claims anew, also with a sink object used before (another job may have claimed
  // the id in between, and finished).
  producer_.reset();
  must_check_ = false;
  return ensure_producer();
}

std::string transaction_committer::superseded() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return superseded_;
}

size_t transaction_committer::staged_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return staged_bytes_;
}

std::string transaction_committer::failure() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return failure_;
}

uint64_t transaction_committer::producers() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return producers_;
}

uint64_t transaction_committer::transactions() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return transactions_;
}

caf::error transaction_committer::commit(checkpoint_id id) {
  // Instances go on staging (at their barriers) while a transaction is sent: what it sends
  // waits in sending_, outside staged_, and the lock is not held over the network.
  std::lock_guard<std::mutex> one_at_a_time{send_mtx_};
  if (auto err = check_superseded())
    return err;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto end = staged_.upper_bound({id, std::numeric_limits<uint32_t>::max()});
    sending_.insert(std::make_move_iterator(staged_.begin()), std::make_move_iterator(end));
    staged_.erase(staged_.begin(), end);
  }
  if (sending_.empty())
    return {};
  std::vector<const std::vector<outgoing>*> records;
  for (const auto& [at, xs] : sending_)
    records.push_back(&xs);
  // What the log says: the newest checkpoint committed (not final_checkpoint at the end, which
  // would cover a later run restored from an earlier checkpoint of this one).
  auto through = id == final_checkpoint ? sending_.rbegin()->first.first : id;
  auto err = send_all(through, records);
  std::lock_guard<std::mutex> guard{mtx_};
  if (err) {
    // It stays staged, before what was staged since: the next commit tries again.
    for (auto& [at, xs] : sending_) {
      auto& slot = staged_[at];
      slot.insert(slot.begin(), std::make_move_iterator(xs.begin()),
                  std::make_move_iterator(xs.end()));
    }
    sending_.clear();
    failure_ = "kafka sink '" + topic_ + "': " + describe(err);
    return make_error(errc::unavailable, failure_);
  }
  for (const auto& [at, xs] : sending_)
    staged_bytes_ -= bytes_of(xs);
  sending_.clear();
  failure_.clear();
  ++transactions_;
  committed_through_ = std::max(committed_through_, id);
  return {};
}

caf::error transaction_committer::ensure_producer() {
  if (producer_)
    return {};
  if (auto err = check_superseded())
    return err;
  if (must_check_) {
    if (auto err = check_taken_over())
      return err; // cannot tell, or superseded: no producer that could fence a live job
    must_check_ = false;
  }
  // The claim goes first: a producer this one fences finds it in the log (after its own last
  // record) and stops for good instead of fencing this one in turn.
  if (auto err = write_claim())
    return err;
  auto p = producer::open(props_);
  if (!p)
    return p.error();
  producer_.emplace(std::move(*p));
  {
    std::lock_guard<std::mutex> guard{mtx_};
    ++producers_;
  }
  if (auto err = producer_->init_transactions(timeout_)) {
    producer_.reset();
    return err;
  }
  // The topics' leaders known before the first transaction: records for a topic the producer
  // has not asked about wait for its metadata (a second, on the embedded cluster).
  for (const auto& t : {topic_, commit_log_})
    if (auto n = producer_->partitions(t, timeout_); !n)
      return n.error();
  return {};
}

caf::error
transaction_committer::send_all(checkpoint_id id,
                                const std::vector<const std::vector<outgoing>*>& records) {
  caf::error last;
  // A transaction that must be aborted is tried again; a fenced or broken producer is replaced
  // (its successor fences it for good).
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (auto err = ensure_producer()) {
      if (is(err, errc::invalid_config) || !superseded().empty())
        return err; // a setting is wrong, or another job holds the id: trying again changes nothing
      last = std::move(err);
      continue;
    }
    auto send_every = [&]() -> caf::error {
      for (const auto* xs : records)
        for (const auto& r : *xs)
          if (auto e = producer_->send(topic_, r.partition, r.key, r.value))
            return e;
      // In the same transaction: what it commits, for a job restored in another process.
      return producer_->send(commit_log_, 0, log_key(id_, lineage_), log_value(lineage_, id));
    };
    auto err = producer_->begin_transaction();
    if (!err)
      err = send_every();
    if (!err)
      err = producer_->commit_transaction(timeout_);
    if (!err)
      return {};
    last = std::move(err);
    if (is(last, errc::fatal) || producer_->abort_transaction(timeout_)) {
      // Fenced, perhaps: no new producer before the log says no other job took the id over.
      producer_.reset();
      must_check_ = true;
    }
  }
  return last;
}

void transaction_committer::abort_after(checkpoint_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto it = staged_.lower_bound({id + 1, 0}); it != staged_.end();) {
    staged_bytes_ -= bytes_of(it->second);
    it = staged_.erase(it);
  }
}

void transaction_committer::abort_instance_after(checkpoint_id id, uint32_t instance) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto it = staged_.lower_bound({id + 1, 0}); it != staged_.end();) {
    if (it->first.second == instance) {
      staged_bytes_ -= bytes_of(it->second);
      it = staged_.erase(it);
    } else {
      ++it;
    }
  }
}

} // namespace eddy::kafka::internal
