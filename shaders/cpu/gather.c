// Embedding lookup (word row + position row + token-type row), masked mean pooling, argmax.
#include "common.h"

enum { EMB_F32 = 0, EMB_F16 = 1, EMB_Q8 = 2 };

static float half_to_float_scalar(uint16_t h) {
  uint32_t mag = (uint32_t)(h & 0x7fff) << 13;
  float f = i2f((int32_t)mag) * 5.192296858534828e+33f;   // 2^112, see matmul.c
  if (mag >= 0x0f800000) f = i2f((int32_t)(mag | 0x70000000));
  return i2f(f2i(f) | ((int32_t)(h & 0x8000) << 16));
}

// out[b, s, :] = word[ids[b, s]] + pos[pos_offset + s] + type[type_ids[b, s]]  (pos, type, type_ids may be 0)
// word rows: f32, f16 (row stride C rounded up to 2) or q8 (int8, stride C rounded up to 4, scale per row).
int SM_EXPORT(sm_embedding)(const int32_t *ids, const int32_t *type_ids, const void *word, const float *pos,
                            const float *type, float *out, int B, int S, int C, int V, int dtype, const float *scales,
                            int pos_offset) {
  if (B < 1 || S < 1 || C < 1 || V < 1 || dtype < EMB_F32 || dtype > EMB_Q8 || (dtype == EMB_Q8 && !scales) ||
      pos_offset < 0)
    return SM_ERR_SHAPE;
  for (int t = 0; t < B * S; t++)
    if (ids[t] < 0 || ids[t] >= V) return SM_ERR_INDEX;
  for (int t = 0; t < B * S; t++) {
    float *o = out + (size_t)t * C;
    int id = ids[t], s = pos_offset + t % S;
    if (dtype == EMB_F32) {
      const float *row = (const float *)word + (size_t)id * C;
      for (int c = 0; c < C; c++) o[c] = row[c];
    } else if (dtype == EMB_F16) {
      const uint16_t *row = (const uint16_t *)word + (size_t)id * ((C + 1) & ~1);
      for (int c = 0; c < C; c++) o[c] = half_to_float_scalar(row[c]);
    } else {
      const int8_t *row = (const int8_t *)word + (size_t)id * ((C + 3) & ~3);
      for (int c = 0; c < C; c++) o[c] = (float)row[c] * scales[id];
    }
    if (pos)
      for (int c = 0; c < C; c++) o[c] += pos[(size_t)s * C + c];
    if (type) {
      const float *row = type + (size_t)(type_ids ? type_ids[t] : 0) * C;
      for (int c = 0; c < C; c++) o[c] += row[c];
    }
  }
  return SM_OK;
}

// out[b, :] = sum_s mask[b, s] x[b, s, :] / max(sum_s mask[b, s], 1e-9)   (sentence-transformers' mean)
int SM_EXPORT(sm_mean_pool)(const float *x, const float *mask, float *out, int B, int S, int C) {
  if (B < 1 || S < 1 || C < 1) return SM_ERR_SHAPE;
  for (int b = 0; b < B; b++) {
    float *o = out + (size_t)b * C, total = 0.0f;
    for (int c = 0; c < C; c++) o[c] = 0.0f;
    for (int s = 0; s < S; s++) {
      float w = mask ? mask[(size_t)b * S + s] : 1.0f;
      if (w == 0.0f) continue;
      total += w;
      const float *row = x + ((size_t)b * S + s) * C;
      v128_t vw = wasm_f32x4_splat(w);
      int c = 0;
      for (; c + 4 <= C; c += 4) wasm_v128_store(o + c, madd(vw, wasm_v128_load(row + c), wasm_v128_load(o + c)));
      for (; c < C; c++) o[c] += w * row[c];
    }
    float inv = 1.0f / (total > 1e-9f ? total : 1e-9f);
    for (int c = 0; c < C; c++) o[c] *= inv;
  }
  return SM_OK;
}

// out[m] = the first index of the largest x[m, :] (numpy's argmax)
int SM_EXPORT(sm_argmax)(const float *x, int32_t *out, int M, int N) {
  if (M < 1 || N < 1) return SM_ERR_SHAPE;
  for (int m = 0; m < M; m++) {
    const float *row = x + (size_t)m * N;
    int best = 0;
    for (int n = 1; n < N; n++)
      if (row[n] > row[best]) best = n;
    out[m] = best;
  }
  return SM_OK;
}
