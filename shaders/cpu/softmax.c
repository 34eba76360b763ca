// Softmax over the last axis with an optional additive mask; shared with attention.c.
#include "common.h"

// y[0:N] = softmax(x[0:N] * scale + mask[0:N]); a row that is entirely -inf gives zeros (not NaN).
void sm_softmax_row_scaled(const float *x, float scale, const float *mask, float *y, int N) {
  v128_t vscale = wasm_f32x4_splat(scale);
  v128_t vmax = wasm_f32x4_splat(-__builtin_inff());
  int k = 0;
  for (; k + 4 <= N; k += 4) {
    v128_t v = wasm_f32x4_mul(wasm_v128_load(x + k), vscale);
    if (mask) v = wasm_f32x4_add(v, wasm_v128_load(mask + k));
    wasm_v128_store(y + k, v);
    vmax = wasm_f32x4_pmax(vmax, v);
  }
  float mx = hmax(vmax);
  for (; k < N; k++) {
    y[k] = x[k] * scale + (mask ? mask[k] : 0.0f);
    mx = y[k] > mx ? y[k] : mx;
  }
  if (mx == -__builtin_inff()) {
    for (k = 0; k < N; k++) y[k] = 0.0f;
    return;
  }
  v128_t vm = wasm_f32x4_splat(mx), vsum = wasm_f32x4_splat(0.0f);
  for (k = 0; k + 4 <= N; k += 4) {
    v128_t e = v_exp(wasm_f32x4_sub(wasm_v128_load(y + k), vm));
    wasm_v128_store(y + k, e);
    vsum = wasm_f32x4_add(vsum, e);
  }
  float sum = hsum(vsum);
  for (; k < N; k++) {
    y[k] = s_exp(y[k] - mx);
    sum += y[k];
  }
  v128_t inv = wasm_f32x4_splat(1.0f / sum);
  for (k = 0; k + 4 <= N; k += 4) wasm_v128_store(y + k, wasm_f32x4_mul(wasm_v128_load(y + k), inv));
  for (; k < N; k++) y[k] *= 1.0f / sum;
}

void sm_softmax_row(const float *x, const float *mask, float *y, int N) { sm_softmax_row_scaled(x, 1.0f, mask, y, N); }

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
