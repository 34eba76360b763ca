// Shared by every CPU kernel (shaders/cpu/*.c), compiled to WebAssembly SIMD128 by
// staticml.builder.wasm_kernels. Freestanding: no libc, no allocator but arena.c.
//
// Variants (one .wasm each): SM_RELAXED selects relaxed SIMD (f32x4.relaxed_madd becomes one FMA,
// i32x4.relaxed_dot_i8x16_i7x16_add one int8 dot) over plain SIMD128; SM_THREADS builds against a
// shared memory so that several instances (one per Web Worker) run one op together (pool.c).
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <wasm_simd128.h>

#define SM_EXPORT(name) __attribute__((export_name(#name))) name
#define SM_INLINE static inline __attribute__((always_inline))

// Activations fused into the matmul epilogue; the numbers are the ABI (staticml.cpu.kernels.ACT).
enum { ACT_NONE = 0, ACT_GELU_ERF = 1, ACT_GELU_TANH = 2, ACT_SILU = 3, ACT_RELU = 4 };

// Error codes returned by exported ops (0 = ok); the glue turns them into messages.
enum { SM_OK = 0, SM_ERR_OOM = 1, SM_ERR_SHAPE = 2, SM_ERR_INDEX = 3 };

// acc + a * b: one fused multiply-add with relaxed SIMD, a multiply and an add without.
SM_INLINE v128_t madd(v128_t a, v128_t b, v128_t acc) {
#ifdef SM_RELAXED
  return wasm_f32x4_relaxed_madd(a, b, acc);
#else
  return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b));
#endif
}

SM_INLINE float hsum(v128_t v) {
  v128_t s = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  s = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(s, 0);
}

// f32x4.pmax/pmin are one x86 instruction each; f32x4.max/min (IEEE NaN and -0 rules) take ~8 in V8.
SM_INLINE float hmax(v128_t v) {
  v128_t s = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  s = wasm_f32x4_pmax(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(s, 0);
}

// [sum(a), sum(b), sum(c), sum(d)]: four dot-product accumulators reduced into one vector.
SM_INLINE v128_t hsum4(v128_t a, v128_t b, v128_t c, v128_t d) {
  v128_t ab = wasm_f32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
  v128_t cd = wasm_f32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
  return wasm_f32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

SM_INLINE v128_t hsum4_i32(v128_t a, v128_t b, v128_t c, v128_t d) {
  v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
  v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

// Loads the first n (< 4) floats of p, zeros elsewhere, without reading past p[n-1].
SM_INLINE v128_t load_partial(const float *p, int n) {
  v128_t v = wasm_f32x4_splat(0.0f);
  if (n > 0) v = wasm_f32x4_replace_lane(v, 0, p[0]);
  if (n > 1) v = wasm_f32x4_replace_lane(v, 1, p[1]);
  if (n > 2) v = wasm_f32x4_replace_lane(v, 2, p[2]);
  return v;
}

SM_INLINE void store_partial(float *p, v128_t v, int n) {
  if (n > 0) p[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
  if (n > 3) p[3] = wasm_f32x4_extract_lane(v, 3);
}

// The contiguous share [*lo, *hi) of n items (in multiples of `grain`) that part `part` of `nparts` runs.
SM_INLINE void split_range(int n, int grain, int part, int nparts, int *lo, int *hi) {
  int blocks = (n + grain - 1) / grain;
  int b0 = (int)((int64_t)blocks * part / nparts), b1 = (int)((int64_t)blocks * (part + 1) / nparts);
  *lo = b0 * grain < n ? b0 * grain : n;
  *hi = b1 * grain < n ? b1 * grain : n;
}

// --- vector math (vmath.c) ---
v128_t v_exp(v128_t x);
v128_t v_act(v128_t x, int act);
float s_exp(float x);

// --- arena (arena.c) ---
void *sm_arena_alloc(size_t nbytes);   // 64-byte aligned, 64 readable bytes after the end; 0 on OOM
size_t sm_arena_mark(void);
void sm_arena_reset(size_t mark);

// --- thread pool (pool.c): fn(args, part, nparts, scratch) runs once per part, on whichever thread
// claims it; scratch: SM_SCRATCH_FLOATS floats owned by that thread ---
typedef void (*part_fn)(const int32_t *args, int part, int nparts, float *scratch);
void sm_parallel(part_fn fn, const int32_t *args, int nargs, int nparts);
int sm_thread_count(void);
// parts for n items of `grain`: enough for balance across threads, few enough to keep parts cheap
SM_INLINE int parts_for(int n, int grain) {
  int blocks = (n + grain - 1) / grain;
  return blocks < 64 ? blocks : 64;
}
#define SM_SCRATCH_FLOATS 65536
#define SM_MAX_THREADS 16

// round-to-nearest-even float -> int32 for |x| < 2^22: adding 1.5 * 2^23 puts the integer in the low
// mantissa bits (cheaper than i32x4.trunc_sat_f32x4, which V8 expands into a saturating sequence).
SM_INLINE v128_t round_to_i32(v128_t x) {
  const v128_t magic = wasm_f32x4_splat(12582912.0f);
  return wasm_i32x4_sub(wasm_f32x4_add(x, magic), magic);
}

SM_INLINE int32_t f2i(float f) { union { float f; int32_t i; } u = { .f = f }; return u.i; }
SM_INLINE float i2f(int32_t i) { union { int32_t i; float f; } u = { .i = i }; return u.f; }
