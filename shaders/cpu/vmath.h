// The one activation inlined into matmul epilogues (shaders/cpu/matmul.h): GELU with erf, on the FFN's widest
// output. A call per vector (v_act) costs ~10 cycles, about as much as GELU's math; inlined, the
// activation adds ~4 ns per vector instead of ~6.5. The rest of the vector math is in vmath.c.
#pragma once
#include "common.h"

// The constants live in memory, not in the code: V8 rebuilds each v128.const with several instructions
// per use, while a load from this (non-const, so never folded back) table is one. Defined in vmath.c.
extern float sm_vmath_f32[][4];
#define KF(i) wasm_v128_load(&sm_vmath_f32[i])

// erf(x): a rational function of x^2 after clamping to [-4, 4] (|erf| rounds to 1 beyond): 11 multiply-adds
// and one division, about half of what exp-based formulas (A&S 7.1.26) cost; GELU's erf is on the FFN's
// critical path (once per element of the widest activation).
SM_INLINE v128_t v_erf(v128_t x) {
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_neg(KF(30))), KF(30));
  v128_t x2 = wasm_f32x4_mul(x, x);
  v128_t p = KF(18);
  for (int i = 19; i <= 24; i++) p = madd(p, x2, KF(i));
  v128_t q = KF(25);
  for (int i = 26; i <= 29; i++) q = madd(q, x2, KF(i));
  return wasm_f32x4_div(wasm_f32x4_mul(x, p), q);
}

// 0.5 x (1 + erf(x / sqrt 2))
SM_INLINE v128_t gelu_erf(v128_t x) {
  return wasm_f32x4_mul(wasm_f32x4_mul(KF(13), x), wasm_f32x4_add(KF(11), v_erf(wasm_f32x4_mul(x, KF(14)))));
}
