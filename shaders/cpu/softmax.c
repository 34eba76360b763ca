// Softmax over the last axis with an optional additive mask; the row max is shared with attention.c (which
// has its own base-2 exponential).
#include "common.h"

// Constants of exp_nonpos, loaded once per row (V8 rebuilds a v128.const at every use).
__attribute__((aligned(16))) float sm_softmax_k[][4] = {
  {-87.33654475f, -87.33654475f, -87.33654475f, -87.33654475f}, {1.44269504089f, 1.44269504089f, 1.44269504089f, 1.44269504089f},
  {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f}, {-0.693359375f, -0.693359375f, -0.693359375f, -0.693359375f},
  {2.12194440e-4f, 2.12194440e-4f, 2.12194440e-4f, 2.12194440e-4f}, {1.9875691500E-4f, 1.9875691500E-4f, 1.9875691500E-4f, 1.9875691500E-4f},
  {1.3981999507E-3f, 1.3981999507E-3f, 1.3981999507E-3f, 1.3981999507E-3f}, {8.3334519073E-3f, 8.3334519073E-3f, 8.3334519073E-3f, 8.3334519073E-3f},
  {4.1665795894E-2f, 4.1665795894E-2f, 4.1665795894E-2f, 4.1665795894E-2f}, {1.6666665459E-1f, 1.6666665459E-1f, 1.6666665459E-1f, 1.6666665459E-1f},
  {5.0000001201E-1f, 5.0000001201E-1f, 5.0000001201E-1f, 5.0000001201E-1f}, {1.0f, 1.0f, 1.0f, 1.0f}};
enum { EK_LO, EK_LOG2E, EK_MAGIC, EK_LN2_HI, EK_LN2_LO, EK_POLY, EK_ONE = EK_POLY + 6, EK_COUNT };

// e^x for x <= 0 (scores minus their row max), inlined into the row loop: v_exp's overflow guard and
// two-step 2^n are not needed here (x >= -87.3 gives n >= -126, a normal 2^n), and x < -87.3 (masked
// keys: -inf) gives 0. Same Cephes polynomial as v_exp (~2 ulp).
SM_INLINE v128_t exp_nonpos(v128_t x, const v128_t *c) {
  v128_t dead = wasm_f32x4_lt(x, c[EK_LO]);
  x = wasm_f32x4_pmax(x, c[EK_LO]);
  v128_t t = wasm_f32x4_add(wasm_f32x4_mul(x, c[EK_LOG2E]), c[EK_MAGIC]);   // n + 1.5 * 2^23: n in the low bits
  v128_t n = wasm_f32x4_sub(t, c[EK_MAGIC]);
  v128_t r = madd(n, c[EK_LN2_HI], x);   // x - n ln2, ln2 in two parts
  r = madd(n, c[EK_LN2_LO], r);
  v128_t p = c[EK_POLY];
  for (int i = 1; i < 6; i++) p = madd(p, r, c[EK_POLY + i]);
  p = madd(p, wasm_f32x4_mul(r, r), wasm_f32x4_add(r, c[EK_ONE]));
  v128_t pow2n = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(t, c[EK_MAGIC]), wasm_i32x4_splat(127)), 23);
  return wasm_v128_andnot(wasm_f32x4_mul(p, pow2n), dead);
}

// y[0:N] = x[0:N] * scale + mask[0:N]; returns their max (-inf for a row that is entirely -inf, whose y is then
// all zeros). Unscaled, unmasked rows in place skip the stores: one read. Shared with attention.c.
float sm_row_max(const float *x, float scale, const float *mask, float *y, int N) {
  v128_t vmax = wasm_f32x4_splat(-__builtin_inff());
  int k = 0, transform = mask || scale != 1.0f || x != y;
  if (transform) {
    v128_t vscale = wasm_f32x4_splat(scale);
    for (; k + 4 <= N; k += 4) {
      v128_t v = wasm_f32x4_mul(wasm_v128_load(x + k), vscale);
      if (mask) v = wasm_f32x4_add(v, wasm_v128_load(mask + k));
      wasm_v128_store(y + k, v);
      vmax = wasm_f32x4_pmax(vmax, v);
    }
  } else {
    for (; k + 4 <= N; k += 4) vmax = wasm_f32x4_pmax(vmax, wasm_v128_load(y + k));
  }
  float mx = hmax(vmax);
  for (; k < N; k++) {
    if (transform) y[k] = x[k] * scale + (mask ? mask[k] : 0.0f);
    mx = y[k] > mx ? y[k] : mx;
  }
  if (mx == -__builtin_inff())
    for (k = 0; k < N; k++) y[k] = 0.0f;
  return mx;
}

// y[0:N] = exp(x[0:N] * scale + mask[0:N] - their max), not normalised; returns the sum (0 for a row that is
// entirely -inf, whose y is then all zeros).
static float sm_exp_row(const float *x, float scale, const float *mask, float *y, int N) {
  float mx = sm_row_max(x, scale, mask, y, N);
  if (mx == -__builtin_inff()) return 0.0f;
  int k;
  v128_t vm = wasm_f32x4_splat(mx), vsum = wasm_f32x4_splat(0.0f);
  v128_t c[EK_COUNT];
  for (int i = 0; i < EK_COUNT; i++) c[i] = wasm_v128_load(sm_softmax_k[i]);
  for (k = 0; k + 4 <= N; k += 4) {
    v128_t e = exp_nonpos(wasm_f32x4_sub(wasm_v128_load(y + k), vm), c);
    wasm_v128_store(y + k, e);
    vsum = wasm_f32x4_add(vsum, e);
  }
  float sum = hsum(vsum);
  if (k < N) {
    v128_t e = exp_nonpos(wasm_f32x4_sub(load_partial(y + k, N - k), vm), c);
    store_partial(y + k, e, N - k);
    for (; k < N; k++) sum += y[k];
  }
  return sum;
}

// y[0:N] = softmax(x[0:N] * scale + mask[0:N]); a row that is entirely -inf gives zeros (not NaN).
void sm_softmax_row_scaled(const float *x, float scale, const float *mask, float *y, int N) {
  float sum = sm_exp_row(x, scale, mask, y, N);
  if (sum == 0.0f) return;
  v128_t inv = wasm_f32x4_splat(1.0f / sum);
  int k = 0;
  for (; k + 4 <= N; k += 4) wasm_v128_store(y + k, wasm_f32x4_mul(wasm_v128_load(y + k), inv));
  for (; k < N; k++) y[k] *= 1.0f / sum;
}


// args: x, mask, out, M, N, mask_period, scale (bits)
static void softmax_part(const int32_t *a, int part, int nparts, float *scratch) {
  const float *x = (const float *)a[0], *mask = (const float *)a[1];
  float *out = (float *)a[2];
  int N = a[4], period = a[5], lo, hi;
  float scale = i2f(a[6]);
  split_range(a[3], 1, part, nparts, &lo, &hi);
  for (int m = lo; m < hi; m++)
    sm_softmax_row_scaled(x + (size_t)m * N, scale, mask ? mask + (size_t)(m / period) * N : 0, out + (size_t)m * N, N);
}

// softmax(x * scale + mask); row m uses mask row m / mask_period (scores [B, H, T, T], mask [B, T]: H * T).
int SM_EXPORT(sm_softmax)(int32_t x, int32_t mask, int32_t out, int M, int N, int mask_period, float scale) {
  if (M < 1 || N < 1 || (mask && mask_period < 1)) return SM_ERR_SHAPE;
  int32_t args[7] = {x, mask, out, M, N, mask_period, f2i(scale)};
  sm_parallel(softmax_part, args, 7, parts_for(M, 4));
  return SM_OK;
}
