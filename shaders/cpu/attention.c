// Scaled dot-product attention, fused: per (batch, head), scores = q . k * scale + mask, softmax, then
// the weighted sum of v, without materialising [B, H, T, T]. Threads split (batch, head).
// When the head's K and V fit the thread's scratch (T * D <= ~24k floats), they are copied once into the
// matmul kernel's panel layout and both products run on the register-blocked micro-kernel (matmul.c),
// 64 query rows at a time; otherwise a row-by-row path runs.
// q/k/v rows are strided so the fused QKV projection's output [B, T, 3C] can be read in place.
#include "matmul.h"

#define QB 64   // query rows per block on the matmul path

void sm_softmax_row(const float *x, const float *mask, float *y, int N);

SM_INLINE float dot(const float *a, const float *b, int D) {
  v128_t s = wasm_f32x4_splat(0.0f);
  int d = 0;
  for (; d + 4 <= D; d += 4) s = madd(wasm_v128_load(a + d), wasm_v128_load(b + d), s);
  float t = hsum(s);
  for (; d < D; d++) t += a[d] * b[d];
  return t;
}

// p[j] = q . k[j] * scale for j < nk, four keys at a time (one horizontal reduction per four).
static void scores(const float *qi, const float *kb, int kvs, int D, int nk, float scale, float *p) {
  int D4 = D & ~3, j = 0;
  for (; j + 4 <= nk; j += 4) {
    const float *k0 = kb + (size_t)j * kvs, *k1 = k0 + kvs, *k2 = k1 + kvs, *k3 = k2 + kvs;
    v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < D4; d += 4) {
      v128_t qv = wasm_v128_load(qi + d);
      a0 = madd(qv, wasm_v128_load(k0 + d), a0);
      a1 = madd(qv, wasm_v128_load(k1 + d), a1);
      a2 = madd(qv, wasm_v128_load(k2 + d), a2);
      a3 = madd(qv, wasm_v128_load(k3 + d), a3);
    }
    float t[4] = {0, 0, 0, 0};
    for (int d = D4; d < D; d++) {
      t[0] += qi[d] * k0[d];
      t[1] += qi[d] * k1[d];
      t[2] += qi[d] * k2[d];
      t[3] += qi[d] * k3[d];
    }
    v128_t s = wasm_f32x4_add(hsum4(a0, a1, a2, a3), wasm_v128_load(t));
    wasm_v128_store(p + j, wasm_f32x4_mul(s, wasm_f32x4_splat(scale)));
  }
  for (; j < nk; j++) p[j] = dot(qi, kb + (size_t)j * kvs, D) * scale;
}

SM_INLINE int panel_path_fits(int T, int D) {
  int T8 = (T + 7) & ~7, D8 = (D + 7) & ~7;
  return (size_t)T8 * D + (size_t)D8 * T + (size_t)QB * (D + T) <= SM_SCRATCH_FLOATS;
}

// One (batch, head) on the matmul micro-kernel. q/k/v point at row 0 of this head; out at its column 0.
static void head_by_panels(const float *q, const float *k, const float *v, float *out, const float *mask, int T, int D,
                           int qs, int kvs, int out_stride, int causal, float scale, float *scratch) {
  int T8 = (T + 7) & ~7, D8 = (D + 7) & ~7;
  float *kp = scratch;                        // K as panels [T8/8][D][8]: "W" of S = Q K^T
  float *vp = kp + (size_t)T8 * D;            // V^T as panels [D8/8][T][8]: "W" of O = P V
  float *qc = vp + (size_t)D8 * T;            // [QB][D] query rows times scale
  float *sc = qc + (size_t)QB * D;            // [QB][T] scores, then probabilities
  for (int p = 0; p < T8 / 8; p++)
    for (int d = 0; d < D; d++)
      for (int j = 0; j < 8; j++) {
        int t = 8 * p + j;
        kp[((size_t)p * D + d) * 8 + j] = t < T ? k[(size_t)t * kvs + d] : 0.0f;
      }
  for (int p = 0; p < D8 / 8; p++)
    for (int t = 0; t < T; t++)
      for (int c = 0; c < 8; c++) {
        int d = 8 * p + c;
        vp[((size_t)p * T + t) * 8 + c] = d < D ? v[(size_t)t * kvs + d] : 0.0f;
      }
  for (int i0 = 0; i0 < T; i0 += QB) {
    int qb = T - i0 < QB ? T - i0 : QB;
    for (int i = 0; i < qb; i++)
      for (int d = 0; d < D; d++) qc[(size_t)i * D + d] = q[(size_t)(i0 + i) * qs + d] * scale;
    epilogue_t es = {0, 0, sc, T, ACT_NONE};
    for (int p = 0; p < T8 / 8; p++) sm_matmul_f32_panel(qc, kp + (size_t)p * D * 8, qb, D, 8 * p, T - 8 * p < 8 ? T - 8 * p : 8, &es);
    for (int i = 0; i < qb; i++) {
      int nk = causal ? i0 + i + 1 : T;
      float *row = sc + (size_t)i * T;
      sm_softmax_row(row, mask, row, nk);
      for (int j = nk; j < T; j++) row[j] = 0.0f;
    }
    epilogue_t eo = {0, 0, out + (size_t)i0 * out_stride, out_stride, ACT_NONE};
    for (int p = 0; p < D8 / 8; p++) sm_matmul_f32_panel(sc, vp + (size_t)p * T * 8, qb, T, 8 * p, D - 8 * p < 8 ? D - 8 * p : 8, &eo);
  }
}

// args: q, k, v, out, mask, B, T, H, D, q_stride, kv_stride, causal, scale (bits)
static void attention_part(const int32_t *a, int part, int nparts, float *scratch) {
  const float *q = (const float *)a[0], *k = (const float *)a[1], *v = (const float *)a[2], *mask = (const float *)a[4];
  float *out = (float *)a[3];
  int B = a[5], T = a[6], H = a[7], D = a[8], qs = a[9], kvs = a[10], causal = a[11], lo, hi;
  float scale = i2f(a[12]);
  float *p = scratch;   // T scores (T <= SM_SCRATCH_FLOATS, checked by the caller)
  split_range(B * H, 1, part, nparts, &lo, &hi);
  for (int bh = lo; bh < hi; bh++) {
    int b = bh / H, h = bh % H;
    const float *qb = q + (size_t)b * T * qs + h * D, *kb = k + (size_t)b * T * kvs + h * D;
    const float *vb = v + (size_t)b * T * kvs + h * D;
    if (panel_path_fits(T, D)) {
      head_by_panels(qb, kb, vb, out + (size_t)b * T * H * D + h * D, mask ? mask + (size_t)b * T : 0, T, D, qs, kvs,
                     H * D, causal, scale, scratch);
      continue;
    }
    for (int i = 0; i < T; i++) {
      int nk = causal ? i + 1 : T;   // causal: keys after the query are never seen
      const float *qi = qb + (size_t)i * qs;
      scores(qi, kb, kvs, D, nk, scale, p);
      sm_softmax_row(p, mask ? mask + (size_t)b * T : 0, p, nk);
      float *o = out + ((size_t)b * T + i) * H * D + h * D;
      int d = 0;
      for (; d + 8 <= D; d += 8) {   // o[d:d+8] = sum_j p[j] v[j, d:d+8]
        v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
        for (int j = 0; j < nk; j++) {
          v128_t pj = wasm_f32x4_splat(p[j]);
          s0 = madd(pj, wasm_v128_load(vb + (size_t)j * kvs + d), s0);
          s1 = madd(pj, wasm_v128_load(vb + (size_t)j * kvs + d + 4), s1);
        }
        wasm_v128_store(o + d, s0);
        wasm_v128_store(o + d + 4, s1);
      }
      for (; d < D; d++) {
        float s = 0.0f;
        for (int j = 0; j < nk; j++) s += p[j] * vb[(size_t)j * kvs + d];
        o[d] = s;
      }
    }
  }
}

// out [B, T, H * D]; mask: additive [B, T] over keys, or 0.
int SM_EXPORT(sm_attention)(int32_t q, int32_t k, int32_t v, int32_t out, int32_t mask, int B, int T, int H, int D,
                            int q_stride, int kv_stride, int causal, float scale) {
  if (B < 1 || T < 1 || H < 1 || D < 1 || T > SM_SCRATCH_FLOATS || q_stride < H * D || kv_stride < H * D)
    return SM_ERR_SHAPE;
  int32_t args[13] = {q, k, v, out, mask, B, T, H, D, q_stride, kv_stride, causal, f2i(scale)};
  sm_parallel(attention_part, args, 13, parts_for(B * H, 1));
  return SM_OK;
}
