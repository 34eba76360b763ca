// sm_matmul_q8x7: q8 weights times 7-bit activations on the relaxed int8 dot product. A measured candidate for
// the q8 path, not used by the model code yet (shaders/README.md says why: to stay above the q8 accuracy bar 7-bit
// x needs SmoothQuant-style smoothing, W * s in the shipped q8 and x / s here (`smooth`), and the FFN's output
// Linear stays on q8p).
//
// Each row of x is rounded to 128 steps over its own [min, max] (asymmetric: the relaxed dot's 0..127 operand),
//   x[m, k] ~ lo[m] + step[m] * xq[m, k],  so
//   out[m, n] = act(sw[n] * (step[m] * sum_k xq[m, k] w[n, k] + lo[m] * wsum[n]) + bias[n]) + res[m, n],
// with exact int32 sums. W comes as "q8x7" panels made by sm_pack_q8x7: [ceil(N/8)][Kp/4][8][4] int8 (for each 4
// k, the 8 columns' 4 values side by side; Kp = K rounded up to 8), then wsum[ceil(N/8) * 8] int32. The
// micro-kernel is q8p's outer product: 4 rows x 8 columns, per 4 k one 32-bit splat of x's 4 bytes per row and two
// dots (4 columns each).
//
// The dot, three ways (`fused` picks between the first two; the same int32 sums in all three):
// - fused: i32x4.relaxed_dot_i8x16_i7x16_add. One vpdpbusd where the CPU has AVX-VNNI; without VNNI V8 emits
//   five instructions (it rebuilds the constant 1s with pcmpeqd + psrlw per dot, then pmaddubsw, pmaddwd, paddd).
// - split: i16x8.relaxed_dot_i8x16_i7x16_s, i32x4.extadd_pairwise_i16x8_s, i32x4.add: pmaddubsw, pmaddwd with
//   the 1s from memory, paddd, three instructions. Clang folds this back into the fused form, so an empty asm
//   statement hides the i16 dot from it. 1.15x the fused form's speed on the AMD Zen 3 here (shaders/README.md).
// - plain SIMD128 builds: i16x8.extmul of the bytes and pairwise adds (for tests and comparisons; not fast).
#include "matmul.h"

#define X7_MR 4   // rows of x per micro-kernel
#define X7_PW 8   // columns per panel

// Row-major q8 (rows padded to 4 bytes) -> q8x7 panels, zeros past N and K, then the column sums.
int SM_EXPORT(sm_pack_q8x7)(const int8_t *w, int8_t *wp, int N, int K) {
  if (N < 1 || K < 1) return SM_ERR_SHAPE;
  int Kp = kpad8(K), ldw = (K + 3) & ~3, panels = (N + X7_PW - 1) / X7_PW;
  int32_t *wsum = (int32_t *)(wp + (size_t)panels * Kp * X7_PW);
  for (int p = 0; p < panels; p++)
    for (int j = 0; j < X7_PW; j++) {
      int n = p * X7_PW + j, s = 0;
      for (int k = 0; k < Kp; k++) {
        int8_t v = (n < N && k < K) ? w[(size_t)n * ldw + k] : 0;
        wp[(size_t)p * Kp * X7_PW + (size_t)(k & ~3) * X7_PW + 4 * j + (k & 3)] = v;
        s += v;
      }
      wsum[n] = s;
    }
  return SM_OK;
}

// acc + the 4-byte dot products of w (int8) and x (0..127) per 32-bit lane
SM_INLINE v128_t dot4(v128_t w, v128_t x, v128_t acc, int fused) {
#ifdef SM_RELAXED
  if (fused) return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w, x, acc);
  v128_t d = wasm_i16x8_relaxed_dot_i8x16_i7x16(w, x);
  __asm__("" : "+r"(d));   // keeps clang from fusing the three ops back into the one above
  return wasm_i32x4_add(acc, wasm_i32x4_extadd_pairwise_i16x8(d));
#else
  (void)fused;
  v128_t lo = wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_extmul_low_i8x16(w, x));
  v128_t hi = wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_extmul_high_i8x16(w, x));
  return wasm_i32x4_add(acc, wasm_i32x4_add(wasm_i32x4_shuffle(lo, hi, 0, 2, 4, 6), wasm_i32x4_shuffle(lo, hi, 1, 3, 5, 7)));
#endif
}

// args: x, xq, step, lo, M, K, smooth. xq[m, 0:Kp] = nearest((x[m, :] - lo[m]) * 127 / (max - min)), zero-padded;
// with smooth (K floats, 0 = none) the row is x[m, :] * smooth first (SmoothQuant's 1/s per input channel).
static void quantize7_part(const int32_t *a, int part, int nparts, float *scratch) {
  const float *x = (const float *)a[0], *smooth = (const float *)a[6];
  uint8_t *xq = (uint8_t *)a[1];
  float *step = (float *)a[2], *low = (float *)a[3];
  int K = a[5], Kp = kpad8(K), m0, m1;
  split_range(a[4], 1, part, nparts, &m0, &m1);
  for (int m = m0; m < m1; m++) {
    const float *row = x + (size_t)m * K;
    if (smooth) {   // into the thread's scratch (K <= SM_SCRATCH_FLOATS, checked by the caller)
      int k = 0;
      for (; k + 4 <= K; k += 4) wasm_v128_store(scratch + k, wasm_f32x4_mul(wasm_v128_load(row + k), wasm_v128_load(smooth + k)));
      for (; k < K; k++) scratch[k] = row[k] * smooth[k];
      row = scratch;
    }
    float lo = row[0], hi = row[0];
    int k = 0;
    if (K >= 4) {
      v128_t vmin = wasm_v128_load(row), vmax = vmin;
      for (k = 4; k + 4 <= K; k += 4) {
        v128_t v = wasm_v128_load(row + k);
        vmin = wasm_f32x4_pmin(vmin, v);
        vmax = wasm_f32x4_pmax(vmax, v);
      }
      lo = -hmax(wasm_f32x4_neg(vmin));
      hi = hmax(vmax);
    }
    for (; k < K; k++) {
      lo = row[k] < lo ? row[k] : lo;
      hi = row[k] > hi ? row[k] : hi;
    }
    float inv = hi - lo > 1e-30f ? 127.0f / (hi - lo) : 0.0f;   // not inf for a range near 0 (a constant row)
    step[m] = (hi - lo) / 127.0f;
    low[m] = lo;
    uint8_t *q = xq + (size_t)m * Kp;
    v128_t vinv = wasm_f32x4_splat(inv), vlo = wasm_f32x4_splat(lo);
    for (k = 0; k + 8 <= K; k += 8) {
      v128_t q0 = round_to_i32(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + k), vlo), vinv));
      v128_t q1 = round_to_i32(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + k + 4), vlo), vinv));
      v128_t h = wasm_i16x8_narrow_i32x4(q0, q1);
      wasm_v128_store64_lane(q + k, wasm_u8x16_narrow_i16x8(h, h), 0);
    }
    for (; k < K; k++) q[k] = (uint8_t)wasm_i32x4_extract_lane(round_to_i32(wasm_f32x4_splat((row[k] - lo) * inv)), 0);
    for (; k < Kp; k++) q[k] = 0;
  }
}

// out[m:m+mr, n:n+ncols] = epilogue(sw * (step * (xq @ panel) + lo * wsum)); panel [Kp/4][8][4] int8.
// Always 4 rows of dots (one copy of the loop per dot form keeps the .wasm small: xq has zero rows up to a
// multiple of 4); the epilogue stores mr.
SM_INLINE void kernel_q8x7(int mr, int fused, const uint8_t *xq, int Kp, const int8_t *panel, const float *step,
                           const float *low, const float *sw, const int32_t *wsum, const epilogue_t *e, int m, int n,
                           int ncols) {
  v128_t acc[X7_MR][2];
  for (int i = 0; i < X7_MR; i++) acc[i][0] = acc[i][1] = wasm_i32x4_splat(0);
  for (int kk = 0; kk < Kp / 4; kk++) {
    v128_t w0 = wasm_v128_load(panel + 32 * kk), w1 = wasm_v128_load(panel + 32 * kk + 16);
    for (int i = 0; i < X7_MR; i++) {
      v128_t xs = wasm_v128_load32_splat(xq + (size_t)i * Kp + 4 * kk);   // x[k .. k+3] in every lane
      acc[i][0] = dot4(w0, xs, acc[i][0], fused);
      acc[i][1] = dot4(w1, xs, acc[i][1], fused);
    }
  }
  v128_t s0 = ncols >= 4 ? wasm_v128_load(sw + n) : load_partial(sw + n, ncols);
  v128_t s1 = ncols >= 8 ? wasm_v128_load(sw + n + 4) : load_partial(sw + n + 4, ncols > 4 ? ncols - 4 : 0);
  v128_t ws0 = wasm_f32x4_convert_i32x4(wasm_v128_load(wsum + n));
  v128_t ws1 = wasm_f32x4_convert_i32x4(wasm_v128_load(wsum + n + 4));
  v128_t f[X7_MR][2];   // not acc itself: an array whose address escapes would live in memory, not registers
  for (int i = 0; i < mr; i++) {
    v128_t st = wasm_f32x4_splat(step[m + i]), lo = wasm_f32x4_splat(low[m + i]);
    f[i][0] = wasm_f32x4_mul(s0, madd(st, wasm_f32x4_convert_i32x4(acc[i][0]), wasm_f32x4_mul(lo, ws0)));
    f[i][1] = wasm_f32x4_mul(s1, madd(st, wasm_f32x4_convert_i32x4(acc[i][1]), wasm_f32x4_mul(lo, ws1)));
  }
  sm_epilogue_tile(f, mr, e, m, n, ncols);
}

// rows [m0, m1) of one panel, with the dot form fixed at compile time (so each form is its own loop)
SM_INLINE void panel_q8x7(int fused, const uint8_t *xq, int Kp, const int8_t *panel, const float *step, const float *low,
                          const float *sw, const int32_t *wsum, const epilogue_t *e, int m0, int m1, int n, int ncols) {
  for (int m = m0; m < m1; m += X7_MR) {
    int mr = m1 - m < X7_MR ? m1 - m : X7_MR;
    kernel_q8x7(mr, fused, xq + (size_t)m * Kp, Kp, panel, step, low, sw, wsum, e, m, n, ncols);
  }
}

// args: xq, step, lo, wp, sw, bias, res, out, M, K, N, act, fused; one 2-D tile (matmul.h) per part
static void q8x7_part(const int32_t *a, int part, int nparts, float *scratch) {
  const uint8_t *xq = (const uint8_t *)a[0];
  const int8_t *wp = (const int8_t *)a[3];
  const float *step = (const float *)a[1], *low = (const float *)a[2], *sw = (const float *)a[4];
  int M = a[8], K = a[9], N = a[10], Kp = kpad8(K), m0, m1, lo, hi;
  const int32_t *wsum = (const int32_t *)(wp + (size_t)((N + X7_PW - 1) / X7_PW) * Kp * X7_PW);
  epilogue_t e = {(const float *)a[5], (const float *)a[6], (float *)a[7], N, a[11]};
  tiling_t t = make_tiling(M, N, Kp);
  tile_of(&t, part, &m0, &m1, &lo, &hi);
  for (int n = lo; n < hi; n += X7_PW) {
    int ncols = hi - n < X7_PW ? hi - n : X7_PW;
    const int8_t *panel = wp + (size_t)(n / X7_PW) * Kp * X7_PW;
#ifdef SM_RELAXED
    if (a[12]) {
      panel_q8x7(1, xq, Kp, panel, step, low, sw, wsum, &e, m0, m1, n, ncols);
      continue;
    }
#endif
    panel_q8x7(0, xq, Kp, panel, step, low, sw, wsum, &e, m0, m1, n, ncols);
  }
}

// w: q8x7 panels + column sums (sm_pack_q8x7 / staticml.cpu.pack.pack_q8x7), scales [N] as q8's.
// fused: 1 = the relaxed dot as one op (fast with VNNI), 0 = split into three (fast without); same results.
// smooth: 0, or K floats that x is multiplied by per input channel before rounding (1/s, with W * s in w).
int SM_EXPORT(sm_matmul_q8x7)(int32_t x, int32_t w, int32_t scales, int32_t bias, int32_t res, int32_t out, int M, int K,
                              int N, int act, int fused, int32_t smooth) {
  if (M < 1 || K < 1 || N < 1 || act < 0 || act > ACT_RELU || !scales || fused < 0 || fused > 1) return SM_ERR_SHAPE;
  if (smooth && K > SM_SCRATCH_FLOATS) return SM_ERR_SHAPE;
  int Kp = kpad8(K);
  size_t mark = sm_arena_mark();
  int Mp = (M + X7_MR - 1) & ~(X7_MR - 1);   // rows the micro-kernel reads
  uint8_t *xq = sm_arena_alloc((size_t)Mp * Kp);
  float *step = sm_arena_alloc((size_t)M * sizeof(float)), *low = sm_arena_alloc((size_t)M * sizeof(float));
  if (!xq || !step || !low) {
    sm_arena_reset(mark);
    return SM_ERR_OOM;
  }
  for (size_t i = (size_t)M * Kp; i < (size_t)Mp * Kp; i++) xq[i] = 0;
  int32_t qa[7] = {x, (int32_t)xq, (int32_t)step, (int32_t)low, M, K, smooth};
  sm_parallel(quantize7_part, qa, 7, parts_for(M, 4));
  int32_t args[13] = {(int32_t)xq, (int32_t)step, (int32_t)low, w, scales, bias, res, out, M, K, N, act, fused};
  sm_parallel(q8x7_part, args, 13, make_tiling(M, N, Kp).nparts);
  sm_arena_reset(mark);
  return SM_OK;
}
