// Elementwise ops outside a matmul epilogue: an activation (GELU etc.), an add. Threads split the
// vector in 64-element chunks.
#include "common.h"

// args: a, b, out, n, act (b = 0: activation of a; else a + b)
static void elementwise_part(const int32_t *args, int part, int nparts, float *scratch) {
  const float *a = (const float *)args[0], *b = (const float *)args[1];
  float *out = (float *)args[2];
  int act = args[4], lo, hi;
  split_range(args[3], 64, part, nparts, &lo, &hi);
  int i = lo;
  for (; i + 4 <= hi; i += 4) {
    v128_t v = wasm_v128_load(a + i);
    v = b ? wasm_f32x4_add(v, wasm_v128_load(b + i)) : v_act(v, act);
    wasm_v128_store(out + i, v);
  }
  if (i < hi) {
    v128_t v = load_partial(a + i, hi - i);
    v = b ? wasm_f32x4_add(v, load_partial(b + i, hi - i)) : v_act(v, act);
    store_partial(out + i, v, hi - i);
  }
}

int SM_EXPORT(sm_activation)(int32_t x, int32_t out, int n, int act) {
  if (n < 1 || act < 0 || act > ACT_RELU) return SM_ERR_SHAPE;
  int32_t args[5] = {x, 0, out, n, act};
  sm_parallel(elementwise_part, args, 5, parts_for(n, 4096));
  return SM_OK;
}

int SM_EXPORT(sm_add)(int32_t a, int32_t b, int32_t out, int n) {
  if (n < 1 || !b) return SM_ERR_SHAPE;
  int32_t args[5] = {a, b, out, n, 0};
  sm_parallel(elementwise_part, args, 5, parts_for(n, 4096));
  return SM_OK;
}
