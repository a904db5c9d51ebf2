// Internal: the nodes of the engine's big search trees (each queue's waiting order, the
// matcher's session classes), from a pool of huge-page regions instead of malloc.
//
// A million waiting sessions put some fifty megabytes of 256-byte tree nodes in these trees.
// From malloc, that memory arrives 4 KiB page by page, one page fault each (over ten
// microseconds apiece on some virtual machines), and every node costs a malloc call. The pool
// carves nodes from regions that grow to 2 MiB on huge pages (large_alloc.h) and keeps a free
// list per node size.
//
//   NodePool pool;
//   absl::btree_set<Key, std::less<Key>, PoolAllocator<Key>> set{PoolAllocator<Key>(&pool)};
//
// Memory goes back to the system only when the pool is destroyed or Reset (after every
// container using it is gone): a pool holds the most its containers ever held at once.
// Thread-compatible: one pool belongs to one engine state.

#ifndef OMNIROUTE_ENGINE_SRC_NODE_POOL_H_
#define OMNIROUTE_ENGINE_SRC_NODE_POOL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "large_alloc.h"

namespace omniroute::internal {

class NodePool {
 public:
  NodePool() = default;
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;
  ~NodePool() { Reset(); }

  // A block of at least `bytes`, aligned on 16 bytes. Blocks of kMaxBlock bytes or more come
  // from the ordinary allocator (and all blocks do under AddressSanitizer).
  void* Allocate(size_t bytes) {
    if (!kPooled || bytes >= kMaxBlock) return ::operator new(bytes);
    const size_t size = Round(bytes);
    FreeList& list = ListFor(size);
    if (list.head != nullptr) {
      void* p = list.head;
      list.head = *static_cast<void**>(p);
      return p;
    }
    if (static_cast<size_t>(end_ - cur_) < size) NewRegion();
    void* p = cur_;
    cur_ += size;
    return p;
  }

  // Gives back a block from Allocate(bytes).
  void Free(void* p, size_t bytes) noexcept {
    if (!kPooled || bytes >= kMaxBlock) {
      ::operator delete(p);
      return;
    }
    FreeList& list = ListFor(Round(bytes));
    *static_cast<void**>(p) = list.head;
    list.head = p;
  }

  // Releases every region. Only when no block is in use.
  void Reset() {
    for (const Region& r : regions_) {
      if (r.bytes >= kLargeAllocBytes) {
        FreeLarge(r.data, r.bytes);
      } else {
        ::operator delete(r.data);
      }
    }
    regions_.clear();
    lists_.clear();
    cur_ = end_ = nullptr;
  }

 private:
  // Regions double from kFirstRegion (a small engine stays small) to kLastRegion (huge pages).
  static constexpr size_t kFirstRegion = size_t{64} << 10;
  static constexpr size_t kLastRegion = size_t{2} << 20;
  static constexpr size_t kMaxBlock = 4096;
  // Under AddressSanitizer every block comes from the ordinary allocator, which it watches.
#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool kPooled = false;
#else
  static constexpr bool kPooled = true;
#endif

  struct Region {
    char* data;
    size_t bytes;
  };

  struct FreeList {
    size_t size;
    void* head;
  };

  static size_t Round(size_t bytes) { return (std::max<size_t>(bytes, 16) + 15) & ~size_t{15}; }

  // One list per block size; a pool serves a few sizes (a tree's leaf and inner nodes).
  FreeList& ListFor(size_t size) {
    for (FreeList& l : lists_) {
      if (l.size == size) return l;
    }
    lists_.push_back(FreeList{size, nullptr});
    return lists_.back();
  }

  void NewRegion() {
    // The rest of the current region is left unused: blocks are small, regions big.
    const size_t bytes =
        regions_.empty() ? kFirstRegion : std::min(regions_.back().bytes * 2, kLastRegion);
    regions_.reserve(regions_.size() + 1);
    char* data = static_cast<char*>(bytes >= kLargeAllocBytes ? AllocateLarge(bytes)
                                                              : ::operator new(bytes));
    regions_.push_back(Region{data, bytes});
    cur_ = data;
    end_ = data + bytes;
  }

  absl::InlinedVector<FreeList, 8> lists_;
  std::vector<Region> regions_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
};

// An allocator drawing from a NodePool, or (made without one) from the ordinary allocator.
// Containers that share a pool compare equal; moving or swapping a container carries its pool
// along.
template <typename T>
class PoolAllocator {
 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;

  PoolAllocator() noexcept = default;
  explicit PoolAllocator(NodePool* pool) noexcept : pool_(pool) {}
  template <typename U>
  PoolAllocator(const PoolAllocator<U>& other) noexcept  // NOLINT: implicit, as allocators are
      : pool_(other.pool()) {}

  T* allocate(size_t n) {
    static_assert(alignof(T) <= 16, "NodePool blocks are aligned on 16 bytes");
    if (pool_ == nullptr) return std::allocator<T>().allocate(n);
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(pool_->Allocate(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (pool_ == nullptr) {
      std::allocator<T>().deallocate(p, n);
    } else {
      pool_->Free(p, n * sizeof(T));
    }
  }

  NodePool* pool() const { return pool_; }
  template <typename U>
  friend bool operator==(const PoolAllocator& a, const PoolAllocator<U>& b) {
    return a.pool() == b.pool();
  }

 private:
  NodePool* pool_ = nullptr;
};

}  // namespace omniroute::internal

#endif  // OMNIROUTE_ENGINE_SRC_NODE_POOL_H_
