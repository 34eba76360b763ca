// Shared by the matmul files: the fused epilogue and the f32 panel driver.
#pragma once
#include "vmath.h"

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
    if (e->act == ACT_GELU_ERF) v = gelu_erf(v);   // inlined: see vmath.h
    else if (e->act) v = v_act(v, e->act);
    if (e->res) v = wasm_f32x4_add(v, wasm_v128_load(e->res + at));
    wasm_v128_store(e->out + at, v);
  } else {
    if (e->bias) v = wasm_f32x4_add(v, load_partial(e->bias + n, nr));
    if (e->act == ACT_GELU_ERF) v = gelu_erf(v);
    else if (e->act) v = v_act(v, e->act);
    if (e->res) v = wasm_f32x4_add(v, load_partial(e->res + at, nr));
    store_partial(e->out + at, v, nr);
  }
}

// epilogue_store of a tile's rows m .. m+mr-1 (v[i][0]: columns n..n+3, v[i][1]: n+4..n+7; ncols of them), not
// inlined: for kernels whose K loop makes a call per tile free, so that each inlined copy of the kernel does
// not carry its own GELU (the .wasm stays small). In matmul.c.
void sm_epilogue_tile(v128_t v[][2], int mr, const epilogue_t *e, int m, int n, int ncols);

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

// K rounded up to 8: the row length of the q8p / q8x7 panels and of x rounded to integers (matmul_q8*.c)
SM_INLINE int kpad8(int K) { return (K + 7) & ~7; }

#define F32_MR 4   // rows of x per f32 micro-kernel
#define F32_PW 8   // columns per panel

// The f32 micro-kernel (an outer product): out[m:m+mr, n:n+ncols] = epilogue(x[m:m+mr, :] @ panel),
// panel = wp[K][ldp] (8 columns used). One pointer per row of x, each splat once per k and used for both
// halves of the panel row. Inlined where it is used: V8 runs it ~7 % slower behind a call.
SM_INLINE void f32_tile(int mr, const float *x, int K, const float *wp, int ldp, const epilogue_t *e, int m, int n,
                        int ncols) {
  v128_t acc[F32_MR][2];
  const float *xr[F32_MR];
  for (int i = 0; i < F32_MR; i++) {
    acc[i][0] = acc[i][1] = wasm_f32x4_splat(0.0f);
    xr[i] = x + (size_t)(i < mr ? i : 0) * K;
  }
  for (int k = 0; k < K; k++, wp += ldp) {
    v128_t w0 = wasm_v128_load(wp), w1 = wasm_v128_load(wp + 4), xv[F32_MR];
    for (int i = 0; i < mr; i++) {
      xv[i] = wasm_v128_load32_splat(xr[i]++);
      acc[i][0] = madd(xv[i], w0, acc[i][0]);
    }
    for (int i = 0; i < mr; i++) acc[i][1] = madd(xv[i], w1, acc[i][1]);
  }
  for (int i = 0; i < mr; i++) {
    epilogue_store(acc[i][0], e, m + i, n, ncols < 4 ? ncols : 4);
    if (ncols > 4) epilogue_store(acc[i][1], e, m + i, n + 4, ncols - 4);
  }
}

// One panel (output columns n .. n+ncols, ncols <= 8, row stride ldp) for all M rows: the panel stays in L1.
SM_INLINE void f32_panel(const float *x, const float *panel, int ldp, int M, int K, int n, int ncols, const epilogue_t *e) {
  int m = 0;
  for (; m + F32_MR <= M; m += F32_MR) f32_tile(F32_MR, x + (size_t)m * K, K, panel, ldp, e, m, n, ncols);
  for (; m < M; m++) f32_tile(1, x + (size_t)m * K, K, panel, ldp, e, m, n, ncols);
}

// The same, not inlined (for callers that run it rarely); panel: [K][8] f32.
void sm_matmul_f32_panel(const float *x, const float *panel, int M, int K, int n, int ncols, const epilogue_t *e);
