// flat_table: the open-addressing hash table of the in-memory backend (one per key group and
// state), in the style of Abseil's Swiss tables: one control byte per slot (empty, deleted, or 7
// bits of the hash) probed 16 at a time with SSE2, slots of (key, value) apart from them. A hit
// costs one 16-byte control load (the control bytes of a table are small and stay in cache) and
// one slot load; grows at 7/8 load. Hashes come from the caller (the store hashes each key once)
// and are recomputed with Hash only to grow. Pointers into the table stay valid until the next
// insertion; erasures move nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace eddy::state::internal {

/// Control byte of an empty slot.
inline constexpr int8_t ctrl_empty = -128;
/// Control byte of a slot whose entry was erased (a tombstone, so that probes continue).
inline constexpr int8_t ctrl_deleted = -2;

/// Sixteen control bytes, matched at once.
class ctrl_group {
public:
  static constexpr size_t width = 16;

  explicit ctrl_group(const int8_t* p) noexcept {
#if defined(__SSE2__)
    bytes_ = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
#else
    std::memcpy(bytes_, p, width);
#endif
  }

  /// Bit i set when byte i equals `h2`.
  [[nodiscard]] uint32_t match(int8_t h2) const noexcept {
#if defined(__SSE2__)
    return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_set1_epi8(h2), bytes_)));
#else
    uint32_t m = 0;
    for (size_t i = 0; i < width; ++i)
      m |= static_cast<uint32_t>(bytes_[i] == h2) << i;
    return m;
#endif
  }

  /// Bit i set when slot i is empty.
  [[nodiscard]] uint32_t match_empty() const noexcept {
    return match(ctrl_empty);
  }

  /// Bit i set when slot i is empty or deleted (free for an insertion).
  [[nodiscard]] uint32_t match_free() const noexcept {
#if defined(__SSE2__)
    return static_cast<uint32_t>(_mm_movemask_epi8(bytes_));
#else
    uint32_t m = 0;
    for (size_t i = 0; i < width; ++i)
      m |= static_cast<uint32_t>(bytes_[i] < 0) << i;
    return m;
#endif
  }

private:
#if defined(__SSE2__)
  __m128i bytes_;
#else
  int8_t bytes_[width];
#endif
};

/// A hash table from K to T; hashes are given by the caller and recomputed with Hash to grow.
template <class K, class T, class Hash>
class flat_table {
public:
  static_assert(std::is_nothrow_move_constructible_v<K> && std::is_nothrow_move_constructible_v<T>,
                "flat_table: keys and values of keyed state must be nothrow move-constructible");

  /// The slot index meaning "not found".
  static constexpr size_t npos = static_cast<size_t>(-1);

  // -- constructors -----------------------------------------------------------------------------

  flat_table() noexcept = default;

  flat_table(flat_table&& other) noexcept { steal(other); }

  flat_table& operator=(flat_table&& other) noexcept {
    if (this != &other) {
      release();
      steal(other);
    }
    return *this;
  }

  flat_table(const flat_table&) = delete;
  flat_table& operator=(const flat_table&) = delete;

  ~flat_table() { release(); }

  // -- properties -------------------------------------------------------------------------------

  /// The number of entries.
  [[nodiscard]] size_t size() const noexcept { return size_; }

  /// True when the table holds no entry.
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// The number of slots (a power of two, or 0 before the first insertion).
  [[nodiscard]] size_t slot_count() const noexcept { return capacity_; }

  /// True when slot `i` holds an entry.
  [[nodiscard]] bool occupied(size_t i) const noexcept { return ctrl_[i] >= 0; }

  /// The key in occupied slot `i`.
  [[nodiscard]] const K& key_at(size_t i) const noexcept { return slots_[i].key(); }

  /// The value in occupied slot `i`.
  [[nodiscard]] T& value_at(size_t i) noexcept { return slots_[i].value(); }

  /// The value in occupied slot `i`.
  [[nodiscard]] const T& value_at(size_t i) const noexcept { return slots_[i].value(); }

  // -- lookup -----------------------------------------------------------------------------------

  /// The slot of `key` (whose hash is `hash`), or npos.
  [[nodiscard]] size_t find_slot(uint64_t hash, const K& key) const noexcept {
    if (size_ == 0)
      return npos;
    auto h2 = tag_of(hash);
    auto mask = capacity_ - 1;
    auto pos = home(hash);
    for (size_t step = ctrl_group::width;; step += ctrl_group::width) {
      ctrl_group g{ctrl_.get() + pos};
      for (auto bits = g.match(h2); bits != 0; bits &= bits - 1) {
        auto i = (pos + static_cast<size_t>(__builtin_ctz(bits))) & mask;
        if (slots_[i].key() == key)
          return i;
      }
      if (g.match_empty() != 0)
        return npos;
      pos = (pos + step) & mask;
    }
  }

  /// The value of `key`, or nullptr.
  [[nodiscard]] T* find(uint64_t hash, const K& key) noexcept {
    auto i = find_slot(hash, key);
    return i == npos ? nullptr : &slots_[i].value();
  }

  // -- modifiers --------------------------------------------------------------------------------

  /// The value of `key`, inserted as `make()` when absent; the flag tells whether it was.
  template <class Make>
  std::pair<T*, bool> find_or_emplace(uint64_t hash, const K& key, Make&& make) {
    if (auto i = find_slot(hash, key); i != npos)
      return {&slots_[i].value(), false};
    T value(make());
    if (capacity_ == 0)
      grow();
    auto i = free_slot(hash);
    if (growth_left_ == 0 && ctrl_[i] == ctrl_empty) {
      grow();
      i = free_slot(hash);
    }
    ::new (static_cast<void*>(slots_[i].key_ptr())) K(key);
    ::new (static_cast<void*>(slots_[i].value_ptr())) T(std::move(value));
    if (ctrl_[i] == ctrl_empty)
      --growth_left_;
    set_ctrl(i, tag_of(hash));
    ++size_;
    return {&slots_[i].value(), true};
  }

  /// Removes `key`; false when it was absent.
  bool erase(uint64_t hash, const K& key) noexcept {
    auto i = find_slot(hash, key);
    if (i == npos)
      return false;
    erase_slot(i);
    return true;
  }

  /// Removes the entry in occupied slot `i` (no other entry moves).
  void erase_slot(size_t i) noexcept {
    slots_[i].destroy();
    --size_;
    // A slot no probe ever passed while full (an empty one within reach on both sides) can be
    // empty again; otherwise it becomes a tombstone.
    auto mask = capacity_ - 1;
    auto before = ctrl_group{ctrl_.get() + ((i - ctrl_group::width) & mask)}.match_empty();
    auto after = ctrl_group{ctrl_.get() + i}.match_empty();
    bool never_full =
        before != 0 && after != 0 &&
        static_cast<size_t>(__builtin_ctz(after) + __builtin_clz(before) - 16) < ctrl_group::width;
    if (never_full) {
      set_ctrl(i, ctrl_empty);
      ++growth_left_;
    } else {
      set_ctrl(i, ctrl_deleted);
    }
  }

  /// Removes every entry and frees the slots.
  void clear() noexcept {
    release();
    capacity_ = 0;
    size_ = 0;
    growth_left_ = 0;
    shift_ = 64;
  }

  /// Shrinks the slots while the table is under 1/4 load (after many erasures), and drops the
  /// tombstones.
  void shrink() {
    if (capacity_ == 0)
      return;
    if (size_ == 0) {
      clear();
      return;
    }
    auto target = capacity_;
    while (target > ctrl_group::width && size_ * 4 < target)
      target /= 2;
    if (target < capacity_)
      rehash(target);
  }

  /// Calls `f(key, value)` for every entry.
  template <class F>
  void for_each(F&& f) {
    for (size_t i = 0; i < capacity_; ++i)
      if (ctrl_[i] >= 0)
        f(std::as_const(slots_[i].key()), slots_[i].value());
  }

  /// Calls `f(key, value)` for every entry.
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < capacity_; ++i)
      if (ctrl_[i] >= 0)
        f(slots_[i].key(), std::as_const(slots_[i].value()));
  }

private:
  /// Room for a key and a value.
  struct slot {
    alignas(K) unsigned char key_buf[sizeof(K)];
    alignas(T) unsigned char value_buf[sizeof(T)];

    K* key_ptr() noexcept { return reinterpret_cast<K*>(key_buf); }
    T* value_ptr() noexcept { return reinterpret_cast<T*>(value_buf); }
    K& key() noexcept { return *std::launder(key_ptr()); }
    const K& key() const noexcept { return *std::launder(reinterpret_cast<const K*>(key_buf)); }
    T& value() noexcept { return *std::launder(value_ptr()); }
    const T& value() const noexcept { return *std::launder(reinterpret_cast<const T*>(value_buf)); }
    void destroy() noexcept {
      key().~K();
      value().~T();
    }
  };

  /// The 7 hash bits kept in a control byte: bits 8 to 14, apart from the low bits that pick
  /// the key group (all equal within one table) and the top bits that pick the home slot.
  static int8_t tag_of(uint64_t hash) noexcept { return static_cast<int8_t>((hash >> 8) & 0x7F); }

  /// The first slot probed for `hash`.
  size_t home(uint64_t hash) const noexcept { return static_cast<size_t>(hash >> shift_); }

  /// The first empty or deleted slot on the probe path of `hash` (the table has one).
  size_t free_slot(uint64_t hash) const noexcept {
    auto mask = capacity_ - 1;
    auto pos = home(hash);
    for (size_t step = ctrl_group::width;; step += ctrl_group::width) {
      if (auto bits = ctrl_group{ctrl_.get() + pos}.match_free(); bits != 0)
        return (pos + static_cast<size_t>(__builtin_ctz(bits))) & mask;
      pos = (pos + step) & mask;
    }
  }

  /// Sets the control byte of slot `i` and its copy past the end (for wrapping group loads).
  void set_ctrl(size_t i, int8_t c) noexcept {
    ctrl_[i] = c;
    if (i < ctrl_group::width - 1)
      ctrl_[capacity_ + i] = c;
  }

  /// Makes room for one more entry: doubles, or drops tombstones when they are many.
  void grow() {
    if (capacity_ == 0)
      rehash(ctrl_group::width);
    else if (size_ * 16 <= capacity_ * 7) // at most 7/16 full: tombstones took the room
      rehash(capacity_);
    else
      rehash(capacity_ * 2);
  }

  void rehash(size_t new_capacity) {
    auto old_ctrl = std::move(ctrl_);
    auto old_slots = std::move(slots_);
    auto old_capacity = capacity_;
    ctrl_.reset(new int8_t[new_capacity + ctrl_group::width - 1]);
    std::memset(ctrl_.get(), ctrl_empty, new_capacity + ctrl_group::width - 1);
    slots_.reset(new slot[new_capacity]);
    capacity_ = new_capacity;
    int bits = 0;
    while ((size_t{1} << bits) < new_capacity)
      ++bits;
    shift_ = 64 - bits;
    growth_left_ = new_capacity - new_capacity / 8 - size_;
    for (size_t i = 0; i < old_capacity; ++i) {
      if (old_ctrl[i] < 0)
        continue;
      auto& from = old_slots[i];
      auto hash = Hash{}(from.key());
      auto j = free_slot(hash);
      ::new (static_cast<void*>(slots_[j].key_ptr())) K(std::move(from.key()));
      ::new (static_cast<void*>(slots_[j].value_ptr())) T(std::move(from.value()));
      from.destroy();
      set_ctrl(j, tag_of(hash));
    }
  }

  void release() noexcept {
    if constexpr (!std::is_trivially_destructible_v<K> || !std::is_trivially_destructible_v<T>) {
      for (size_t i = 0; i < capacity_; ++i)
        if (ctrl_[i] >= 0)
          slots_[i].destroy();
    }
    ctrl_.reset();
    slots_.reset();
  }

  void steal(flat_table& other) noexcept {
    ctrl_ = std::move(other.ctrl_);
    slots_ = std::move(other.slots_);
    capacity_ = std::exchange(other.capacity_, 0);
    size_ = std::exchange(other.size_, 0);
    growth_left_ = std::exchange(other.growth_left_, 0);
    shift_ = std::exchange(other.shift_, 64);
  }

  /// Control bytes: one per slot, then copies of the first 15 (group loads may wrap).
  std::unique_ptr<int8_t[]> ctrl_;
  /// The slots.
  std::unique_ptr<slot[]> slots_;
  /// The number of slots.
  size_t capacity_ = 0;
  /// The number of entries.
  size_t size_ = 0;
  /// Insertions into empty slots left before the table grows (7/8 load).
  size_t growth_left_ = 0;
  /// 64 minus log2(capacity_): the top bits of a hash pick its home slot.
  int shift_ = 64;
};

} // namespace eddy::state::internal
