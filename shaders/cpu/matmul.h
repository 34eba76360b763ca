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

// Linear layers with packed weights split their output into tiles: a block of rows, sized so that its
// part of x (row_bytes per row) stays in L2 (~192 KiB of the 512 KiB) while each panel of a group of
// 8-column panels passes over it (the panel stays in L1). x is then read from memory once per group
// instead of once per panel: ~10 % at M = 512 (batch 32). At most 64 tiles unless M needs more blocks.
typedef struct { int M, N, rows, groups, nparts; } tiling_t;

SM_INLINE tiling_t make_tiling(int M, int N, int row_bytes) {
  int rows = (196608 / row_bytes) & ~3, panels = (N + 7) / 8;
  if (rows < 4) rows = 4;
  if (rows > M) rows = M;
  int blocks = (M + rows - 1) / rows, groups = 64 / blocks;
  if (groups < 2) groups = 2;
  if (groups > panels) groups = panels;
  tiling_t t = {M, N, rows, groups, blocks * groups};
  return t;
}

// rows [*m0, *m1) x columns [*n0, *n1) (whole panels) of tile `part`
SM_INLINE void tile_of(const tiling_t *t, int part, int *m0, int *m1, int *n0, int *n1) {
  int b = part / t->groups;
  *m0 = b * t->rows;
  *m1 = *m0 + t->rows < t->M ? *m0 + t->rows : t->M;
  split_range(t->N, 8, part % t->groups, t->groups, n0, n1);
}

// One panel of 8 output columns (n .. n+ncols) for all M rows; panel: [K][8] f32.
void sm_matmul_f32_panel(const float *x, const float *panel, int M, int K, int n, int ncols, const epilogue_t *e);
