// Internal: memory for the engine's few big arrays (the session slab, the id -> slot map, the
// timer heap, the engineers, the regions of node_pool.h), backed by transparent huge pages
// where the OS offers them.
//
// A centre with a million waiting sessions holds most of a gigabyte in these arrays. Filling
// fresh memory 4 KiB at a time costs one page fault per page, and on some virtual machines a
// page fault costs over ten microseconds: loading a snapshot of such a centre spent most of
// its time in the kernel. Asking for 2 MiB pages (MADV_HUGEPAGE) cuts the faults 512-fold.
// Small arrays go to the ordinary allocator: a huge page for a handful of sessions would
// waste memory.
//
//   std::vector<Timer, LargeAllocator<Timer>> heap;  // big buffers on huge pages
//
// Thread-compatible, like std::allocator: no state, no locks.

#ifndef OMNIROUTE_ENGINE_SRC_LARGE_ALLOC_H_
#define OMNIROUTE_ENGINE_SRC_LARGE_ALLOC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace omniroute::internal {

// Allocations of at least this many bytes take the huge-page path.
inline constexpr size_t kLargeAllocBytes = size_t{2} << 20;

// Under AddressSanitizer, everything comes from the ordinary allocator, which it watches.
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(__SANITIZE_ADDRESS__)
#define OMNIROUTE_HUGE_PAGES 1
#endif

// `bytes` of uninitialized memory, aligned on a 2 MiB boundary when it comes from mmap (so
// that every whole 2 MiB of it can be a huge page). Throws std::bad_alloc when out of memory.
// Release with FreeLarge and the same `bytes`.
inline void* AllocateLarge(size_t bytes) {
#if defined(OMNIROUTE_HUGE_PAGES)
  constexpr size_t kHuge = size_t{2} << 20;
  if (bytes > SIZE_MAX / 2) throw std::bad_alloc();
  // Whole huge pages: a partial one at the end would be filled 4 KiB page by page.
  const size_t length = (bytes + kHuge - 1) & ~(kHuge - 1);
  // Map one huge page more than needed, then trim both ends to the aligned range.
  void* raw =
      mmap(nullptr, length + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t begin = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (begin + kHuge - 1) & ~uintptr_t{kHuge - 1};
  if (aligned > begin) munmap(raw, aligned - begin);
  const uintptr_t tail = begin + kHuge - aligned;  // what is left past the aligned range
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + length), tail);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, length, MADV_HUGEPAGE);  // advice only: without it, ordinary pages
  return p;
#else
  return ::operator new(bytes);
#endif
}

inline void FreeLarge(void* p, size_t bytes) {
#if defined(OMNIROUTE_HUGE_PAGES)
  constexpr size_t kHuge = size_t{2} << 20;
  munmap(p, (bytes + kHuge - 1) & ~(kHuge - 1));
#else
  ::operator delete(p, bytes);
#endif
}

// std::allocator, except that allocations of kLargeAllocBytes or more come from
// AllocateLarge.
template <typename T>
class LargeAllocator {
 public:
  using value_type = T;

  LargeAllocator() = default;
  template <typename U>
  LargeAllocator(const LargeAllocator<U>&) noexcept {}  // NOLINT: implicit, as allocators are

  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    if (n * sizeof(T) >= kLargeAllocBytes) return static_cast<T*>(AllocateLarge(n * sizeof(T)));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) >= kLargeAllocBytes) {
      FreeLarge(p, n * sizeof(T));
    } else {
      std::allocator<T>().deallocate(p, n);
    }
  }

  template <typename U>
  friend bool operator==(const LargeAllocator&, const LargeAllocator<U>&) {
    return true;
  }
};

}  // namespace omniroute::internal

#undef OMNIROUTE_HUGE_PAGES

#endif  // OMNIROUTE_ENGINE_SRC_LARGE_ALLOC_H_
