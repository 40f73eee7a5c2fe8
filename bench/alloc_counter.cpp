// The global operator new/delete of every benchmark binary: each allocation is counted
// (calls and bytes) and then served by malloc. The counters are atomic so that Google
// Benchmark's own threads (if any) cannot tear them; relaxed is enough because they are
// read only between timed loops.
#include "bench/alloc_counter.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::uint64_t> g_allocs{0};
std::atomic<std::uint64_t> g_alloc_bytes{0};

void note_alloc(std::size_t size) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  g_alloc_bytes.fetch_add(size, std::memory_order_relaxed);
}

void* counted_malloc(std::size_t size) noexcept {
  note_alloc(size);
  return std::malloc(size == 0 ? 1 : size);
}

void* counted_aligned(std::size_t size, std::align_val_t align) noexcept {
  note_alloc(size);
  const auto a = std::max(static_cast<std::size_t>(align), sizeof(void*));
  const std::size_t rounded = (std::max<std::size_t>(size, 1) + a - 1) / a * a;  // aligned_alloc's rule
  return std::aligned_alloc(a, rounded);
}

// Out of line so that GCC does not inline a delete next to its matching new and then
// mistake free() for a mismatched deallocation (-Wmismatched-new-delete).
[[gnu::noinline]] void counted_free(void* p) noexcept {
  std::free(p);
}

void* or_throw(void* p) {
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) {
  return or_throw(counted_malloc(n));
}
void* operator new[](std::size_t n) {
  return or_throw(counted_malloc(n));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return or_throw(counted_aligned(n, a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return or_throw(counted_aligned(n, a));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned(n, a);
}
void operator delete(void* p) noexcept {
  counted_free(p);
}
void operator delete[](void* p) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  counted_free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  counted_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  counted_free(p);
}

namespace failover::bench {
AllocCount alloc_count() noexcept {
  return {g_allocs.load(std::memory_order_relaxed), g_alloc_bytes.load(std::memory_order_relaxed)};
}
}  // namespace failover::bench
