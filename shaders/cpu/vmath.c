// Vector exp/erf/tanh and the fused activations. Accuracy (|error| vs float64, measured by
// tests/browser/test_cpu_kernels.py): exp ~2 ulp, erf 4.5e-7 absolute (a rational function, no exp).
#include "vmath.h"

// Constants in memory (see vmath.h): KF(i) for floats, KI(i) for ints.
#define KI(i) wasm_v128_load(&sm_vmath_i32[i])
#define F4(v) {v, v, v, v}
__attribute__((aligned(16))) float sm_vmath_f32[][4] = {F4(88.3762626647949f), F4(-87.3365447505531f), F4(1.44269504088896341f), F4(0.693359375f), F4(-2.12194440e-4f), F4(1.9875691500E-4f), F4(1.3981999507E-3f), F4(8.3334519073E-3f), F4(4.1665795894E-2f), F4(1.6666665459E-1f), F4(5.0000001201E-1f), F4(1.0f), F4(2.0f), F4(0.5f), F4(0.70710678118654752f), F4(0.79788456080286536f), F4(0.044715f), F4(0.0f),
  // 18..: erf(x) = x P(x^2) / Q(x^2) on [-4, 4] (Eigen's / XLA's float erf): P's 7, Q's 5 coefficients, then 4
  F4(-2.72614225801306e-10f), F4(2.77068142495902e-08f), F4(-2.10102402082508e-06f), F4(-5.69250639462346e-05f),
  F4(-7.34990630326855e-04f), F4(-2.95459980854025e-03f), F4(-1.60960333262415e-02f),
  F4(-1.45660718464996e-05f), F4(-2.13374055278905e-04f), F4(-1.68282697438203e-03f), F4(-7.37332916720468e-03f),
  F4(-1.42647390514189e-02f), F4(4.0f)};
__attribute__((aligned(16))) int32_t sm_vmath_i32[][4] = {F4(127)};

// exp(x): x = n*ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial (Cephes expf), times 2^n.
v128_t v_exp(v128_t x) {
  const v128_t hi = KF(0), lo = KF(1);
  v128_t underflow = wasm_f32x4_lt(x, lo);
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, lo), hi);
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, KF(2)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(n, KF(3)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(n, KF(4)));
  v128_t p = KF(5);
  p = madd(p, x, KF(6));
  p = madd(p, x, KF(7));
  p = madd(p, x, KF(8));
  p = madd(p, x, KF(9));
  p = madd(p, x, KF(10));
  p = madd(p, wasm_f32x4_mul(x, x), wasm_f32x4_add(x, KF(11)));
  // 2^n: n in [-127, 128]; build it in two halves so n = 128 (x near the top clamp) stays finite
  v128_t ni = round_to_i32(n);
  v128_t half = wasm_i32x4_shr(ni, 1);
  v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(half, KI(0)), 23);
  v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(ni, half), KI(0)), 23);
  p = wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  return wasm_v128_andnot(p, underflow);   // e^x below ~1e-38 is 0 (masked softmax entries)
}

float s_exp(float x) { return wasm_f32x4_extract_lane(v_exp(wasm_f32x4_splat(x)), 0); }

// tanh(u) = 1 - 2 / (e^(2u) + 1); e^(2u) saturates cleanly at both ends.
static v128_t v_tanh(v128_t u) {
  v128_t e = v_exp(wasm_f32x4_add(u, u));
  return wasm_f32x4_sub(KF(11),
                        wasm_f32x4_div(KF(12), wasm_f32x4_add(e, KF(11))));
}

v128_t v_act(v128_t x, int act) {
  const v128_t half = KF(13), one = KF(11);
  switch (act) {
    case ACT_GELU_ERF:   // 0.5 x (1 + erf(x / sqrt 2))
      return gelu_erf(x);
    case ACT_GELU_TANH: {  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      v128_t x3 = wasm_f32x4_mul(wasm_f32x4_mul(x, x), x);
      v128_t u = wasm_f32x4_mul(KF(15), madd(x3, KF(16), x));
      return wasm_f32x4_mul(wasm_f32x4_mul(half, x), wasm_f32x4_add(one, v_tanh(u)));
    }
    case ACT_SILU:       // x / (1 + e^-x)
      return wasm_f32x4_div(x, wasm_f32x4_add(one, v_exp(wasm_f32x4_neg(x))));
    case ACT_RELU:
      return wasm_f32x4_pmax(x, KF(17));
    default:
      return x;
  }
}
