// Bump allocator over the wasm linear memory: weights are allocated once at model load and live
// until the page goes; per-call temporaries use mark/reset. Only thread 0 (the caller) allocates.
#include "common.h"

extern unsigned char __heap_base;
static size_t g_top;

#define PAGE 65536
#define SLACK 64   // readable bytes after every allocation: SIMD tails may load (never use) past the end

void *sm_arena_alloc(size_t nbytes) {
  if (g_top == 0) g_top = ((size_t)&__heap_base + 63) & ~(size_t)63;
  size_t start = g_top, end = start + ((nbytes + 63) & ~(size_t)63) + SLACK;
  if (end < start) return 0;
  size_t have = __builtin_wasm_memory_size(0) * PAGE;
  if (end > have) {
    size_t pages = (end - have + PAGE - 1) / PAGE;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  }
  g_top = end - SLACK;
  return (void *)start;
}

size_t sm_arena_mark(void) {
  if (g_top == 0) g_top = ((size_t)&__heap_base + 63) & ~(size_t)63;
  return g_top;
}

void sm_arena_reset(size_t mark) { g_top = mark; }

// Exported for the glue: alloc returns 0 when the memory cannot grow (the glue raises).
uint32_t SM_EXPORT(sm_alloc)(uint32_t nbytes) { return (uint32_t)(size_t)sm_arena_alloc(nbytes); }
uint32_t SM_EXPORT(sm_mark)(void) { return (uint32_t)sm_arena_mark(); }
void SM_EXPORT(sm_reset)(uint32_t mark) { sm_arena_reset(mark); }
