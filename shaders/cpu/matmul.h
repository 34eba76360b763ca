// Shared by the matmul files: the fused epilogue and the f32 panel driver.
#pragma once
#include "common.h"

// out[m, n] = act(acc + bias[n]) + res[m, n]; bias and res may be 0 (absent).
typedef struct {
  const float *bias;
  const float *res;
  float *out;
  int N;
  int act;
} epilogue_t;

SM_INLINE void epilogue_store(v128_t v, const epilogue_t *e, int m, int n, int nr) {
  size_t at = (size_t)m * e->N + n;
  if (nr == 4) {
    if (e->bias) v = wasm_f32x4_add(v, wasm_v128_load(e->bias + n));
    if (e->act) v = v_act(v, e->act);
    if (e->res) v = wasm_f32x4_add(v, wasm_v128_load(e->res + at));
    wasm_v128_store(e->out + at, v);
  } else {
    if (e->bias) v = wasm_f32x4_add(v, load_partial(e->bias + n, nr));
    if (e->act) v = v_act(v, e->act);
    if (e->res) v = wasm_f32x4_add(v, load_partial(e->res + at, nr));
    store_partial(e->out + at, v, nr);
  }
}

// One panel of 8 output columns (n .. n+ncols) for all M rows; panel: [K][8] f32.
void sm_matmul_f32_panel(const float *x, const float *panel, int M, int K, int n, int ncols, const epilogue_t *e);
