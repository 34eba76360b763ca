// q8 linear layers that run on integers. W is int8 with one symmetric scale per output row sw[n];
// each row of x is rounded on the fly with its own scale sx[m]; the dot products are exact int32 sums and
//   out[m, n] = act(acc[m, n] * sx[m] * sw[n] + bias[n]) + res[m, n].
//
// sm_matmul_q8p (the accurate, fast path): x is rounded to int16 (to +-qx, the largest range that keeps
// every int32 sum exact: Kp * 127 * qx < 2^31, 32767 up to K = 512, 11008 at K = 1536), so x loses
// nothing that matters (sentence embeddings match weight-only q8 to 1e-5 cosine) and
// i32x4.dot_i16x8_s (one pmaddwd on x86: 8 multiply-adds) does the math; no relaxed SIMD is needed.
// W comes as "q8p" panels made at load by sm_pack_q8 (staticml.cpu.layout): [ceil(N/8)][Kp/2][8][2],
// for each pair of k the 8 columns' two int8 values side by side, so i16x8.load8x8_s (one pmovsxbw)
// gives 4 columns x 2 k as int16, and a 32-bit splat of x's (k, k+1) pair multiplies them: an outer
// product like matmul.c's f32 kernel, 4 rows x 8 columns, 8 i32x4 accumulators, no horizontal sums.
//
// sm_matmul_q8_dynamic (PyTorch's dynamic quantization; kept for comparison): x rounded to int8, W row-major
// (rows padded to 4 bytes). Plain SIMD128: int8 -> int16 and i32x4.dot_i16x8_s. Relaxed SIMD:
// i32x4.relaxed_dot_i8x16_i7x16_add needs one operand in 0..127, so x is quantized to -63..63 and stored
// +64 (the 64 * sum(w) it adds is subtracted per row of W); int8 (7-bit) x costs 1-3 % cosine on MiniLM.
#include "matmul.h"

#ifdef SM_RELAXED
#define QMAX 63.0f
#define QOFFSET 64
#define MR 3
#else
#define QMAX 127.0f
#define QOFFSET 0
#define MR 2   // the int16 halves of x and W need registers too
#endif
#define NR 4

// max |row[k]| over k < K: the scale each row of x is quantized by (both activation paths below).
static float row_absmax(const float *row, int K) {
  v128_t vmax = wasm_f32x4_splat(0.0f);
  int k = 0;
  for (; k + 4 <= K; k += 4) vmax = wasm_f32x4_pmax(vmax, wasm_f32x4_abs(wasm_v128_load(row + k)));
  float amax = hmax(vmax);
  for (; k < K; k++) amax = amax > __builtin_fabsf(row[k]) ? amax : __builtin_fabsf(row[k]);
  return amax;
}

// xq[m, 0:Kp] = nearest(x[m, :] * QMAX / max|x[m, :]|) + QOFFSET, zero-padded; sx[m] = max / QMAX.
static void quantize_rows(const float *x, int M, int K, int Kp, int8_t *xq, float *sx) {
  for (int m = 0; m < M; m++) {
    const float *row = x + (size_t)m * K;
    float amax = row_absmax(row, K);
    int k;
    float inv = amax > 0.0f ? QMAX / amax : 0.0f;
    sx[m] = amax / QMAX;
    int8_t *q = xq + (size_t)m * Kp;
    v128_t vinv = wasm_f32x4_splat(inv);
    for (k = 0; k + 8 <= K; k += 8) {
      v128_t a = round_to_i32(wasm_f32x4_mul(wasm_v128_load(row + k), vinv));
      v128_t b = round_to_i32(wasm_f32x4_mul(wasm_v128_load(row + k + 4), vinv));
      v128_t h = wasm_i16x8_narrow_i32x4(a, b);
      v128_t bytes = wasm_i8x16_add(wasm_i8x16_narrow_i16x8(h, h), wasm_i8x16_splat(QOFFSET));
      wasm_v128_store64_lane(q + k, bytes, 0);
    }
    for (; k < K; k++)
      q[k] = (int8_t)((int)wasm_f32x4_extract_lane(wasm_f32x4_nearest(wasm_f32x4_splat(row[k] * inv)), 0) + QOFFSET);
    for (; k < Kp; k++) q[k] = 0;   // padding: W bytes past K (the next row, or slack) meet zeros
  }
}

SM_INLINE void kernel_q8(int mr, int nr, const int8_t *xq, int Kp, const int8_t *w, int ldw, const float *sx,
                         const float *sw, const int32_t *wsum, const epilogue_t *e, int m, int n) {
  v128_t acc[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = wasm_i32x4_splat(0);
  for (int k = 0; k < Kp; k += 16) {
#ifdef SM_RELAXED
    v128_t xv[MR];
    for (int i = 0; i < mr; i++) xv[i] = wasm_v128_load(xq + (size_t)i * Kp + k);
    for (int j = 0; j < nr; j++) {
      v128_t wv = wasm_v128_load(w + (size_t)j * ldw + k);
      for (int i = 0; i < mr; i++) acc[i][j] = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(wv, xv[i], acc[i][j]);
    }
#else
    v128_t xl[MR], xh[MR];
    for (int i = 0; i < mr; i++) {
      v128_t xv = wasm_v128_load(xq + (size_t)i * Kp + k);
      xl[i] = wasm_i16x8_extend_low_i8x16(xv);
      xh[i] = wasm_i16x8_extend_high_i8x16(xv);
    }
    for (int j = 0; j < nr; j++) {
      v128_t wv = wasm_v128_load(w + (size_t)j * ldw + k);
      v128_t wl = wasm_i16x8_extend_low_i8x16(wv), wh = wasm_i16x8_extend_high_i8x16(wv);
      for (int i = 0; i < mr; i++)
        acc[i][j] = wasm_i32x4_add(acc[i][j], wasm_i32x4_add(wasm_i32x4_dot_i16x8(xl[i], wl), wasm_i32x4_dot_i16x8(xh[i], wh)));
    }
#endif
  }
  v128_t scale_w = nr == 4 ? wasm_v128_load(sw + n) : load_partial(sw + n, nr);
#ifdef SM_RELAXED
  v128_t offset = wasm_i32x4_mul(wasm_v128_load(wsum), wasm_i32x4_splat(QOFFSET));
#endif
  for (int i = 0; i < mr; i++) {
    v128_t s = hsum4_i32(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
#ifdef SM_RELAXED
    s = wasm_i32x4_sub(s, offset);
#endif
    v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), wasm_f32x4_mul(scale_w, wasm_f32x4_splat(sx[m + i])));
    epilogue_store(f, e, m + i, n, nr);
  }
}

#define KERNEL_CASE(a, b) case (a) * 8 + (b): kernel_q8(a, b, xm, Kp, wn, ldw, sx, sw, ws, &e, m, n); break;

// args: xq, sx, w, sw, bias, res, out, M, K, N, act
static void q8_part(const int32_t *a, int part, int nparts, float *scratch) {
  const int8_t *xq = (const int8_t *)a[0], *w = (const int8_t *)a[2];
  const float *sx = (const float *)a[1], *sw = (const float *)a[3];
  int M = a[7], K = a[8], N = a[9], Kp = (K + 15) & ~15, ldw = (K + 3) & ~3, lo, hi;
  epilogue_t e = {(const float *)a[4], (const float *)a[5], (float *)a[6], N, a[10]};
  split_range(N, NR, part, nparts, &lo, &hi);
  int32_t *wsum = (int32_t *)scratch;   // relaxed only: sum_k w[n, k] per row n
#ifdef SM_RELAXED
  for (int n = lo; n < hi; n++) {
    const int8_t *row = w + (size_t)n * ldw;
    int32_t s = 0;
    for (int k = 0; k < K; k++) s += row[k];
    wsum[n - lo] = s;
  }
#endif
  for (int n0 = lo; n0 < hi; n0 += 32) {   // 32 rows of W (<= 48 KiB at K = 1536) stay in L2
    int n1 = hi - n0 < 32 ? hi : n0 + 32;
    for (int m = 0; m < M; m += MR) {
      int mr = M - m < MR ? M - m : MR;
      const int8_t *xm = xq + (size_t)m * Kp;
      for (int n = n0; n < n1; n += NR) {
        int nr = n1 - n < NR ? n1 - n : NR;
        const int8_t *wn = w + (size_t)n * ldw;
        const int32_t *ws = wsum + (n - lo);
        switch (mr * 8 + nr) {
          KERNEL_CASE(MR, 4) KERNEL_CASE(MR, 3) KERNEL_CASE(MR, 2) KERNEL_CASE(MR, 1)
#if MR == 3
          KERNEL_CASE(2, 4) KERNEL_CASE(2, 3) KERNEL_CASE(2, 2) KERNEL_CASE(2, 1)
#endif
          KERNEL_CASE(1, 4) KERNEL_CASE(1, 3) KERNEL_CASE(1, 2) KERNEL_CASE(1, 1)
        }
      }
    }
  }
}

// w: int8 rows (stride K rounded up to 4), from sm_alloc (kernels read up to 15 bytes past a row).
int SM_EXPORT(sm_matmul_q8_dynamic)(int32_t x, int32_t w, int32_t scales, int32_t bias, int32_t res, int32_t out, int M, int K,
                            int N, int act) {
  if (M < 1 || K < 1 || N < 1 || act < 0 || act > ACT_RELU) return SM_ERR_SHAPE;
  if (N > SM_SCRATCH_FLOATS) return SM_ERR_SHAPE;
  int Kp = (K + 15) & ~15;
  size_t mark = sm_arena_mark();
  int8_t *xq = sm_arena_alloc((size_t)M * Kp);
  float *sx = sm_arena_alloc((size_t)M * sizeof(float));
  if (!xq || !sx) {
    sm_arena_reset(mark);
    return SM_ERR_OOM;
  }
  quantize_rows((const float *)x, M, K, Kp, xq, sx);
  int32_t args[11] = {(int32_t)xq, (int32_t)sx, w, scales, bias, res, out, M, K, N, act};
  sm_parallel(q8_part, args, 11, parts_for(N, 32));
  sm_arena_reset(mark);
  return SM_OK;
}

// ---------------------------------------------------------------------------------------------------
// q8p: int8 panels x int16 activations
#define P_MR 4    // rows of x per micro-kernel
#define P_PW 8    // columns per panel

// |x| is rounded to at most qx: Kp * 127 * qx < 2^31 keeps every int32 sum (and pmaddwd pair) exact.
SM_INLINE int q8_activation_max(int Kp) {
  int64_t q = (int64_t)2147483647 / ((int64_t)Kp * 127);
  return q > 32767 ? 32767 : (int)q;
}

// Row-major q8 (rows padded to 4 bytes) -> q8p panels wp[ceil(N/8)][Kp/2][8][2], zeros past N and K.
int SM_EXPORT(sm_pack_q8)(const int8_t *w, int8_t *wp, int N, int K) {
  if (N < 1 || K < 1) return SM_ERR_SHAPE;
  int Kp = kpad8(K), ldw = (K + 3) & ~3;
  for (int p = 0; p < (N + P_PW - 1) / P_PW; p++) {
    int8_t *panel = wp + (size_t)p * Kp * P_PW;
    for (int j = 0; j < P_PW; j++) {
      int n = p * P_PW + j;
      const int8_t *row = w + (size_t)n * ldw;
      for (int k = 0; k < Kp; k++)
        panel[(size_t)(k >> 1) * 2 * P_PW + 2 * j + (k & 1)] = (n < N && k < K) ? row[k] : 0;
    }
  }
  return SM_OK;
}

// args: x, xq, sx, M, K, qx (bits of float)
static void quantize16_part(const int32_t *a, int part, int nparts, float *scratch) {
  const float *x = (const float *)a[0];
  int16_t *xq = (int16_t *)a[1];
  float *sx = (float *)a[2], qx = i2f(a[5]);
  int K = a[4], Kp = kpad8(K), lo, hi;
  split_range(a[3], 1, part, nparts, &lo, &hi);
  for (int m = lo; m < hi; m++) {
    const float *row = x + (size_t)m * K;
    float amax = row_absmax(row, K);
    int k;
    float inv = amax > 0.0f ? qx / amax : 0.0f;
    sx[m] = amax / qx;
    int16_t *q = xq + (size_t)m * Kp;
    v128_t vinv = wasm_f32x4_splat(inv);
    for (k = 0; k + 8 <= K; k += 8) {
      v128_t lo4 = round_to_i32(wasm_f32x4_mul(wasm_v128_load(row + k), vinv));
      v128_t hi4 = round_to_i32(wasm_f32x4_mul(wasm_v128_load(row + k + 4), vinv));
      wasm_v128_store(q + k, wasm_i16x8_narrow_i32x4(lo4, hi4));
    }
    for (; k < K; k++) q[k] = (int16_t)wasm_i32x4_extract_lane(round_to_i32(wasm_f32x4_splat(row[k] * inv)), 0);
    for (; k < Kp; k++) q[k] = 0;
  }
}

// out[m:m+mr, n:n+ncols] = epilogue((xq[m:m+mr] @ panel) * sx * sw); panel [Kp/2][8][2] int8
SM_INLINE void kernel_q8p(int mr, const int16_t *xq, int Kp, const int8_t *panel, const float *sx, const float *sw,
                          const epilogue_t *e, int m, int n, int ncols) {
  v128_t acc[P_MR][2];
  for (int i = 0; i < P_MR; i++) acc[i][0] = acc[i][1] = wasm_i32x4_splat(0);
  for (int kk = 0; kk < Kp / 2; kk++) {
    v128_t w0 = wasm_i16x8_load8x8(panel + 16 * kk), w1 = wasm_i16x8_load8x8(panel + 16 * kk + 8);
    for (int i = 0; i < mr; i++) {
      v128_t xs = wasm_v128_load32_splat(xq + (size_t)i * Kp + 2 * kk);   // (x[k], x[k+1]) in every lane
      acc[i][0] = wasm_i32x4_add(acc[i][0], wasm_i32x4_dot_i16x8(xs, w0));
      acc[i][1] = wasm_i32x4_add(acc[i][1], wasm_i32x4_dot_i16x8(xs, w1));
    }
  }
  v128_t s0 = ncols >= 4 ? wasm_v128_load(sw + n) : load_partial(sw + n, ncols);
  v128_t s1 = ncols >= 8 ? wasm_v128_load(sw + n + 4) : load_partial(sw + n + 4, ncols > 4 ? ncols - 4 : 0);
  v128_t f[P_MR][2];   // not acc itself: an array whose address escapes would live in memory, not registers
  for (int i = 0; i < mr; i++) {
    v128_t vs = wasm_f32x4_splat(sx[m + i]);
    f[i][0] = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[i][0]), wasm_f32x4_mul(s0, vs));
    f[i][1] = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[i][1]), wasm_f32x4_mul(s1, vs));
  }
  sm_epilogue_tile(f, mr, e, m, n, ncols);
}

// args: xq, sx, wp, sw, bias, res, out, M, K, N, act; one 2-D tile (matmul.h) per part
static void q8p_part(const int32_t *a, int part, int nparts, float *scratch) {
  const int16_t *xq = (const int16_t *)a[0];
  const int8_t *wp = (const int8_t *)a[2];
  const float *sx = (const float *)a[1], *sw = (const float *)a[3];
  int M = a[7], K = a[8], N = a[9], Kp = kpad8(K), m0, m1, lo, hi;
  epilogue_t e = {(const float *)a[4], (const float *)a[5], (float *)a[6], N, a[10]};
  tiling_t t = make_tiling(M, N, 2 * Kp);
  tile_of(&t, part, &m0, &m1, &lo, &hi);
  for (int n = lo; n < hi; n += P_PW) {
    int ncols = hi - n < P_PW ? hi - n : P_PW;
    const int8_t *panel = wp + (size_t)(n / P_PW) * Kp * P_PW;
    int m = m0;
    for (; m + P_MR <= m1; m += P_MR) kernel_q8p(P_MR, xq + (size_t)m * Kp, Kp, panel, sx, sw, &e, m, n, ncols);
    switch (m1 - m) {
      case 3: kernel_q8p(3, xq + (size_t)m * Kp, Kp, panel, sx, sw, &e, m, n, ncols); break;
      case 2: kernel_q8p(2, xq + (size_t)m * Kp, Kp, panel, sx, sw, &e, m, n, ncols); break;
      case 1: kernel_q8p(1, xq + (size_t)m * Kp, Kp, panel, sx, sw, &e, m, n, ncols); break;
    }
  }
}

// w: q8p panels (sm_pack_q8 / staticml.cpu.pack.pack_q8p), scales [N] as q8's.
int SM_EXPORT(sm_matmul_q8p)(int32_t x, int32_t w, int32_t scales, int32_t bias, int32_t res, int32_t out, int M, int K,
                             int N, int act) {
  if (M < 1 || K < 1 || N < 1 || act < 0 || act > ACT_RELU || !scales) return SM_ERR_SHAPE;
  int Kp = kpad8(K);
  size_t mark = sm_arena_mark();
  int16_t *xq = sm_arena_alloc((size_t)M * Kp * sizeof(int16_t));
  float *sx = sm_arena_alloc((size_t)M * sizeof(float));
  if (!xq || !sx) {
    sm_arena_reset(mark);
    return SM_ERR_OOM;
  }
  int32_t qa[6] = {x, (int32_t)xq, (int32_t)sx, M, K, f2i((float)q8_activation_max(Kp))};
  sm_parallel(quantize16_part, qa, 6, parts_for(M, 4));
  int32_t args[11] = {(int32_t)xq, (int32_t)sx, w, scales, bias, res, out, M, K, N, act};
  sm_parallel(q8p_part, args, 11, make_tiling(M, N, 2 * Kp).nparts);
  sm_arena_reset(mark);
  return SM_OK;
}
