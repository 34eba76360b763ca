// Vector exp/erf/tanh and the fused activations. Accuracy (|error| vs float64, measured by
// tests/browser/test_cpu_kernels.py): exp ~2 ulp, erf 1.5e-7 absolute (Abramowitz & Stegun 7.1.26).
#include "common.h"

// exp(x): x = n*ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial (Cephes expf), times 2^n.
v128_t v_exp(v128_t x) {
  const v128_t hi = wasm_f32x4_splat(88.3762626647949f), lo = wasm_f32x4_splat(-87.3365447505531f);
  v128_t underflow = wasm_f32x4_lt(x, lo);
  x = wasm_f32x4_min(wasm_f32x4_max(x, lo), hi);
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500E-4f);
  p = madd(p, x, wasm_f32x4_splat(1.3981999507E-3f));
  p = madd(p, x, wasm_f32x4_splat(8.3334519073E-3f));
  p = madd(p, x, wasm_f32x4_splat(4.1665795894E-2f));
  p = madd(p, x, wasm_f32x4_splat(1.6666665459E-1f));
  p = madd(p, x, wasm_f32x4_splat(5.0000001201E-1f));
  p = madd(p, wasm_f32x4_mul(x, x), wasm_f32x4_add(x, wasm_f32x4_splat(1.0f)));
  // 2^n: n in [-127, 128]; build it in two halves so n = 128 (x near the top clamp) stays finite
  v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
  v128_t half = wasm_i32x4_shr(ni, 1);
  v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(half, wasm_i32x4_splat(127)), 23);
  v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(ni, half), wasm_i32x4_splat(127)), 23);
  p = wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  return wasm_v128_andnot(p, underflow);   // e^x below ~1e-38 is 0 (masked softmax entries)
}

float s_exp(float x) { return wasm_f32x4_extract_lane(v_exp(wasm_f32x4_splat(x)), 0); }

static v128_t v_erf(v128_t x) {
  v128_t sign = wasm_v128_and(x, wasm_i32x4_splat((int32_t)0x80000000));
  v128_t a = wasm_f32x4_abs(x);
  v128_t t = wasm_f32x4_div(wasm_f32x4_splat(1.0f), madd(a, wasm_f32x4_splat(0.3275911f), wasm_f32x4_splat(1.0f)));
  v128_t p = wasm_f32x4_splat(1.061405429f);
  p = madd(p, t, wasm_f32x4_splat(-1.453152027f));
  p = madd(p, t, wasm_f32x4_splat(1.421413741f));
  p = madd(p, t, wasm_f32x4_splat(-0.284496736f));
  p = madd(p, t, wasm_f32x4_splat(0.254829592f));
  p = wasm_f32x4_mul(p, t);
  v128_t e = v_exp(wasm_f32x4_neg(wasm_f32x4_mul(a, a)));
  v128_t y = wasm_f32x4_sub(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(p, e));
  return wasm_v128_or(y, sign);
}

// tanh(u) = 1 - 2 / (e^(2u) + 1); e^(2u) saturates cleanly at both ends.
static v128_t v_tanh(v128_t u) {
  v128_t e = v_exp(wasm_f32x4_add(u, u));
  return wasm_f32x4_sub(wasm_f32x4_splat(1.0f),
                        wasm_f32x4_div(wasm_f32x4_splat(2.0f), wasm_f32x4_add(e, wasm_f32x4_splat(1.0f))));
}

v128_t v_act(v128_t x, int act) {
  const v128_t half = wasm_f32x4_splat(0.5f), one = wasm_f32x4_splat(1.0f);
  switch (act) {
    case ACT_GELU_ERF:   // 0.5 x (1 + erf(x / sqrt 2))
      return wasm_f32x4_mul(wasm_f32x4_mul(half, x),
                            wasm_f32x4_add(one, v_erf(wasm_f32x4_mul(x, wasm_f32x4_splat(0.70710678118654752f)))));
    case ACT_GELU_TANH: {  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      v128_t x3 = wasm_f32x4_mul(wasm_f32x4_mul(x, x), x);
      v128_t u = wasm_f32x4_mul(wasm_f32x4_splat(0.79788456080286536f), madd(x3, wasm_f32x4_splat(0.044715f), x));
      return wasm_f32x4_mul(wasm_f32x4_mul(half, x), wasm_f32x4_add(one, v_tanh(u)));
    }
    case ACT_SILU:       // x / (1 + e^-x)
      return wasm_f32x4_div(x, wasm_f32x4_add(one, v_exp(wasm_f32x4_neg(x))));
    case ACT_RELU:
      return wasm_f32x4_pmax(x, wasm_f32x4_splat(0.0f));
    default:
      return x;
  }
}
