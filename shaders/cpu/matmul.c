// Linear layers: out[M, N] = act(x[M, K] @ W[N, K]^T + bias) + residual.
// The micro-kernel (f32_tile in matmul.h) is an outer product: 4 rows of x times one "panel" of 8 output
// columns, 8 vector accumulators, per k one splat of x per row and two loads of W. It wants W as panels:
// wp[ceil(N/8)][K][8] (columns n..n+7 of W^T interleaved, zero-padded past N), made by
// staticml.cpu.pack.pack_f32 at convert time or by sm_pack_f32 at load. f16, q8 and q4 weights stay in
// PyTorch's row-major layout (the GPU's) and are expanded one panel at a time into the thread's scratch,
// which then serves all M rows, so the unpacking costs 1/M of the math and x stays f32 (weight-only
// quantization). matmul_q8.c has the faster integer kernels (q8p: int16 x, the fast accurate path).
// Threads split f32 into 2-D tiles (row blocks x panel groups, matmul.h), the others by panels.
#include "matmul.h"

#define MR F32_MR   // rows of x per micro-kernel (matmul.h)
#define PW F32_PW   // panel width: output columns per micro-kernel (two f32x4 accumulators per row)

void sm_matmul_f32_panel(const float *x, const float *panel, int M, int K, int n, int ncols, const epilogue_t *e) {
  f32_panel(x, panel, PW, M, K, n, ncols, e);
}

void sm_epilogue_tile(v128_t v[][2], int mr, const epilogue_t *e, int m, int n, int ncols) {
  for (int i = 0; i < mr; i++) {
    epilogue_store(v[i][0], e, m + i, n, ncols < 4 ? ncols : 4);
    if (ncols > 4) epilogue_store(v[i][1], e, m + i, n + 4, ncols - 4);
  }
}

// W[N, K] row-major f32 -> panels wp[ceil(N/8)][K][8] (what staticml.cpu.pack.pack_f32 makes).
int SM_EXPORT(sm_pack_f32)(const float *w, float *wp, int N, int K) {
  if (N < 1 || K < 1) return SM_ERR_SHAPE;
  for (int p = 0; p < (N + PW - 1) / PW; p++)
    for (int k = 0; k < K; k++)
      for (int j = 0; j < PW; j++) {
        int n = p * PW + j;
        wp[((size_t)p * K + k) * PW + j] = n < N ? w[(size_t)n * K + k] : 0.0f;
      }
  return SM_OK;
}

// --- f16 and q4 weight expansion into an f32 panel ---

// f16 bits (low 16 bits of each lane) -> f32, subnormals included: (h & 0x7fff) << 13 is an f32
// with the exponent 112 too small, so one multiply by 2^112 fixes it; exponent 31 maps to inf/nan.
SM_INLINE v128_t half_to_float(v128_t h) {
  v128_t mag = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
  v128_t f = wasm_f32x4_mul(mag, wasm_f32x4_splat(5.192296858534828e+33f));  // 2^112
  v128_t infnan = wasm_i32x4_ge(mag, wasm_i32x4_splat(0x0f800000));
  f = wasm_v128_bitselect(wasm_v128_or(mag, wasm_i32x4_splat(0x70000000)), f, infnan);
  return wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

static void expand_f16_rows(const uint16_t *w, int ldw16, int K, int n0, int count, float *dst) {
  for (int r = 0; r < count; r++) {
    const uint16_t *src = w + (size_t)(n0 + r) * ldw16;
    float *d = dst + (size_t)r * K;
    int k = 0;
    for (; k + 8 <= K; k += 8) {
      v128_t v = wasm_v128_load(src + k);
      wasm_v128_store(d + k, half_to_float(wasm_u32x4_extend_low_u16x8(v)));
      wasm_v128_store(d + k + 4, half_to_float(wasm_u32x4_extend_high_u16x8(v)));
    }
    for (; k < K; k++) d[k] = wasm_f32x4_extract_lane(half_to_float(wasm_i32x4_splat(src[k])), 0);
  }
}

// q4: word i of a row holds k = 8i .. 8i+7, lowest nibble first; value = (nibble - 8) * scale[k / 32].
static void expand_q4_rows(const uint32_t *w, int ldw32, const float *scales, int K, int n0, int count, float *dst) {
  int groups = (K + 31) / 32;
  for (int r = 0; r < count; r++) {
    const uint8_t *src = (const uint8_t *)(w + (size_t)(n0 + r) * ldw32);
    const float *sc = scales + (size_t)(n0 + r) * groups;
    float *d = dst + (size_t)r * K;
    int k = 0;
    for (; k + 32 <= K; k += 32) {
      v128_t b = wasm_v128_load(src + k / 2);
      v128_t lo = wasm_v128_and(b, wasm_i8x16_splat(0x0f)), hi = wasm_u8x16_shr(b, 4);
      v128_t q0 = wasm_i8x16_sub(wasm_i8x16_shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23),
                                 wasm_i8x16_splat(8));
      v128_t q1 = wasm_i8x16_sub(wasm_i8x16_shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31),
                                 wasm_i8x16_splat(8));
      v128_t s = wasm_f32x4_splat(sc[k / 32]);
      v128_t h[4] = {wasm_i16x8_extend_low_i8x16(q0), wasm_i16x8_extend_high_i8x16(q0),
                     wasm_i16x8_extend_low_i8x16(q1), wasm_i16x8_extend_high_i8x16(q1)};
      for (int u = 0; u < 4; u++) {
        wasm_v128_store(d + k + 8 * u, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(h[u])), s));
        wasm_v128_store(d + k + 8 * u + 4, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(h[u])), s));
      }
    }
    for (; k < K; k++) {
      int q = (src[k / 2] >> (4 * (k & 1))) & 15;
      d[k] = (float)(q - 8) * sc[k / 32];
    }
  }
}

// q8 (weight-only): int8 rows padded to 4 bytes, value = q * scale[n].
static void expand_q8_row(const int8_t *w, int K, int n, const float *scales, float *d) {
  const int8_t *src = w + (size_t)n * ((K + 3) & ~3);
  v128_t s = wasm_f32x4_splat(scales[n]);
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    v128_t b = wasm_v128_load(src + k);
    v128_t h[2] = {wasm_i16x8_extend_low_i8x16(b), wasm_i16x8_extend_high_i8x16(b)};
    for (int u = 0; u < 2; u++) {
      wasm_v128_store(d + k + 8 * u, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(h[u])), s));
      wasm_v128_store(d + k + 8 * u + 4, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(h[u])), s));
    }
  }
  for (; k < K; k++) d[k] = (float)src[k] * scales[n];
}

enum { W_F16 = 1, W_Q4 = 2, W_Q8 = 3 };

// panel[k][0:8] = rows[0:8][k]: two 4x4 transposes per 4 k (rows: 8 expanded rows of K floats).
static void transpose_into_panel(const float *rows, int K, float *panel) {
  int k = 0;
  for (; k + 4 <= K; k += 4) {
    for (int h = 0; h < 2; h++) {
      const float *r = rows + (size_t)(4 * h) * K + k;
      v128_t a = wasm_v128_load(r), b = wasm_v128_load(r + K), c = wasm_v128_load(r + 2 * K), d = wasm_v128_load(r + 3 * K);
      v128_t ab0 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab1 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
      v128_t cd0 = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), cd1 = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
      float *o = panel + (size_t)k * PW + 4 * h;
      wasm_v128_store(o, wasm_i32x4_shuffle(ab0, cd0, 0, 1, 4, 5));
      wasm_v128_store(o + PW, wasm_i32x4_shuffle(ab0, cd0, 2, 3, 6, 7));
      wasm_v128_store(o + 2 * PW, wasm_i32x4_shuffle(ab1, cd1, 0, 1, 4, 5));
      wasm_v128_store(o + 3 * PW, wasm_i32x4_shuffle(ab1, cd1, 2, 3, 6, 7));
    }
  }
  for (; k < K; k++)
    for (int j = 0; j < PW; j++) panel[(size_t)k * PW + j] = rows[(size_t)j * K + k];
}

// Expands rows n .. n+ncols of a row-major f16/q8/q4 W into one panel [K][8] (zeros past ncols).
static void expand_panel(int wtype, const void *w, const float *scales, int K, int n, int ncols, float *panel, float *rows) {
  for (int j = 0; j < PW; j++) {
    float *row = rows + (size_t)j * K;
    if (j >= ncols) {
      for (int k = 0; k < K; k++) row[k] = 0.0f;
    } else if (wtype == W_F16) {
      expand_f16_rows((const uint16_t *)w, 2 * ((K + 1) / 2), K, n + j, 1, row);
    } else if (wtype == W_Q8) {
      expand_q8_row((const int8_t *)w, K, n + j, scales, row);
    } else {
      expand_q4_rows((const uint32_t *)w, 4 * ((K + 31) / 32), scales, K, n + j, 1, row);
    }
  }
  transpose_into_panel(rows, K, panel);
}

// --- exported ops; args: x, w, scales, bias, res, out, M, K, N, act ---
// f32 (packed panels): one 2-D tile (matmul.h) per part, the micro-kernel inlined right here (V8 runs it
// ~7 % faster than behind sm_matmul_f32_panel's call).
static void part_f32(const int32_t *a, int part, int nparts, float *scratch) {
  const float *x = (const float *)a[0];
  epilogue_t e = {(const float *)a[3], (const float *)a[4], (float *)a[5], a[8], a[9]};
  int M = a[6], K = a[7], N = a[8], m0, m1, lo, hi;
  tiling_t t = make_tiling(M, N, 4 * K);
  tile_of(&t, part, &m0, &m1, &lo, &hi);
  for (int n = lo; n < hi; n += PW) {
    int ncols = hi - n < PW ? hi - n : PW;
    const float *panel = (const float *)a[1] + (size_t)n * K;
    int m = m0;
    for (; m + MR <= m1; m += MR) f32_tile(MR, x + (size_t)m * K, K, panel, PW, &e, m, n, ncols);
    for (; m < m1; m++) f32_tile(1, x + (size_t)m * K, K, panel, PW, &e, m, n, ncols);
  }
}

// f16/q8/q4: parts are groups of panels over all M rows, so each panel is expanded once.
static void matmul_part(const int32_t *a, int part, int nparts, float *scratch, int wtype) {
  const float *x = (const float *)a[0];
  epilogue_t e = {(const float *)a[3], (const float *)a[4], (float *)a[5], a[8], a[9]};
  int K = a[7], N = a[8], lo, hi;
  split_range(N, PW, part, nparts, &lo, &hi);
  float *panel = scratch, *row = panel + (size_t)PW * K;
  for (int n = lo; n < hi; n += PW) {
    int ncols = hi - n < PW ? hi - n : PW;
    expand_panel(wtype, (const void *)a[1], (const float *)a[2], K, n, ncols, panel, row);
    sm_matmul_f32_panel(x, panel, a[6], K, n, ncols, &e);
  }
}

static void part_f16(const int32_t *a, int p, int np, float *s) { matmul_part(a, p, np, s, W_F16); }
static void part_q4(const int32_t *a, int p, int np, float *s) { matmul_part(a, p, np, s, W_Q4); }
static void part_q8(const int32_t *a, int p, int np, float *s) { matmul_part(a, p, np, s, W_Q8); }

static int run(part_fn fn, int32_t x, int32_t w, int32_t scales, int32_t bias, int32_t res, int32_t out,
               int M, int K, int N, int act) {
  if (M < 1 || K < 1 || N < 1 || act < 0 || act > ACT_RELU) return SM_ERR_SHAPE;
  if (fn != part_f32 && 2 * PW * K > SM_SCRATCH_FLOATS) return SM_ERR_SHAPE;   // panel + 8 rows in scratch
  int32_t args[10] = {x, w, scales, bias, res, out, M, K, N, act};
  sm_parallel(fn, args, 10, fn == part_f32 ? make_tiling(M, N, 4 * K).nparts : parts_for(N, PW));
  return SM_OK;
}

// w: panels from pack_f32 / sm_pack_f32
int SM_EXPORT(sm_matmul_f32)(int32_t x, int32_t w, int32_t bias, int32_t res, int32_t out, int M, int K, int N, int act) {
  return run(part_f32, x, w, 0, bias, res, out, M, K, N, act);
}
// w: f16 bits, row-major [N, K], rows padded to an even length (u16 pairs per u32)
int SM_EXPORT(sm_matmul_f16)(int32_t x, int32_t w, int32_t bias, int32_t res, int32_t out, int M, int K, int N, int act) {
  return run(part_f16, x, w, 0, bias, res, out, M, K, N, act);
}
// w: nibbles row-major [N, 4 * ceil(K/32)] u32 (staticml.quant q4); scales [N, ceil(K/32)]
int SM_EXPORT(sm_matmul_q4)(int32_t x, int32_t w, int32_t scales, int32_t bias, int32_t res, int32_t out, int M, int K,
                            int N, int act) {
  return run(part_q4, x, w, scales, bias, res, out, M, K, N, act);
}
// w: int8 row-major [N, K] (rows padded to 4 bytes) + scales [N]; weight-only: x stays f32
// (the accurate q8 path; matmul_q8.c's sm_matmul_q8_dynamic also rounds x to int8).
int SM_EXPORT(sm_matmul_q8)(int32_t x, int32_t w, int32_t scales, int32_t bias, int32_t res, int32_t out, int M, int K,
                            int N, int act) {
  return run(part_q8, x, w, scales, bias, res, out, M, K, N, act);
}

// --- plain batched matmul (attention-style products in model code): out[b] = a[b] @ b[b] or a[b] @ b[b]^T ---
// args: a, b, out, batch, M, K, N, transpose_b, a_batch_stride, b_batch_stride (floats; 0 = broadcast)
static void batched_part(const int32_t *g, int part, int nparts, float *scratch) {
  int batch = g[3], M = g[4], K = g[5], N = g[6], tb = g[7], panels = (N + PW - 1) / PW, lo, hi;
  split_range(batch * panels, 1, part, nparts, &lo, &hi);
  float *panel = scratch, *rows = scratch + (size_t)PW * K;
  for (int job = lo; job < hi; job++) {
    int bi = job / panels, n = (job % panels) * PW, ncols = N - n < PW ? N - n : PW;
    const float *a = (const float *)g[0] + (size_t)bi * g[8];
    const float *b = (const float *)g[1] + (size_t)bi * g[9];
    epilogue_t e = {0, 0, (float *)g[2] + (size_t)bi * M * N, N, ACT_NONE};
    if (!tb) {   // b [K, N]: columns n..n+7 are already a panel with row stride N (loads past N are unused)
      f32_panel(a, b + n, N, M, K, n, ncols, &e);
      continue;
    }
    for (int j = 0; j < PW; j++)   // b [N, K]: rows n..n+7 -> panel [K][8]
      for (int k = 0; k < K; k++) rows[(size_t)j * K + k] = j < ncols ? b[(size_t)(n + j) * K + k] : 0.0f;
    transpose_into_panel(rows, K, panel);
    f32_panel(a, panel, PW, M, K, n, ncols, &e);
  }
}

int SM_EXPORT(sm_matmul_batched)(int32_t a, int32_t b, int32_t out, int batch, int M, int K, int N, int transpose_b,
                                 int a_batch_stride, int b_batch_stride) {
  if (batch < 1 || M < 1 || K < 1 || N < 1 || a_batch_stride < 0 || b_batch_stride < 0) return SM_ERR_SHAPE;
  if (transpose_b && 2 * PW * K > SM_SCRATCH_FLOATS) return SM_ERR_SHAPE;
  int32_t args[10] = {a, b, out, batch, M, K, N, transpose_b, a_batch_stride, b_batch_stride};
  sm_parallel(batched_part, args, 10, parts_for(batch * ((N + PW - 1) / PW), 1));
  return SM_OK;
}
