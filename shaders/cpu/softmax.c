// Softmax over the last axis with an optional additive mask; shared with attention.c.
#include "common.h"

// y[0:N] = softmax(x[0:N] + mask[0:N]); a row that is entirely -inf gives zeros (not NaN).
void sm_softmax_row(const float *x, const float *mask, float *y, int N) {
  v128_t vmax = wasm_f32x4_splat(-__builtin_inff());
  int k = 0;
  for (; k + 4 <= N; k += 4) {
    v128_t v = wasm_v128_load(x + k);
    if (mask) v = wasm_f32x4_add(v, wasm_v128_load(mask + k));
    wasm_v128_store(y + k, v);
    vmax = wasm_f32x4_pmax(vmax, v);
  }
  float mx = hmax(vmax);
  for (; k < N; k++) {
    y[k] = x[k] + (mask ? mask[k] : 0.0f);
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

// args: x, mask, out, M, N, mask_period
static void softmax_part(const int32_t *a, int part, int nparts, float *scratch) {
  const float *x = (const float *)a[0], *mask = (const float *)a[1];
  float *out = (float *)a[2];
  int N = a[4], period = a[5], lo, hi;
  split_range(a[3], 1, part, nparts, &lo, &hi);
  for (int m = lo; m < hi; m++)
    sm_softmax_row(x + (size_t)m * N, mask ? mask + (size_t)(m / period) * N : 0, out + (size_t)m * N, N);
}

// Row m uses mask row m / mask_period (e.g. scores [B, H, T, T] with a mask [B, T]: period H * T).
int SM_EXPORT(sm_softmax)(int32_t x, int32_t mask, int32_t out, int M, int N, int mask_period) {
  if (M < 1 || N < 1 || (mask && mask_period < 1)) return SM_ERR_SHAPE;
  int32_t args[6] = {x, mask, out, M, N, mask_period};
  sm_parallel(softmax_part, args, 6, parts_for(M, 4));
  return SM_OK;
}
