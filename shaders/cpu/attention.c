// Scaled dot-product attention, fused, with the semantics of staticml.ops.attention.reference:
// q [B, Tq, H, D], k/v [B, Tk, Hkv, D] read through strides (so they can be views into a fused QKV
// projection), GQA (query head h uses k/v head h / (H / Hkv)), key_mask [B, Tk] f32 (1 attend, 0 pad),
// causal: query i sees keys j <= i + (Tk - Tq); a query with no visible key gets zeros.
// out [B, Tq, H, D] contiguous. Threads split (batch, head).
// Scores are kept in base 2: q is multiplied by scale * log2(e), so e^(s - max) is 2^(t - max), which needs
// no range reduction by ln 2 (softmax.c's exp spends two multiply-adds and a compare per vector on it):
// the exponential went from ~26 % to ~15 % of a 248-token head (1 thread, 2026-11-22).
// When a head's K and V fit the thread's scratch, they are copied once into the matmul kernel's panel
// layout and both products (q k^T and p v) run on the register-blocked micro-kernel (matmul.c), 64
// query rows at a time; otherwise a row-by-row path runs.
#include "matmul.h"

#define QB 64   // query rows per block on the matmul path

float sm_row_max(const float *x, float scale, const float *mask, float *y, int N);   // softmax.c

// Constants of exp2_nonpos in memory (vmath.h says why): the clamp, the rounding constant 1.5 * 2^23, and
// 2^f on [-0.5, 0.5] as a degree-5 polynomial, c0 first (relative error 7.5e-8 exact, 2.3e-7 in f32 Horner;
// fitted by tests/native/test_exp2_poly.py, which checks them and, run as a script, prints these lines).
__attribute__((aligned(16))) float sm_exp2_k[][4] = {
  {-127.0f, -127.0f, -127.0f, -127.0f}, {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f},
  {1.0000001192e+00f, 1.0000001192e+00f, 1.0000001192e+00f, 1.0000001192e+00f},
  {6.9314694405e-01f, 6.9314694405e-01f, 6.9314694405e-01f, 6.9314694405e-01f},
  {2.4022120237e-01f, 2.4022120237e-01f, 2.4022120237e-01f, 2.4022120237e-01f},
  {5.5507130921e-02f, 5.5507130921e-02f, 5.5507130921e-02f, 5.5507130921e-02f},
  {9.6755409613e-03f, 9.6755409613e-03f, 9.6755409613e-03f, 9.6755409613e-03f},
  {1.3276471291e-03f, 1.3276471291e-03f, 1.3276471291e-03f, 1.3276471291e-03f}};
// 127 minus the bits of 1.5 * 2^23: added to the bits of (x + 1.5 * 2^23) it gives n + 127
__attribute__((aligned(16))) int32_t sm_exp2_bias[4] = {127 - 0x4B400000, 127 - 0x4B400000, 127 - 0x4B400000,
                                                        127 - 0x4B400000};
enum { E2_LO, E2_MAGIC, E2_POLY, E2_COUNT = E2_POLY + 6 };

// 2^x for x <= 0 (base-2 scores minus their row max). x is clamped at -127, where n = round(x) = -127 makes
// 2^n's bits 0: masked keys (-inf) and anything below 2^-126.5 come out exactly 0 without a compare.
SM_INLINE v128_t exp2_nonpos(v128_t x, const v128_t *c, v128_t bias) {
  x = wasm_f32x4_pmax(x, c[E2_LO]);
  v128_t t = wasm_f32x4_add(x, c[E2_MAGIC]);                      // n + 1.5 * 2^23: n in the low bits
  v128_t f = wasm_f32x4_sub(x, wasm_f32x4_sub(t, c[E2_MAGIC]));   // x - n, in [-0.5, 0.5]
  v128_t p = c[E2_POLY + 5];
  for (int i = 4; i >= 0; i--) p = madd(p, f, c[E2_POLY + i]);
  return wasm_f32x4_mul(p, wasm_i32x4_shl(wasm_i32x4_add(t, bias), 23));   // p * 2^n, 2^n = (n + 127) << 23
}

// y[0:N] = 2^(y + mask - their max) in place, not normalised (mask: 0 or -inf per key, or none); returns the
// sum, 0 for a row with no visible key (which is then all zeros).
static float exp2_row(float *y, const float *mask, int N) {
  float mx = sm_row_max(y, 1.0f, mask, y, N);
  if (mx == -__builtin_inff()) return 0.0f;
  int k;
  v128_t vm = wasm_f32x4_splat(mx), vsum = wasm_f32x4_splat(0.0f), bias = wasm_v128_load(sm_exp2_bias), c[E2_COUNT];
  for (int i = 0; i < E2_COUNT; i++) c[i] = wasm_v128_load(sm_exp2_k[i]);
  for (k = 0; k + 4 <= N; k += 4) {
    v128_t e = exp2_nonpos(wasm_f32x4_sub(wasm_v128_load(y + k), vm), c, bias);
    wasm_v128_store(y + k, e);
    vsum = wasm_f32x4_add(vsum, e);
  }
  float sum = hsum(vsum);
  if (k < N) {
    v128_t e = exp2_nonpos(wasm_f32x4_sub(load_partial(y + k, N - k), vm), c, bias);
    store_partial(y + k, e, N - k);
    for (; k < N; k++) sum += y[k];
  }
  return sum;
}

enum { A_Q, A_K, A_V, A_OUT, A_MASK, A_B, A_TQ, A_TK, A_H, A_HKV, A_D, A_CAUSAL, A_SCALE,
       A_QSB, A_QST, A_QSH, A_KSB, A_KST, A_KSH, A_VSB, A_VST, A_VSH, A_COUNT };

typedef struct {
  const float *q, *k, *v;     // row 0 of this (batch, head)
  float *out;                 // [Tq][out_stride], this head's columns
  const float *addmask;       // [Tk] 0 or -inf, or 0 = all visible
  int Tq, Tk, D, qst, kst, vst, out_stride, causal;
  float scale;                // the op's scale times log2(e): scores in base 2
} head_t;

SM_INLINE float dot(const float *a, const float *b, int D) {
  v128_t s = wasm_f32x4_splat(0.0f);
  int d = 0;
  for (; d + 4 <= D; d += 4) s = madd(wasm_v128_load(a + d), wasm_v128_load(b + d), s);
  float t = hsum(s);
  for (; d < D; d++) t += a[d] * b[d];
  return t;
}

// keys query i may see: all Tk, or the first i + 1 + Tk - Tq (clamped) when causal
SM_INLINE int visible_keys(const head_t *h, int i) {
  if (!h->causal) return h->Tk;
  int n = i + 1 + h->Tk - h->Tq;
  return n < 0 ? 0 : (n > h->Tk ? h->Tk : n);
}

SM_INLINE int panel_path_fits(int Tk, int D) {
  int T8 = (Tk + 7) & ~7, D8 = (D + 7) & ~7;
  return (size_t)T8 * D + (size_t)D8 * Tk + (size_t)QB * (D + Tk) <= SM_SCRATCH_FLOATS - Tk;
}

// p[0:Tk] = 2^(base-2 scores of query row i - their max), zeros past its visible keys; returns 1 / their sum
// (0 when no key is visible), by which the caller scales the output row: D multiplies instead of Tk.
SM_INLINE float probabilities(const head_t *h, int i, float *p) {
  int nk = visible_keys(h, i);
  float sum = nk > 0 ? exp2_row(p, h->addmask, nk) : 0.0f;
  for (int j = nk; j < h->Tk; j++) p[j] = 0.0f;
  return sum > 0.0f ? 1.0f / sum : 0.0f;
}

// row[0:D] *= s
SM_INLINE void scale_row(float *row, int D, float s) {
  v128_t vs = wasm_f32x4_splat(s);
  int d = 0;
  for (; d + 4 <= D; d += 4) wasm_v128_store(row + d, wasm_f32x4_mul(wasm_v128_load(row + d), vs));
  for (; d < D; d++) row[d] *= s;
}

static void head_by_panels(const head_t *h, float *scratch) {
  int Tk = h->Tk, D = h->D, T8 = (Tk + 7) & ~7, D8 = (D + 7) & ~7;
  float *kp = scratch;                        // K as panels [T8/8][D][8]: "W" of S = Q K^T
  float *vp = kp + (size_t)T8 * D;            // V^T as panels [D8/8][Tk][8]: "W" of O = P V
  float *qc = vp + (size_t)D8 * Tk;           // [QB][D] query rows times scale * log2(e)
  float *sc = qc + (size_t)QB * D;            // [QB][Tk] scores (base 2), then 2^(score - max)
  float inv[QB];                              // 1 / sum of each row's exp
  for (int p = 0; p < T8 / 8; p++) {   // 8 keys: [8][D] -> [D][8], two 4x4 transposes per 4 d
    const float *rows[8];
    for (int j = 0; j < 8; j++) rows[j] = 8 * p + j < Tk ? h->k + (size_t)(8 * p + j) * h->kst : 0;
    float *o = kp + (size_t)p * D * 8;
    int d = 0;
    for (; d + 4 <= D; d += 4)
      for (int half = 0; half < 2; half++) {
        v128_t r[4];
        for (int j = 0; j < 4; j++) {
          const float *row = rows[4 * half + j];
          r[j] = row ? wasm_v128_load(row + d) : wasm_f32x4_splat(0.0f);
        }
        v128_t ab0 = wasm_i32x4_shuffle(r[0], r[1], 0, 4, 1, 5), ab1 = wasm_i32x4_shuffle(r[0], r[1], 2, 6, 3, 7);
        v128_t cd0 = wasm_i32x4_shuffle(r[2], r[3], 0, 4, 1, 5), cd1 = wasm_i32x4_shuffle(r[2], r[3], 2, 6, 3, 7);
        float *od = o + (size_t)d * 8 + 4 * half;
        wasm_v128_store(od, wasm_i32x4_shuffle(ab0, cd0, 0, 1, 4, 5));
        wasm_v128_store(od + 8, wasm_i32x4_shuffle(ab0, cd0, 2, 3, 6, 7));
        wasm_v128_store(od + 16, wasm_i32x4_shuffle(ab1, cd1, 0, 1, 4, 5));
        wasm_v128_store(od + 24, wasm_i32x4_shuffle(ab1, cd1, 2, 3, 6, 7));
      }
    for (; d < D; d++)
      for (int j = 0; j < 8; j++) o[(size_t)d * 8 + j] = rows[j] ? rows[j][d] : 0.0f;
  }
  for (int p = 0; p < D8 / 8; p++) {   // columns 8p..8p+7 of V, row by row
    int c = D - 8 * p < 8 ? D - 8 * p : 8;
    for (int t = 0; t < Tk; t++) {
      const float *row = h->v + (size_t)t * h->vst + 8 * p;
      float *o = vp + ((size_t)p * Tk + t) * 8;
      if (c == 8) {
        wasm_v128_store(o, wasm_v128_load(row));
        wasm_v128_store(o + 4, wasm_v128_load(row + 4));
      } else {
        for (int j = 0; j < 8; j++) o[j] = j < c ? row[j] : 0.0f;
      }
    }
  }
  for (int i0 = 0; i0 < h->Tq; i0 += QB) {
    int qb = h->Tq - i0 < QB ? h->Tq - i0 : QB;
    v128_t vscale = wasm_f32x4_splat(h->scale);
    for (int i = 0; i < qb; i++) {
      const float *qi = h->q + (size_t)(i0 + i) * h->qst;
      float *o = qc + (size_t)i * D;
      int d = 0;
      for (; d + 4 <= D; d += 4) wasm_v128_store(o + d, wasm_f32x4_mul(wasm_v128_load(qi + d), vscale));
      for (; d < D; d++) o[d] = qi[d] * h->scale;
    }
    epilogue_t es = {0, 0, sc, Tk, ACT_NONE};
    for (int p = 0; p < T8 / 8; p++) {
      int ncols = Tk - 8 * p < 8 ? Tk - 8 * p : 8;
      if (D == 32)   // the common head size as a constant: the k loop of the micro-kernel unrolls
        f32_panel(qc, kp + (size_t)p * 32 * 8, 8, qb, 32, 8 * p, ncols, &es);
      else
        f32_panel(qc, kp + (size_t)p * D * 8, 8, qb, D, 8 * p, ncols, &es);
    }
    for (int i = 0; i < qb; i++) inv[i] = probabilities(h, i0 + i, sc + (size_t)i * Tk);
    float *out = h->out + (size_t)i0 * h->out_stride;
    epilogue_t eo = {0, 0, out, h->out_stride, ACT_NONE};
    for (int p = 0; p < D8 / 8; p++)
      f32_panel(sc, vp + (size_t)p * Tk * 8, 8, qb, Tk, 8 * p, D - 8 * p < 8 ? D - 8 * p : 8, &eo);
    for (int i = 0; i < qb; i++) scale_row(out + (size_t)i * h->out_stride, D, inv[i]);
  }
}

static void head_by_rows(const head_t *h, float *p) {
  int D = h->D;
  for (int i = 0; i < h->Tq; i++) {
    const float *qi = h->q + (size_t)i * h->qst;
    int nk = visible_keys(h, i);
    for (int j = 0; j < nk; j++) p[j] = dot(qi, h->k + (size_t)j * h->kst, D) * h->scale;
    float inv = probabilities(h, i, p);
    for (int j = 0; j < nk; j++) p[j] *= inv;
    float *o = h->out + (size_t)i * h->out_stride;
    int d = 0;
    for (; d + 8 <= D; d += 8) {   // o[d:d+8] = sum_j p[j] v[j, d:d+8]
      v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
      for (int j = 0; j < nk; j++) {
        v128_t pj = wasm_f32x4_splat(p[j]);
        s0 = madd(pj, wasm_v128_load(h->v + (size_t)j * h->vst + d), s0);
        s1 = madd(pj, wasm_v128_load(h->v + (size_t)j * h->vst + d + 4), s1);
      }
      wasm_v128_store(o + d, s0);
      wasm_v128_store(o + d + 4, s1);
    }
    for (; d < D; d++) {
      float s = 0.0f;
      for (int j = 0; j < nk; j++) s += p[j] * h->v[(size_t)j * h->vst + d];
      o[d] = s;
    }
  }
}

static void attention_part(const int32_t *a, int part, int nparts, float *scratch) {
  int B = a[A_B], H = a[A_H], lo, hi, group = a[A_H] / a[A_HKV], Tk = a[A_TK];
  const float *key_mask = (const float *)a[A_MASK];
  float *addmask = scratch + SM_SCRATCH_FLOATS - Tk;   // the last Tk floats of the scratch
  split_range(B * H, 1, part, nparts, &lo, &hi);
  int mask_b = -1;
  const float *row_mask = 0;
  for (int bh = lo; bh < hi; bh++) {
    int b = bh / H, hd = bh % H, g = hd / group;
    if (key_mask && b != mask_b) {   // 1/0 -> 0/-inf, once per batch row; none when every key is visible
      int hidden = 0;
      for (int j = 0; j < Tk; j++) {
        addmask[j] = key_mask[(size_t)b * Tk + j] != 0.0f ? 0.0f : -__builtin_inff();
        hidden |= addmask[j] != 0.0f;
      }
      mask_b = b;
      row_mask = hidden ? addmask : 0;
    }
    head_t h = {(const float *)a[A_Q] + (size_t)b * a[A_QSB] + (size_t)hd * a[A_QSH],
                (const float *)a[A_K] + (size_t)b * a[A_KSB] + (size_t)g * a[A_KSH],
                (const float *)a[A_V] + (size_t)b * a[A_VSB] + (size_t)g * a[A_VSH],
                (float *)a[A_OUT] + (size_t)b * a[A_TQ] * H * a[A_D] + (size_t)hd * a[A_D],
                row_mask, a[A_TQ], Tk, a[A_D], a[A_QST], a[A_KST], a[A_VST], H * a[A_D],
                a[A_CAUSAL], i2f(a[A_SCALE]) * 1.44269504088896341f};
    if (panel_path_fits(Tk, h.D)) head_by_panels(&h, scratch);
    else head_by_rows(&h, scratch);
  }
}

// Strides are in floats. out [B, Tq, H, D].
int SM_EXPORT(sm_attention)(int32_t q, int32_t k, int32_t v, int32_t out, int32_t key_mask, int B, int Tq, int Tk,
                            int H, int Hkv, int D, int causal, float scale, int q_sb, int q_st, int q_sh, int k_sb,
                            int k_st, int k_sh, int v_sb, int v_st, int v_sh) {
  if (B < 1 || Tq < 1 || Tk < 1 || H < 1 || Hkv < 1 || H % Hkv || D < 1 || 2 * Tk > SM_SCRATCH_FLOATS) return SM_ERR_SHAPE;
  int32_t args[A_COUNT] = {q, k, v, out, key_mask, B, Tq, Tk, H, Hkv, D, causal, f2i(scale),
                           q_sb, q_st, q_sh, k_sb, k_st, k_sh, v_sb, v_st, v_sh};
  sm_parallel(attention_part, args, A_COUNT, parts_for(B * H, 1));
  return SM_OK;
}
