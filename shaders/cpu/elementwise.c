// Elementwise ops outside a matmul epilogue: an activation (GELU etc.), an add. Threads split the
// vector in 64-element chunks.
#include "common.h"

enum { BIN_ADD = 0, BIN_MUL = 1 };

// args: a, b, out, n, op (b = 0: activation `op` of a; else a + b or a * b)
static void elementwise_part(const int32_t *args, int part, int nparts, float *scratch) {
  const float *a = (const float *)args[0], *b = (const float *)args[1];
  float *out = (float *)args[2];
  int act = args[4], lo, hi;
  split_range(args[3], 64, part, nparts, &lo, &hi);
  int i = lo;
  for (; i + 4 <= hi; i += 4) {
    v128_t v = wasm_v128_load(a + i);
    if (b) v = act == BIN_MUL ? wasm_f32x4_mul(v, wasm_v128_load(b + i)) : wasm_f32x4_add(v, wasm_v128_load(b + i));
    else v = v_act(v, act);
    wasm_v128_store(out + i, v);
  }
  if (i < hi) {
    v128_t v = load_partial(a + i, hi - i);
    if (b) v = act == BIN_MUL ? wasm_f32x4_mul(v, load_partial(b + i, hi - i)) : wasm_f32x4_add(v, load_partial(b + i, hi - i));
    else v = v_act(v, act);
    store_partial(out + i, v, hi - i);
  }
}

int SM_EXPORT(sm_activation)(int32_t x, int32_t out, int n, int act) {
  if (n < 1 || act < 0 || act > ACT_RELU) return SM_ERR_SHAPE;
  int32_t args[5] = {x, 0, out, n, act};
  sm_parallel(elementwise_part, args, 5, parts_for(n, 4096));
  return SM_OK;
}

int SM_EXPORT(sm_binary)(int32_t a, int32_t b, int32_t out, int n, int op) {
  if (n < 1 || !b || op < BIN_ADD || op > BIN_MUL) return SM_ERR_SHAPE;
  int32_t args[5] = {a, b, out, n, op};
  sm_parallel(elementwise_part, args, 5, parts_for(n, 4096));
  return SM_OK;
}

// Rotary position embedding (HF's rotate_half), ops.rotary.reference: for each (b, t, h) and i < R/2,
//   out[i] = x[i] cos[t, i] - x[i + R/2] sin[t, i],  out[i + R/2] = x[i + R/2] cos[t, i] + x[i] sin[t, i],
// dims >= R copied. cos/sin [T, R/2] come from the caller (no libm here). x strided (batch, token, head);
// out [B, T, H, D] contiguous.
int SM_EXPORT(sm_rotary)(const float *x, float *out, const float *cos, const float *sin, int B, int T, int H, int D, int R,
                         int x_sb, int x_st, int x_sh) {
  if (B < 1 || T < 1 || H < 1 || D < 1 || R < 2 || R > D || (R & 1)) return SM_ERR_SHAPE;
  int half = R / 2;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int h = 0; h < H; h++) {
        const float *xi = x + (size_t)b * x_sb + (size_t)t * x_st + (size_t)h * x_sh;
        float *o = out + (((size_t)b * T + t) * H + h) * D;
        const float *c = cos + (size_t)t * half, *s = sin + (size_t)t * half;
        int i = 0;
        for (; i + 4 <= half; i += 4) {
          v128_t x1 = wasm_v128_load(xi + i), x2 = wasm_v128_load(xi + half + i);
          v128_t vc = wasm_v128_load(c + i), vs = wasm_v128_load(s + i);
          wasm_v128_store(o + i, wasm_f32x4_sub(wasm_f32x4_mul(x1, vc), wasm_f32x4_mul(x2, vs)));
          wasm_v128_store(o + half + i, wasm_f32x4_add(wasm_f32x4_mul(x2, vc), wasm_f32x4_mul(x1, vs)));
        }
        for (; i < half; i++) {
          float x1 = xi[i], x2 = xi[half + i];
          o[i] = x1 * c[i] - x2 * s[i];
          o[half + i] = x2 * c[i] + x1 * s[i];
        }
        for (int d = R; d < D; d++) o[d] = xi[d];
      }
  return SM_OK;
}

// Strided copy of 4-byte elements (ops.copy: contiguous views, concat): dst[i0, i1, i2, i3] = src[i0, i1, i2, i3]
// with each side's own strides (in elements). Rank < 4 pads the shape with leading 1s.
int SM_EXPORT(sm_copy)(const float *src, float *dst, int n0, int n1, int n2, int n3, int s0, int s1, int s2, int s3,
                       int d0, int d1, int d2, int d3) {
  if (n0 < 1 || n1 < 1 || n2 < 1 || n3 < 1) return SM_ERR_SHAPE;
  for (int a = 0; a < n0; a++)
    for (int b = 0; b < n1; b++)
      for (int c = 0; c < n2; c++) {
        const float *s = src + (size_t)a * s0 + (size_t)b * s1 + (size_t)c * s2;
        float *d = dst + (size_t)a * d0 + (size_t)b * d1 + (size_t)c * d2;
        if (s3 == 1 && d3 == 1) {
          int i = 0;
          for (; i + 4 <= n3; i += 4) wasm_v128_store(d + i, wasm_v128_load(s + i));
          for (; i < n3; i++) d[i] = s[i];
        } else {
          for (int i = 0; i < n3; i++) d[(size_t)i * d3] = s[(size_t)i * s3];
        }
      }
  return SM_OK;
}
